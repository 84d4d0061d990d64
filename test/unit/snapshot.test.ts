// Counters → Snapshot: states, live bytes, rates, clients, settings, and the shared schema.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { Balancer } from '../../server/core/balancer.ts';
import type { Connection } from '../../server/core/connection.ts';
import { execute } from '../../server/control/registry.ts';
import { aclSnapshot, buildSnapshot, createSampler, stopEventLoopMonitor } from '../../server/stats/snapshot.ts';
import { SnapshotSchema } from '../../shared/snapshot.ts';
import { AclListSchema } from '../../shared/api.ts';
import { nth } from '../helpers/nth.ts';

async function pen(...lines: string[]): Promise<Balancer> {
  const p = new Balancer();
  const runtime = { exit() {}, argv: [] };
  for (const l of lines) await execute({ pen: p, runtime, origin: 'cli' }, l);
  return p;
}

/** A connection as the core's table holds it, with byte counts we choose. */
function fakeConnection(
  p: Balancer, server: number, clientIndex: number, bytes: { sx: number; rx: number; csx: number; crx: number },
): Connection {
  const c: Connection = {
    index: -1, state: 2, clientIndex, clientAddress: '10.0.0.1', initial: server, server, counted: true,
    t: p.now() - 4, downId: 3, upId: 4, pendingDown: () => 7, pendingUp: () => 0, bytes: () => bytes, close() {},
  };
  assert.ok(p.install(c) >= 0);
  return c;
}

test('a snapshot conforms to the shared schema the dashboard reads', async () => {
  const p = await pen('server 0 address 127.0.0.1 port 1000', 'acl 1 permit 10.0.0.0 255.0.0.0', 'acl 2 deny ::1/128');
  const snap = buildSnapshot(p);
  assert.ok(Value.Check(SnapshotSchema, snap), JSON.stringify([...Value.Errors(SnapshotSchema, snap)].slice(0, 3)));
  for (const list of aclSnapshot(p)) assert.ok(Value.Check(AclListSchema, list));
  assert.equal(aclSnapshot(p)[2]?.entries[0]?.line, 'acl 2 deny ::1/128');
});

test('server states: unset slots, blacklisted, at the soft limit, up', async () => {
  const p = await pen(
    'server 0 address 127.0.0.1 port 1000', 'server 1 address 127.0.0.1 port 1001 blacklist 20',
    'server 2 address 127.0.0.1 port 1002 max 1', 'server 4 port 5',
  );
  nth(p.servers.list, 2).c = 1;
  const s = buildSnapshot(p).servers;
  assert.deepEqual(s.map((r) => r.state), ['up', 'blacklisted', 'limit', 'unset', 'unset']);
  assert.ok(nth(s, 1).blacklistLeft >= 19 && nth(s, 1).blacklistLeft <= 20);
  assert.equal(s[0]?.blacklistLeft, 0);
  assert.equal(s[3]?.address, '');
});

test('bytes of open connections count towards their server, their client and the totals', async () => {
  const p = await pen('server 0 address 127.0.0.1 port 1000', 'server 1 address 127.0.0.1 port 1001');
  const client = p.clients.store('10.0.0.1', '10.0.0.1', 5555, p.now(), 0);
  nth(p.servers.list, 1).sx = 100;   // from connections that have closed
  p.closedBytes.sx = 100;
  fakeConnection(p, 1, client, { sx: 10, rx: 20, csx: 30, crx: 40 });
  fakeConnection(p, 1, client, { sx: 1, rx: 2, csx: 3, crx: 4 });
  const snap = buildSnapshot(p);
  assert.deepEqual([snap.servers[1]?.sx, snap.servers[1]?.rx], [111, 22]);
  assert.deepEqual([snap.servers[0]?.sx, snap.servers[0]?.rx], [0, 0]);
  assert.deepEqual([snap.totals.sx, snap.totals.rx, snap.totals.connections], [111, 22, 2]);
  assert.deepEqual(snap.clients.map((c) => [c.address, c.sent, c.received, c.connects]), [['10.0.0.1', 33, 44, 1]]);
  assert.deepEqual(snap.connections.map((c) => [c.server, c.client, c.pendingDown, c.age]),
    [[1, client, 7, 4], [1, client, 7, 4]]);
});

test('rates are bytes per second since the previous snapshot, and 0 without one', async () => {
  const p = await pen('server 0 address 127.0.0.1 port 1000');
  const first = buildSnapshot(p);
  assert.equal(first.servers[0]?.sxRate, 0);
  nth(p.servers.list, 0).sx = 4000;
  nth(p.servers.list, 0).rx = 1000;
  p.closedBytes.sx = 4000;
  const previous = { ...first, timeMs: first.timeMs - 2000 };
  const second = buildSnapshot(p, previous);
  const dt = (second.timeMs - previous.timeMs) / 1000;
  assert.ok(Math.abs(nth(second.servers, 0).sxRate - 4000 / dt) < 1e-6);
  assert.ok(Math.abs(nth(second.servers, 0).rxRate - 1000 / dt) < 1e-6);
  assert.ok(nth(second.servers, 0).sxRate > 1900 && nth(second.servers, 0).sxRate <= 2000);
  assert.ok(Math.abs(second.totals.sxRate - 4000 / dt) < 1e-6);
});

test('the sampler measures rates against a snapshot at least the minimum interval old', async () => {
  const p = await pen('server 0 address 127.0.0.1 port 1000');
  const sampler = createSampler(p, 60_000);
  const base = sampler.sample();
  nth(p.servers.list, 0).sx = 500;
  const a = sampler.sample();
  const b = sampler.sample();
  assert.equal(a.servers[0]?.sx, 500);
  // both are measured from the first one, not from each other
  assert.ok(b.timeMs >= base.timeMs);
  if (b.timeMs > base.timeMs) assert.ok(nth(b.servers, 0).sxRate > 0, 'the base has not moved on');
});

test('only active clients are listed: tracking time expires the rest', async () => {
  const p = await pen('tracking 10');
  const now = p.now();
  p.clients.store('10.0.0.1', '10.0.0.1', 1, now, 10);
  p.clients.store('10.0.0.2', '10.0.0.2', 1, now - 60, 10);
  assert.deepEqual(buildSnapshot(p).clients.map((c) => c.address), ['10.0.0.1']);
});

test('settings appear under their penctl names', async () => {
  const p = await pen('blacklist 12', 'http', 'tcp_fastclose both', 'client_acl 3');
  const s = buildSnapshot(p).settings;
  assert.deepEqual([s.blacklist, s.http, s.tcp_fastclose, s.client_acl, s.timeout], [12, true, 'both', 3, 3]);
  assert.equal(buildSnapshot(p).mode.tracking, true);
});

test('the event-loop delay is reported in milliseconds', async () => {
  const p = await pen();
  buildSnapshot(p); // starts the monitor
  await new Promise((r) => setTimeout(r, 100));
  const busyUntil = Date.now() + 80;
  while (Date.now() < busyUntil) { /* block the loop */ }
  await new Promise((r) => setTimeout(r, 100));
  const d = buildSnapshot(p).eventLoopDelayMs;
  assert.ok(d >= 50 && d < 5000, `p99 ${d} ms after blocking the loop for 80 ms`);
  stopEventLoopMonitor();
});
