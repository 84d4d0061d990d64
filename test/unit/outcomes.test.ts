// The typed outcomes of the commands that used to answer only with pen's text (close, connection,
// socket, health, the reports, listen, log, source, write, include, exit, dsr_*): what apply gives
// back, that the reply is pen's text for it, that a refusal changes nothing, and that REST answers
// with the same outcome as JSON (inject only: no socket is opened).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import pino from 'pino';
import { buildAdmin } from '../../server/admin/app.ts';
import { Balancer } from '../../server/core/balancer.ts';
import { subscribe } from '../../server/core/events.ts';
import { ENTRIES } from '../../server/control/commands.ts';
import type { CommandContext } from '../../server/control/context.ts';
import { applyCommand, execute } from '../../server/control/registry.ts';
import type { Entry } from '../../server/control/types.ts';
import { collectStats } from '../../server/stats/model.ts';
import { renderServers } from '../../server/stats/text.ts';
import { nth } from '../helpers/nth.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-outcomes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fresh = (origin: CommandContext['origin'] = 'cli'): CommandContext =>
  ({ pen: new Balancer(), runtime: { exit() {}, argv: [] }, origin });

/** The `config` events while `f` runs. */
async function configEvents(ctx: CommandContext, f: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const off = subscribe(ctx.pen, (e) => { if (e.type === 'config') seen.push(e.message); });
  try {
    await f();
  } finally {
    off();
  }
  return seen;
}

test('close and connection: typed outcomes; an unused or out-of-range slot changes nothing and announces nothing', async () => {
  const ctx = fresh();
  const closing = await execute(ctx, 'close 3');
  assert.deepEqual(closing.outcome, { changed: false, connection: 3, inRange: true, closed: false });
  assert.equal(closing.reply, 'Forcibly closing connection 3\n', "pen's reply, byte for byte");
  const past = await execute(ctx, 'close 99999');
  assert.deepEqual(past.outcome, { changed: false, connection: 99999, inRange: false, closed: false });
  assert.equal(past.reply, 'Connection 99999 out of range\n');
  assert.equal(past.error, undefined, 'pen answers, it does not refuse');
  assert.deepEqual(await configEvents(ctx, () => execute(ctx, 'close 2')), []);

  const slot = await execute(ctx, 'connection 4');
  assert.deepEqual(slot.outcome, {
    changed: false, connection: 4, inRange: true, state: 0, downfd: -1, upfd: -1, client: 0, server: 0, pend: 0,
  });
  assert.equal(slot.reply, 'Connection 4:\nstate = 0\ndownfd = -1, upfd = -1\nclient = 0, server = 0\npend = 0\n');
  assert.deepEqual((await execute(ctx, 'connection -1')).outcome, { changed: false, connection: -1, inRange: false });
  assert.deepEqual((await execute(ctx, 'socket 7')).outcome, { changed: false, socket: 7, connection: -1 });
});

test('health: a typed check is refused as `health …` refuses its words, and a refusal changes nothing', async () => {
  const ctx = fresh();
  assert.deepEqual((await execute(ctx, 'health')).outcome, { changed: false, health: ctx.pen.healthDefault });
  const set = await applyCommand(ctx, 'health', { check: { kind: 'tcp', interval: 4, timeout: 2, rise: 2, fall: 3 } });
  assert.deepEqual(set.outcome, { changed: true, health: { kind: 'tcp', interval: 4, timeout: 2, rise: 2, fall: 3 } });
  assert.equal(set.reply, 'tcp interval 4 timeout 2 rise 2 fall 3\n');
  const bad = [
    { kind: 'http', interval: 5, timeout: 2, rise: 2, fall: 3 },
    { kind: 'http', path: 'no-slash', interval: 5, timeout: 2, rise: 2, fall: 3 },
    { kind: 'dns', name: '-bad-', interval: 5, timeout: 2, rise: 2, fall: 3 },
    { kind: 'tcp', interval: 0, timeout: 2, rise: 2, fall: 3 },
  ];
  for (const check of bad) {
    const r = await applyCommand(ctx, 'health', { check });
    assert.equal(r.error?.code, 'PEN_ERR_ARGUMENT', JSON.stringify(check));
    assert.equal(ctx.pen.healthDefault.kind, 'tcp', 'unchanged');
    assert.equal(ctx.pen.healthDefault.interval, 4, 'unchanged');
  }
  await execute(ctx, 'server 0 address 127.0.0.1 port 9');
  const own = await applyCommand(ctx, 'server', { n: 0, pairs: [], health: nth(bad, 0) });
  assert.equal(own.error?.code, 'PEN_ERR_ARGUMENT');
  assert.equal(nth(ctx.pen.servers.list, 0).health, null, 'a refused server check changes nothing');
});

test('the reports answer with their data; the reply is pen\'s text for it', async () => {
  const ctx = fresh();
  await execute(ctx, 'server 0 address 127.0.0.1 port 81');
  await execute(ctx, 'stubborn');
  const servers = await execute(ctx, 'servers');
  type Rows = { servers: { index: number; fields: Record<string, unknown> }[] };
  const rows = (servers.outcome as unknown as Rows).servers;
  assert.equal(rows.length, 1);
  assert.equal(nth(rows, 0).fields.addr, '127.0.0.1');
  assert.equal(nth(rows, 0).fields.port, 81);
  assert.equal(servers.reply, renderServers(collectStats(ctx.pen)));
  assert.deepEqual((await execute(ctx, 'mode')).outcome, {
    changed: false, hash: false, roundrobin: false, stubborn: true, weight: false, prio: false,
  });
  assert.deepEqual((await execute(ctx, 'recent 60')).outcome, { changed: false, seconds: 60, clients: [] });
  assert.deepEqual((await execute(ctx, 'pid')).outcome, { changed: false, pid: process.pid });
  assert.deepEqual((await execute(ctx, 'control')).outcome, { changed: false, control: null });
  assert.equal((await execute(ctx, 'control')).reply, '(null)\n');
  assert.equal((await execute(ctx, 'status')).error?.code, 'PEN_ERR_IO', 'no -w: refused');
  for (const line of ['servers', 'mode', 'recent', 'pid', 'control', 'connection 0', 'socket 1', 'health']) {
    const o = (await execute(ctx, line)).outcome;
    assert.deepEqual(JSON.parse(JSON.stringify(o)), o, `${line}: an outcome is plain JSON`);
  }
});

test('log, source, listen, write, include, exit and dsr: typed outcomes, refusals that change nothing', async () => {
  const ctx = fresh();
  const file = join(dir, 'requests.log');
  assert.deepEqual((await applyCommand(ctx, 'log', { value: file })).outcome, { changed: true, log: file });
  assert.equal((await execute(ctx, 'log')).reply, `${file}\n`);
  assert.deepEqual((await execute(ctx, 'log')).outcome, { changed: false, log: file }, 'a report changes nothing');
  assert.deepEqual((await execute(ctx, 'no log')).outcome, { changed: true, log: null });

  assert.deepEqual((await applyCommand(ctx, 'source', { value: '127.0.0.1' })).outcome, { changed: true, source: '127.0.0.1' });
  const unresolved = await applyCommand(ctx, 'source', { value: '1.2.3.4.5' });
  assert.equal(unresolved.error?.code, 'PEN_ERR_ADDRESS');
  assert.equal(ctx.pen.settings.source, '127.0.0.1', 'typed (REST): a refused address changes nothing');
  assert.equal((await execute(ctx, 'source 1.2.3.4.5')).reply, "unable to set source address to '1.2.3.4.5'");
  assert.equal(ctx.pen.settings.source, null, "pen's words: pen clears the source, and so do we");

  assert.deepEqual((await execute(ctx, 'listen')).outcome, { changed: false, listen: null });

  const saved = join(dir, 'saved.cfg');
  assert.deepEqual((await applyCommand(ctx, 'write', { file: saved })).outcome, { changed: false, file: saved });
  assert.match(readFileSync(saved, 'utf8'), /^# Generated by pen/);
  assert.equal((await applyCommand(ctx, 'write', {})).error?.code, 'PEN_ERR_COMMAND', 'no -F file and none named');

  const sets = join(dir, 'sets.cfg');
  writeFileSync(sets, 'servers\nblacklist 17\n');
  const reads = join(dir, 'reads.cfg');
  writeFileSync(reads, 'mode\npid\n');
  const ran = await execute(ctx, `include ${sets}`);
  assert.deepEqual(ran.outcome, { changed: true, file: sets, output: '17\n', printed: false });
  assert.equal(ran.reply, '17\n');
  assert.equal((await execute(ctx, `include ${reads}`)).outcome?.changed, false, 'a file of reports changes nothing');
  const nested = join(dir, 'nested.cfg');
  writeFileSync(nested, `include ${sets}\n`);
  assert.equal((await execute(ctx, `include ${nested}`)).outcome?.changed, true, 'a change two files down is a change');

  assert.equal((await execute(ctx, 'exit')).error?.code, 'PEN_ERR_NOT_ENABLED');
  assert.equal((await execute(ctx, 'dsr_if eth0')).error?.code, 'PEN_ERR_UNSUPPORTED');
});

test('every converted entry\'s parse gives arguments its own schema accepts', () => {
  const lines: Record<string, string[][]> = {
    close: [[], ['3']], connection: [[], ['x']], socket: [['5']], health: [[], ['http', '/x', '2xx', 'rise', '3']],
    servers: [[]], recent: [[], ['60']], mode: [[]], pid: [[]], control: [[]], status: [[]],
    listen: [[], ['127.0.0.1:0']], log: [[], ['/tmp/x.log']], 'no log': [[]], source: [['127.0.0.1']],
    geoip: [[], ['/x.mmdb']], 'no geoip': [[]], include: [['/x.cfg']], write: [[], ['/x.cfg']],
    exit: [[]], dsr_if: [['eth0']], dsr_ip: [[]],
  };
  for (const [name, variants] of Object.entries(lines)) {
    const entry = ENTRIES[name as keyof typeof ENTRIES] as Entry;
    for (const words of variants) {
      const args = entry.parse(words);
      assert.ok(Value.Check(entry.schema, args), `${name} ${words.join(' ')}: ${JSON.stringify(args)}`);
    }
  }
});

test('REST answers with the outcome as JSON: the mirror, DELETE /connections/:n, /write, /health, /mode', async (t) => {
  const pen = new Balancer();
  const app = await buildAdmin({
    pen, runtime: { exit() {}, argv: ['pen'] }, logger: pino({ level: 'silent' }), webRoot: null, fileRoot: dir,
  });
  t.after(async () => {
    await app.close();
    pen.shutdown();
  });
  const call = async (method: string, url: string, payload?: object) => {
    const r = await app.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) });
    return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
  };

  assert.deepEqual(await call('POST', '/commands/close', { args: ['3'] }), {
    status: 200,
    body: { command: 'close 3', reply: 'Forcibly closing connection 3\n', outcome: { changed: false, connection: 3, inRange: true, closed: false } },
  });
  const del = await call('DELETE', '/connections/3');
  assert.equal(del.status, 404, 'REST closes only a slot in use');
  assert.equal(del.body.message, 'connection 3 is not in use');

  const health = await call('POST', '/commands/health', { args: ['tcp', 'interval', '4'] });
  assert.deepEqual(health.body.outcome, { changed: true, health: { kind: 'tcp', interval: 4, timeout: 2, rise: 2, fall: 3 } });
  assert.equal((await call('PUT', '/health', { kind: 'http' })).status, 400, 'http without a path');
  assert.equal(pen.healthDefault.interval, 4, 'unchanged');
  assert.deepEqual((await call('PUT', '/health', { kind: 'dns', name: 'example.com', rise: 1 })).body,
    { kind: 'dns', name: 'example.com', interval: 5, timeout: 2, rise: 1, fall: 3 });

  const saved = join(dir, 'rest.cfg');
  assert.deepEqual(await call('POST', '/write', { file: saved }), {
    status: 200, body: { command: `write ${saved}`, reply: '', outcome: { changed: false, file: saved } },
  });
  assert.match(readFileSync(saved, 'utf8'), /^health dns example\.com rise 1$/m);

  const mode = await call('GET', '/commands/mode');
  assert.deepEqual(mode.body.outcome, {
    changed: false, hash: false, roundrobin: false, stubborn: false, weight: false, prio: false,
  });
  await call('PATCH', '/mode', { hash: true });
  assert.deepEqual((await call('GET', '/mode')).body, {
    roundrobin: false, hash: true, weight: false, prio: false, stubborn: false, text: 'hash no roundrobin no stubborn no weight no prio',
  });
  const servers = await call('GET', '/commands/servers');
  assert.deepEqual(servers.body.outcome, { changed: false, servers: [] });

  // a refusal carries pen's reply and the registry's code, and changes nothing
  const source = await call('PATCH', '/settings', { source: '1.2.3.4.5' });
  assert.equal(source.status, 400);
  assert.equal(source.body.code, 'PEN_ERR_ADDRESS');
  assert.equal(pen.settings.source, null);
});
