// Random orders of connect, transfer, half-close, stall, reset, early close, server reset and
// forced close thrown at the engine (fixed seed, bounded by count and time); afterwards every
// connection is accounted for and nothing is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { harness, sleep } from './harness.ts';
import { deadPort } from '../helpers/backends.ts';

/** mulberry32: a small seeded PRNG, so a failing order can be replayed */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACTIONS = ['echo', 'echo-big', 'early-close', 'reset', 'stall', 'server-reset', 'engine-close'] as const;

test('random connect/close/stall/reset orders leave no connection, buffer, slot or fd behind', async (t) => {
  const t0 = Date.now();
  const seed = Number(process.env.STRESS_SEED ?? 12345);
  const rand = prng(seed);
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.on('data', (d) => { if (d.includes('RESET-ME')) s.resetAndDestroy(); });
    s.pipe(s);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const dead = await deadPort();
  const good = (srv.address() as net.AddressInfo).port;
  // server 0 refuses: every fourth connection fails over to server 1
  const h = harness([{ address: '127.0.0.1', port: dead }, { address: '127.0.0.1', port: good }], 64);
  let n = 0;
  h.choose = () => (n++ % 4 === 0 ? 0 : 1);
  h.next = (_s, server) => (server === 0 ? 1 : -1);
  h.eng.setTimeouts(2000, 5000, 0);
  const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 511);
  const counts: Record<string, number> = {};
  let echoed = 0, mismatched = 0;

  async function one(action: (typeof ACTIONS)[number]): Promise<void> {
    counts[action] = (counts[action] ?? 0) + 1;
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    c.on('error', () => {});
    const closed = new Promise<void>((r) => c.on('close', () => r()));   // once() would reject on 'error'
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => c.end());   // half-open clients finish once the engine has closed its side
    const payload = randomBytes(action === 'echo-big' || action === 'stall' ? 1 << 20 : 1 + Math.floor(rand() * 4000));
    switch (action) {
      case 'echo':
      case 'echo-big':
        c.end(payload);
        await closed;
        if (Buffer.concat(chunks).equals(payload)) echoed++; else mismatched++;
        return;
      case 'early-close':
        c.destroy();
        break;
      case 'reset':
        c.write(payload);
        await sleep(rand() * 5);
        c.resetAndDestroy();
        break;
      case 'stall':
        c.pause();   // the engine must hold the remainder, not spin or lose it
        c.write(payload);
        await sleep(20 + rand() * 50);
        c.destroy();
        break;
      case 'server-reset':
        c.write(Buffer.concat([payload, Buffer.from('RESET-ME')]));
        break;
      case 'engine-close':
        c.write(payload);
        await sleep(rand() * 10);
        for (const slot of h.eng.list()) if (h.eng.info(slot)?.port === c.localPort) h.eng.close(slot);
        break;
    }
    await Promise.race([closed, sleep(3000)]);
    c.destroy();
  }

  const total = 600, concurrency = 16, deadline = Date.now() + 60000;
  let started = 0;
  async function worker() {
    while (started < total && Date.now() < deadline) {
      started++;
      await one(ACTIONS[Math.floor(rand() * ACTIONS.length)]);
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
    const end = Date.now() + 10000;
    while ((h.eng.stats().conns > 0 || h.inUse.size > 0) && Date.now() < end) await sleep(20);
    const st = h.eng.stats();
    assert.equal(mismatched, 0, `echoes that came back wrong (seed ${seed})`);
    assert.ok(echoed >= ((counts.echo ?? 0) + (counts['echo-big'] ?? 0)) * 0.99, `echoes ${echoed}`);
    assert.deepEqual(
      { conns: st.conns, pendingBufs: st.pendingBufs, slotsTaken: st.slotsTaken, fds: st.fds, jsSlots: h.inUse.size },
      { conns: 0, pendingBufs: 0, slotsTaken: 0, fds: 1, jsSlots: 0 }, `seed ${seed}`);
    assert.equal(h.closed.length, st.accepted - st.refused - st.slotBusy);
    assert.ok(st.connectFailed > 0, 'failover was exercised');
    t.diagnostic(`seed ${seed}: ${JSON.stringify(counts)}; ${st.accepted} accepted, ${st.connectFailed} failovers, ${Date.now() - t0} ms`);
    assert.ok(started >= total, `ran ${started} of ${total} in the time bound`);
  } finally { h.destroy(); srv.close(); }
});
