// 100,000 connections through the engine: afterwards the process's open fds, the engine's own
// allocation counts and its slots are back where they were after the warm-up. RSS is reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { harness, openFds, sleep } from './harness.ts';

const TOTAL = Number(process.env.LEAK_CONNS ?? 100_000);
const CONCURRENCY = 48;

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
  let ok = 0, failed = 0;

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
      while (next < n) { next++; await oneConn(); }
    }));
    const end = Date.now() + 10000;
    while ((h.eng.stats().conns > 0 || h.inUse.size > 0) && Date.now() < end) await sleep(10);
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
    gc?.();
    const before = snapshot();
    const mem0 = process.memoryUsage();
    const t0 = Date.now();
    ok = failed = 0;
    await run(TOTAL);
    const ms = Date.now() - t0;
    await sleep(200);   // let closing client handles finish
    gc?.();
    const after = snapshot();
    const mem1 = process.memoryUsage();
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    const st = h.eng.stats();
    t.diagnostic(`${TOTAL} connections in ${ms} ms (${Math.round(TOTAL / (ms / 1000))}/s); ok ${ok}, failed ${failed}`);
    t.diagnostic(`before ${JSON.stringify(before)}`);
    t.diagnostic(`after  ${JSON.stringify(after)}`);
    t.diagnostic(`RSS ${mib(mem0.rss)} -> ${mib(mem1.rss)} MiB (${((mem1.rss - mem0.rss) / TOTAL).toFixed(1)} B/conn), V8 heap used ${mib(mem0.heapUsed)} -> ${mib(mem1.heapUsed)} MiB, gc ${gc ? 'forced' : 'not exposed'}; engine ${st.accepted} accepted, ${st.batches} batches, ${st.jsCalls} JS calls`);
    assert.equal(ok, TOTAL, `${failed} connections did not echo`);
    assert.deepEqual(after, before);
    assert.equal(h.closed.length, 2000 + TOTAL);
  } finally { h.destroy(); srv.close(); }
});
