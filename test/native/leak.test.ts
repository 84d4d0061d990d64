// 100,000 connections through the engine: afterwards the process's open fds, the engine's own
// allocation counts and its slots are back where they were after the warm-up, and after a forced
// GC (node --expose-gc) the V8 heap and RSS have grown by less than the bounds below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { harness, openFds, sleep } from './harness.ts';

const TOTAL = Number(process.env.LEAK_CONNS ?? 100_000);
const CONCURRENCY = 48;
// Bounds after a forced GC, for the whole run (not per connection). The heap holds what JS keeps
// (nothing per connection here); RSS also holds malloc's and V8's retained pages. Under ASan
// freed memory sits in its quarantine (256 MiB by default), so RSS gets that much more room.
const HEAP_BOUND = 4 << 20;
const ASAN = (process.env.LD_PRELOAD ?? '').includes('libasan');
const RSS_BOUND = (ASAN ? 320 : 48) << 20;

test(`${TOTAL} connections leave no fd, allocation or slot behind`, async (t) => {
  // the backend answers and closes first, so TIME_WAIT stays on the backend's port
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', (d) => s.end(d));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const h = harness([{ address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }], 1024);
  const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 511);
  let ok = 0, failed = 0, records = 0;
  // JS keeps nothing per connection: the harness's select and close logs are counted and emptied
  const trim = () => { records += h.closed.length; h.closed.length = 0; h.selects.length = 0; };

  const oneConn = () => new Promise<void>((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let got = '';
    c.on('data', (d) => { got += d; });
    c.on('error', () => {});
    c.on('close', () => { if (got === 'x') ok++; else failed++; resolve(); });
    c.end('x');
  });
  async function run(n: number) {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) { next++; await oneConn(); if (h.closed.length > 1000) trim(); }
    }));
    const end = Date.now() + 10000;
    while ((h.eng.stats().conns > 0 || h.inUse.size > 0) && Date.now() < end) await sleep(10);
    trim();
  }
  const snapshot = () => {
    const st = h.eng.stats();
    return {
      fds: openFds(), engineFds: st.fds, allocs: st.allocs, allocBytes: st.allocBytes, slotsTaken: st.slotsTaken,
      conns: st.conns, pendingBufs: st.pendingBufs,
    };
  };
  try {
    await run(2000);   // warm-up: JIT, the backend's and the clients' first allocations
    await sleep(100);
    const gc = (globalThis as { gc?: () => void }).gc;   // node --expose-gc: tell JS garbage from the rest
    assert.ok(gc, 'run with node --expose-gc (npm run test:native / test:asan do)');
    gc();
    const before = snapshot();
    const mem0 = process.memoryUsage();
    const t0 = Date.now();
    ok = failed = records = 0;
    await run(TOTAL);
    const ms = Date.now() - t0;
    await sleep(200);   // let closing client handles finish
    gc();
    await sleep(50);
    gc();
    const after = snapshot();
    const mem1 = process.memoryUsage();
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    const st = h.eng.stats();
    t.diagnostic(`${TOTAL} connections in ${ms} ms (${Math.round(TOTAL / (ms / 1000))}/s); ok ${ok}, failed ${failed}`);
    t.diagnostic(`before ${JSON.stringify(before)}`);
    t.diagnostic(`after  ${JSON.stringify(after)}`);
    t.diagnostic(`after GC: RSS ${mib(mem0.rss)} -> ${mib(mem1.rss)} MiB (${((mem1.rss - mem0.rss) / TOTAL).toFixed(1)} B/conn, bound ${mib(RSS_BOUND)}${ASAN ? ' under ASan' : ''}), V8 heap used ${mib(mem0.heapUsed)} -> ${mib(mem1.heapUsed)} MiB (bound +${mib(HEAP_BOUND)}), external ${mib(mem0.external)} -> ${mib(mem1.external)} MiB; engine ${st.accepted} accepted, ${st.batches} batches, ${st.jsCalls} JS calls`);
    assert.equal(ok, TOTAL, `${failed} connections did not echo`);
    assert.deepEqual(after, before);
    assert.equal(records, TOTAL, 'one close record per connection');
    assert.ok(mem1.heapUsed - mem0.heapUsed < HEAP_BOUND, `V8 heap grew ${mib(mem1.heapUsed - mem0.heapUsed)} MiB`);
    assert.ok(mem1.rss - mem0.rss < RSS_BOUND, `RSS grew ${mib(mem1.rss - mem0.rss)} MiB`);
  } finally { h.destroy(); srv.close(); }
});
