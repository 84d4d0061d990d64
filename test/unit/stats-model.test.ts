// Every statistics report walks the connection table once and agrees on the live byte counts:
// USR1 text, the HTML page, penctl `servers`/`recent` and the snapshot all read stats/model.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from '../../server/core/balancer.ts';
import type { Connection } from '../../server/core/connection.ts';
import { execute } from '../../server/control/registry.ts';
import { renderStatusHtml } from '../../server/stats/html.ts';
import { collectStats } from '../../server/stats/model.ts';
import { buildSnapshot, stopEventLoopMonitor } from '../../server/stats/snapshot.ts';
import { renderUsr1Text } from '../../server/stats/text.ts';
import { nth } from '../helpers/nth.ts';

const SERVERS = 6;
const CLIENTS = 4;

/** A pen with servers, clients and live connections, whose connection table counts its passes. */
async function busyPen(): Promise<{ pen: Balancer; passes: () => number }> {
  const pen = new Balancer();
  const ctx = { pen, runtime: { exit() {}, argv: [] }, origin: 'cli' as const };
  for (let i = 0; i < SERVERS; i++) await execute(ctx, `server ${i} address 127.0.0.1 port ${8000 + i}`);
  const now = pen.now();
  for (let c = 0; c < CLIENTS; c++) pen.clients.store(`10.0.0.${c}`, `10.0.0.${c}`, 1000, now, 0);
  const table: (Connection | null)[] = [];
  for (let i = 0; i < 40; i++) {
    table.push(i % 4 === 0 ? null : {
      index: i, state: 2, clientIndex: i % CLIENTS, clientAddress: `10.0.0.${i % CLIENTS}`, initial: 0, server: i % SERVERS,
      counted: true, t: now, downId: 100 + i, upId: 200 + i, pendingDown: () => 0, pendingUp: () => 0,
      bytes: () => ({ sx: 1, rx: 2, csx: 3, crx: 4 }), close() {},
    });
  }
  pen.connsUsed = 30;
  // a pass over the table reads slot 0 once, however it iterates
  let reads = 0;
  pen.conns = new Proxy(table, {
    get(target, key, receiver) {
      if (key === '0') reads += 1;
      return Reflect.get(target, key, receiver);
    },
  });
  return { pen, passes: () => reads };
}

test('each report makes one pass over the connection table, whatever the numbers of servers and clients', async () => {
  const { pen, passes } = await busyPen();
  const ctx = { pen, runtime: { exit() {}, argv: [] }, origin: 'port' as const };
  const reports: [string, () => unknown][] = [
    ['USR1 text', () => renderUsr1Text(pen)],
    ['HTML page', () => renderStatusHtml(pen)],
    ['servers', () => execute(ctx, 'servers')],
    ['recent', () => execute(ctx, 'recent')],
    ['snapshot', () => buildSnapshot(pen)],
  ];
  for (const [name, report] of reports) {
    const before = passes();
    await report();
    assert.equal(passes() - before, 1, `${name}: one pass`);
  }
  stopEventLoopMonitor();
});

test('the reports agree on the live bytes: closed connections plus the live ones, once each', async () => {
  const { pen } = await busyPen();
  nth(pen.servers.list, 0).sx = 1000; // bytes of connections to server 0 that have closed
  nth(pen.clients.slots, 1).crx = 500;
  const stats = collectStats(pen);
  // 30 live connections, 5 per server, 7 or 8 per client (slots 0, 4, 8, … are empty)
  const perServer = (s: number) => [...Array(40).keys()].filter((i) => i % 4 !== 0 && i % SERVERS === s).length;
  const perClient = (c: number) => [...Array(40).keys()].filter((i) => i % 4 !== 0 && i % CLIENTS === c).length;
  assert.deepEqual(stats.servers.map((r) => r.sx),
    [...Array(SERVERS).keys()].map((s) => perServer(s) + (s === 0 ? 1000 : 0)));
  assert.deepEqual(stats.clients.map((r) => r.crx),
    [...Array(CLIENTS).keys()].map((c) => 4 * perClient(c) + (c === 1 ? 500 : 0)));
  assert.equal(stats.connections.length, 30);
  const ctx = { pen, runtime: { exit() {}, argv: [] }, origin: 'port' as const };
  const servers = (await execute(ctx, 'servers')).reply.split('\n');
  assert.match(nth(servers, 0), new RegExp(` sx ${nth(stats.servers, 0).sx} rx ${nth(stats.servers, 0).rx}$`));
  const snap = buildSnapshot(pen);
  assert.deepEqual(snap.servers.map((s) => s.sx), stats.servers.map((r) => r.sx));
  assert.deepEqual(snap.clients.map((c) => c.received), stats.clients.map((r) => r.crx));
  assert.match(renderUsr1Text(pen), new RegExp(`${nth(stats.servers, 0).sx} sent, ${nth(stats.servers, 0).rx} received`));
  stopEventLoopMonitor();
});
