// The parity walk: every command in the registry is reachable through REST, documented in the
// OpenAPI document, and has the same reply and the same effect as through the penctl port.
// Two identical balancers take the same commands, one over its control port, one over REST,
// and their state is compared after every step.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { COMMANDS } from '../../shared/commands.ts';
import { commandSlug } from '../../shared/api.ts';
import { Balancer } from '../../server/core/balancer.ts';
import { openControlPort } from '../../server/control/port.ts';
import { execute } from '../../server/control/registry.ts';
import { buildAdmin } from '../../server/admin/app.ts';
import { buildSnapshot } from '../../server/stats/snapshot.ts';
import { freePort, tcpBackend } from '../helpers/backends.ts';
import { penctlPort } from './admin-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-parity-'));
writeFileSync(join(dir, 'include.cfg'), 'blacklist 7\nserver 1 weight 4\n');

/** arguments to try for commands that take some; commands not listed run without arguments */
const SAMPLES: Record<string, string[]> = {
  acl: ['1', 'permit', '10.0.0.0', '255.0.0.0'], 'no acl': ['1'], blacklist: ['12'], client_acl: ['5'],
  clients_max: ['3000'], close: ['0'], conn_max: ['600'], connection: ['0'], control_acl: ['5'], debug: ['1'],
  dsr_if: ['eth0'], dsr_ip: ['10.0.0.1'], idle_timeout: ['30'], idlers: ['0'], include: [join(dir, 'include.cfg')],
  log: [join(dir, 'requests.log')], pending_max: ['50'], recent: ['60'], server: ['1', 'max', '9', 'weight', '2'],
  socket: ['3'], source: ['127.0.0.1'], ssl_ciphers: ['HIGH'], ssl_client_renegotiation_interval: ['60'],
  ssl_ocsp_response: [join(dir, 'ocsp.der')], ssl_option: ['no_tlsv1'], ssl_sni_path: [dir], tarpit_acl: ['2'],
  tcp_fastclose: ['both'], timeout: ['5'], tracking: ['60'], web_stats: [join(dir, 'status.html')],
  write: [join(dir, 'written.cfg')],
};
/** commands whose argument form would disturb the test process itself */
const NO_ARGS_ONLY = new Set(['listen', 'exit']);
/**
 * The one intended difference: over the port, `include` prints the included commands' replies on
 * pen's stdout (as pen does); REST returns them to the caller. POST /penctl keeps the port's way.
 */
const REPLIES_TO_CALLER = new Set(['include']);
/** set back on both sides after the step (noise, not state) */
const AFTER: Record<string, string> = { debug: 'debug 0' };

interface World {
  pen: Balancer;
  runtime: { exits: number; out: string[]; argv: string[]; exit(): void; stdout(t: string): void };
  control: { close(): void };
  controlAddress: string;
  app: FastifyInstance;
}

async function world(ports: number[]): Promise<World> {
  const pen = new Balancer();
  const runtime = { exits: 0, out: [] as string[], argv: ['pen'], exit() { runtime.exits += 1; }, stdout(t: string) { runtime.out.push(t); } };
  for (const [i, p] of ports.entries()) await execute({ pen, runtime, origin: 'cli' }, `server ${i} address 127.0.0.1 port ${p}`);
  const controlAddress = `127.0.0.1:${await freePort()}`;
  const control = await openControlPort({ pen, runtime, origin: 'port' }, controlAddress);
  // REST may name files only inside its file root (files.ts); the samples all live in dir
  const app = await buildAdmin({ pen, runtime, logger: pino({ level: 'silent' }), webRoot: null, fileRoot: dir });
  return { pen, runtime, control, controlAddress, app };
}

/** Everything a command can change, with the world's own control address taken out. */
function fingerprint(w: World): string {
  const s = buildSnapshot(w.pen);
  const servers = (rows: typeof s.servers) => rows.map((r) => ({ ...r, sxRate: 0, rxRate: 0 }));
  return JSON.stringify({
    servers: servers(s.servers), emergency: s.emergency, abuse: s.abuse, current: s.current, mode: s.mode,
    settings: w.pen.settings, acls: w.pen.acls, clientsMax: s.clientsMax, connMax: s.connMax,
    connsUsed: w.pen.connsUsed, exits: w.runtime.exits,
  }).replaceAll(w.controlAddress, 'CONTROL');
}

let port: World;
let rest: World;
let backends: [Awaited<ReturnType<typeof tcpBackend>>, Awaited<ReturnType<typeof tcpBackend>>];
before(async () => {
  backends = [await tcpBackend('b0'), await tcpBackend('b1')];
  const ports = backends.map((b) => b.port);
  port = await world(ports);
  rest = await world(ports);
});
after(async () => {
  for (const w of [port, rest]) {
    w.control.close();
    await w.app.close();
    w.pen.shutdown();
  }
  await Promise.all(backends.map((b) => b.close()));
  rmSync(dir, { recursive: true, force: true });
});

test('every registry command has a REST route and an OpenAPI operation, GET only for read-only ones', async () => {
  const doc = JSON.parse((await rest.app.inject({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, Record<string, unknown>> };
  const listed = JSON.parse((await rest.app.inject({ method: 'GET', url: '/commands' })).body) as { name: string; path: string }[];
  assert.deepEqual(listed.map((c) => c.name), COMMANDS.map((c) => c.name));
  for (const spec of COMMANDS) {
    const path = `/commands/${commandSlug(spec.name)}`;
    assert.ok(doc.paths[path]?.post, `POST ${path} is documented`);
    assert.equal(Boolean(doc.paths[path]?.get), spec.scope === 'read', `GET ${path} exists only for read commands`);
    assert.equal(rest.app.hasRoute({ method: 'POST', url: path }), true, `POST ${path}`);
  }
});

test('every registry command has the same reply and effect through REST as through the penctl port', async () => {
  assert.equal(fingerprint(rest), fingerprint(port), 'the two balancers start alike');
  let steps = 0;
  for (const spec of COMMANDS) {
    const sample = NO_ARGS_ONLY.has(spec.name) ? undefined : SAMPLES[spec.name];
    const variants: string[][] = spec.grammar === '' || !sample ? [[]] : spec.grammar.startsWith('[') ? [[], sample] : [sample];
    for (const args of variants) {
      const line = [spec.name, ...args].join(' ');
      const viaPort = (await penctlPort(Number(port.controlAddress.split(':')[1]), line)).replaceAll(port.controlAddress, 'CONTROL');
      const r = await rest.app.inject({ method: 'POST', url: `/commands/${commandSlug(spec.name)}`, payload: { args } });
      const body = JSON.parse(r.body) as { reply?: string; code?: string };
      if (r.statusCode === 200 && REPLIES_TO_CALLER.has(spec.name) && args.length > 0) {
        assert.equal(viaPort, '', `${line} answers nothing over the port`);
        assert.equal(body.reply, port.runtime.out.pop(), `${line}: REST returns what the port printed on stdout`);
        const penctl = await rest.app.inject({ method: 'POST', url: '/penctl', payload: line, headers: { 'content-type': 'text/plain' } });
        assert.equal(penctl.body, '', 'POST /penctl answers as the port does');
      } else if (r.statusCode === 200) {
        assert.equal(body.reply?.replaceAll(rest.controlAddress, 'CONTROL'), viaPort, `reply to ${line}`);
      } else {
        // a refused command: REST says why with an error status, and carries the port's reply too
        assert.ok(r.statusCode >= 400 && r.statusCode < 600, `${line}: ${r.statusCode}`);
        assert.match(body.code ?? '', /^PEN_ERR_/, line);
        assert.equal(body.reply?.replaceAll(rest.controlAddress, 'CONTROL'), viaPort, `reply to ${line}`);
      }
      if (spec.scope === 'read') {
        const qs = args.map((a) => `args=${encodeURIComponent(a)}`).join('&');
        const g = await rest.app.inject({ method: 'GET', url: `/commands/${commandSlug(spec.name)}${qs ? `?${qs}` : ''}` });
        if (g.statusCode === 200) assert.equal((JSON.parse(g.body) as { reply: string }).reply.replaceAll(rest.controlAddress, 'CONTROL'), viaPort, `GET ${line}`);
      }
      assert.equal(fingerprint(rest), fingerprint(port), `state after ${line}`);
      const undo = AFTER[spec.name];
      if (undo) for (const w of [port, rest]) await execute({ pen: w.pen, runtime: w.runtime, origin: 'cli' }, undo);
      steps += 1;
    }
  }
  assert.ok(steps >= COMMANDS.length);
});

test('the resource routes have the same effect as the penctl lines they stand for', async () => {
  const cases: [string, string, unknown, string][] = [
    ['PATCH', '/servers/1', { max: 4, hard: 6, prio: 1 }, 'server 1 max 4 hard 6 prio 1'],
    ['PATCH', '/servers/0', { address: '127.0.0.1', port: backends[1].port }, `server 0 address 127.0.0.1 port ${backends[1].port}`],
    ['PUT', '/servers/0/blacklist', { seconds: 20 }, 'server 0 blacklist 20'],
    ['DELETE', '/servers/0/blacklist', undefined, 'server 0 blacklist 0'],
    ['PATCH', '/mode', { stubborn: true, weight: true }, 'stubborn'],
    ['PATCH', '/settings', { idle_timeout: 9, keepalive: true }, 'idle_timeout 9'],
    ['POST', '/acls/2', { action: 'deny', address: '10.1.0.0', mask: 16 }, 'acl 2 deny 10.1.0.0 255.255.0.0'],
    ['POST', '/acls/2', { action: 'permit', address: '2001:db8::', mask: 48 }, 'acl 2 permit 2001:db8::/48'],
    ['DELETE', '/acls/2', undefined, 'no acl 2'],
  ];
  const portLine = (line: string) => penctlPort(Number(port.controlAddress.split(':')[1]), line);
  for (const [method, url, payload, line] of cases) {
    const r = await rest.app.inject({ method: method as 'GET', url, payload: payload as object });
    assert.ok(r.statusCode < 300, `${method} ${url}: ${r.body}`);
    await portLine(line);
    // the multi-field bodies above stand for more than one command line
    if (url === '/mode') await portLine('weight');
    if (url === '/settings') await portLine('keepalive');
    assert.equal(fingerprint(rest), fingerprint(port), `${method} ${url} ≡ ${line}`);
  }
});

test('POST /write saves the same configuration as `write` on the penctl port', async () => {
  const file = join(dir, 'saved.cfg');
  const saved = (w: World) => readFileSync(file, 'utf8').replace(/^# Generated by .*\n/, '').replaceAll(w.controlAddress, 'CONTROL');
  await penctlPort(Number(port.controlAddress.split(':')[1]), `write ${file}`);
  const viaPort = saved(port);
  const r = await rest.app.inject({ method: 'POST', url: '/write', payload: { file } });
  assert.equal(r.statusCode, 200);
  assert.equal(saved(rest), viaPort);
  assert.match(viaPort, /^server 1 /m);
});
