// Commands as entries (server/control/types.ts): parse(words) → args, apply(ctx, args) → outcome,
// reply(outcome) → pen's text. What is held here: a change is announced from the outcome (not the
// grammar), REST's applyCommand() is the same apply with typed arguments, parse gives arguments
// its own schema accepts, and `apply` refuses before it changes anything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { Balancer } from '../../server/core/balancer.ts';
import { ENTRIES } from '../../server/control/commands.ts';
import type { CommandContext } from '../../server/control/context.ts';
import { applyCommand, execute, findSpec } from '../../server/control/registry.ts';
import type { Entry } from '../../server/control/types.ts';
import { subscribe } from '../../server/core/events.ts';

const fresh = (): CommandContext => ({ pen: new Balancer(), runtime: { exit() {}, argv: [] }, origin: 'port' });

/** The `config` events a line announces on a pen. */
async function announced(ctx: CommandContext, line: string): Promise<string[]> {
  const seen: string[] = [];
  const on = (e: { type: string; message: string }) => { if (e.type === 'config') seen.push(e.message); };
  const unsubscribe = subscribe(ctx.pen, on);
  try {
    await execute(ctx, line);
  } finally {
    unsubscribe();
  }
  return seen;
}

test('a change is announced when the outcome says it changed something, and only then', async () => {
  const ctx = fresh();
  const cases: [string, boolean][] = [
    ['blacklist', false], ['blacklist 7', true],
    ['conn_max', false], ['conn_max 10', false], ['conn_max 0', false], ['conn_max 600', true],
    ['clients_max 10', false], ['clients_max 4096', true],
    ['timeout 0', false], ['timeout 99999999999', false], ['timeout 4', true],
    ['http', true], ['no http', true], ['tcp_fastclose up', true],
    ['servers', false], ['server 0 port 80', true],
  ];
  for (const [line, changed] of cases) {
    assert.deepEqual(await announced(ctx, line), changed ? [line] : [], line);
  }
  assert.equal(ctx.pen.settings.connMax, 600);
  assert.equal(ctx.pen.clients.size, 4096);
  assert.equal(ctx.pen.settings.timeout, 4);
});

test('applyCommand takes typed arguments and answers with the outcome; refused, it changes nothing', async () => {
  const ctx = fresh();
  assert.deepEqual((await applyCommand(ctx, 'blacklist', { value: 9 })).outcome, { changed: true, setting: 'blacklist', value: 9 });
  assert.deepEqual(await applyCommand(ctx, 'conn_max', { value: 3 }), {
    reply: '500\n', spec: findSpec('conn_max'), outcome: { changed: false, setting: 'conn_max', value: 500 },
  });
  const refused = await applyCommand(ctx, 'timeout', { value: 0 });
  assert.equal(refused.error?.message, "timeout: connect timeout must be at least 1 second, got '0'");
  assert.equal(refused.reply, "timeout: connect timeout must be at least 1 second, got '0'\n", 'the port\'s reply line');
  assert.equal(ctx.pen.settings.timeout, 3, 'a refused timeout changes nothing');
  assert.match((await applyCommand(ctx, 'blacklist', { value: 100_000_001 })).error?.message ?? '', /blacklist/);
  assert.equal(ctx.pen.settings.blacklistTime, 9);
});

test('server N from REST with an address that does not resolve changes nothing; from pen\'s words it applies the pairs before it, as pen does', async () => {
  const rest = fresh();
  const pairs = [{ key: 'port', value: 81 }, { key: 'address', value: 'no-such-host.invalid' }];
  assert.match((await applyCommand(rest, 'server', { n: 0, pairs })).error?.message ?? '', /no-such-host\.invalid/);
  assert.equal(rest.pen.servers.list.length, 0, 'no slot made');
  const huge = await applyCommand(rest, 'server', { n: 0, pairs: [{ key: 'port', value: 99999999999, text: '99999999999' }] });
  assert.match(huge.error?.message ?? '', /port/);
  assert.equal(rest.pen.servers.list.length, 0, 'a number past its bound makes no slot either');

  const port = fresh();
  const r = await execute(port, 'server 0 port 81 address no-such-host.invalid');
  assert.ok(r.error, 'refused');
  assert.equal(port.pen.servers.list[0]?.port, 81, 'the pair before the bad address applied, as in pen');
});

test('every entry\'s parse gives arguments its own schema accepts', () => {
  const lines: Record<string, string[]> = {
    blacklist: ['7'], conn_max: ['600'], http: [], 'no http': [], web_stats: ['/tmp/x.html'], tcp_fastclose: ['both'],
    server: ['0', 'address', '127.0.0.1', 'port', '80', 'weight', '2'], servers: [], timeout: [],
  };
  for (const [name, words] of Object.entries(lines)) {
    const entry = ENTRIES[name as keyof typeof ENTRIES] as Entry;
    const args = entry.parse(words);
    assert.ok(Value.Check(entry.schema, args), `${name} ${words.join(' ')}: ${JSON.stringify(args)}`);
  }
});

test('an ACL entry is checked once, by aclEntry(): typed fields (REST) and pen\'s words (the port) are refused alike, naming the field, and add nothing', async () => {
  const ctx = fresh();
  const cases: [object, string][] = [
    [{ action: 'permit', address: '300.1.1.1' }, 'address'], [{ action: 'permit', address: '10.0.0.1', mask: 33 }, 'mask'],
    [{ action: 'permit', address: '10.0.0.1', country: 'SE' }, 'address'], [{ action: 'permit', address: 'zz::zz' }, 'address'],
    [{ action: 'permit', country: 'SWE' }, 'country'],
  ];
  for (const [body, field] of cases) {
    const r = await applyCommand(ctx, 'acl', { n: 3, ...body });
    assert.equal(r.error?.field, field, JSON.stringify(body));
    assert.equal(r.reply, '', 'pen answers a bad entry with nothing');
  }
  for (const line of ['acl 3 permit 300.1.1.1', 'acl 3 permit zz::zz', 'acl 3 permit 1.2.3.4 255.x', 'acl 11 permit 1.2.3.4']) {
    assert.ok((await execute(ctx, line)).error, line);
  }
  assert.equal(ctx.pen.acls[3]!.length, 0);
  const ok = await applyCommand(ctx, 'acl', { n: 3, action: 'deny', address: '10.0.0.0', mask: 8 });
  assert.deepEqual(ok.outcome, { changed: true, acl: 3, entry: 'acl 3 deny 10.0.0.0 255.0.0.0' });
  assert.deepEqual((await execute(ctx, 'acl 3 permit 10.1')).outcome, { changed: true, acl: 3, entry: 'acl 3 permit 10.0.0.1 255.255.255.255' }, 'inet_aton forms, as pen reads them');
  assert.deepEqual((await execute(ctx, 'no acl 3')).outcome, { changed: true, acl: 3 });
  assert.deepEqual((await execute(ctx, 'no acl 3')).outcome, { changed: false, acl: 3 }, 'an empty list stays as it was');
});
