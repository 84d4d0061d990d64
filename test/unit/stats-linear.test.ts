// Every report is one pass over the tables (stats/model.ts): with -c 40000 -x 40000 full, each
// of `status`, `servers`, `recent`, USR1's text and the snapshot reads each connection's bytes
// exactly once, and ten times the tables take nowhere near a hundred times as long.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from '../../server/core/balancer.ts';
import type { Connection } from '../../server/core/connection.ts';
import { execute } from '../../server/control/registry.ts';
import { renderStatusHtml } from '../../server/stats/html.ts';
import { buildSnapshot } from '../../server/stats/snapshot.ts';
import { renderUsr1Text } from '../../server/stats/text.ts';

const SERVERS = 16;

/** A pen whose client and connection tables are both full: `size` clients, one connection each. */
async function full(size: number): Promise<{ pen: Balancer; reads: () => number }> {
  const pen = new Balancer();
  const run = (line: string) => execute({ pen, runtime: { exit() {}, argv: [] }, origin: 'cli' }, line);
  await run(`clients_max ${size}`);
  await run(`conn_max ${size}`);
  for (let s = 0; s < SERVERS; s++) await run(`server ${s} address 127.0.0.1 port ${10000 + s}`);
  let reads = 0;
  const now = pen.now();
  for (let i = 0; i < size; i++) {
    const ip = `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    // the slot as store() leaves it, written directly: store() finds a free slot by pen's linear scan,
    // so filling 40,000 through it takes 40,000² / 2 steps (pen's own cost for a new client)
    const c = pen.clients.slots.push({
      key: ip, address: ip, port: 40000, last: now, server: i % SERVERS, connects: 1, csx: 0, crx: 0,
    }) - 1;
    const conn: Connection = {
      index: -1, state: 2, clientIndex: c, clientAddress: ip, initial: i % SERVERS, server: i % SERVERS,
      counted: true, t: now,
      downId: 8, upId: 9, pendingDown: () => 0, pendingUp: () => 0,
      bytes: () => { reads += 1; return { sx: 1, rx: 2, csx: 2, crx: 1 }; },
      close() {},
    };
    assert.ok(pen.install(conn) >= 0, `connection ${i} installed`);
  }
  return { pen, reads: () => reads };
}

const REPORTS: Record<string, (pen: Balancer) => Promise<unknown> | unknown> = {
  status: (pen) => execute({ pen, runtime: { exit() {}, argv: [] }, origin: 'cli' }, 'status'),
  servers: (pen) => execute({ pen, runtime: { exit() {}, argv: [] }, origin: 'cli' }, 'servers'),
  recent: (pen) => execute({ pen, runtime: { exit() {}, argv: [] }, origin: 'cli' }, 'recent 300'),
  html: (pen) => renderStatusHtml(pen),
  usr1: (pen) => renderUsr1Text(pen),
  snapshot: (pen) => buildSnapshot(pen),
};

test('with -c 40000 -x 40000 full, each report reads each connection once and grows linearly', async (t) => {
  const t0 = performance.now();
  const small = await full(4000);
  const big = await full(40000);
  t.diagnostic(`tables filled in ${(performance.now() - t0).toFixed(0)} ms`);
  // status renders only with -w set, as pen's does; here it writes nothing (a read changes nothing)
  for (const { pen } of [small, big]) pen.settings.webStats = '/nonexistent/never-written';
  for (const [name, report] of Object.entries(REPORTS)) {
    const before = big.reads();
    await report(big.pen);
    assert.equal(big.reads() - before, 40000, `${name}: connection bytes read`);
  }
  // the lowest of 5 timings each, small and big taken in turn so that a burst of load on the
  // machine falls on both: 10x the tables may take up to 50x. Linear is 10x; measured 10-26x
  // (large strings and GC grow faster than the rows); a second pass over a table would be 100x
  const time = async (report: (p: Balancer) => unknown) => {
    const best = [Infinity, Infinity];
    for (let i = 0; i < 5; i++) {
      for (const [k, pen] of [small.pen, big.pen].entries()) {
        const t0 = performance.now();
        await report(pen);
        best[k] = Math.min(best[k]!, performance.now() - t0);
      }
    }
    return best as [number, number];
  };
  for (const [name, report] of Object.entries(REPORTS)) {
    const [a, b] = await time(report);
    t.diagnostic(`${name}: ${a.toFixed(1)} ms for 4,000, ${b.toFixed(1)} ms for 40,000`);
    assert.ok(b < 50 * a + 20, `${name}: ${a.toFixed(1)} ms for 4,000, ${b.toFixed(1)} ms for 40,000`);
  }
});
