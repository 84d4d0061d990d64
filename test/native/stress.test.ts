// Random orders of connect, client close, server close, stall, reset (RST), JS close(slot),
// listener close and failover thrown at the engine, bounded in count and time. The seed is
// printed first; STRESS_SEED=<seed> replays the same choices (the network's timing still varies).
// Afterwards every byte a client got is the byte it sent (an echo backend), every connection
// that ran to its end got all of it back, each has one close record whose counts fit, and the
// engine and the process hold exactly what they held before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { harness, openFds, sleep } from './harness.ts';
import { deadPort } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';

/** mulberry32: a small seeded PRNG, so a failing order can be replayed */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// full: the connection runs to its end and must get every byte back
const ACTIONS = {
  'echo': true, 'echo-big': true, 'stall-resume': true, 'listener-close': true,
  'client-close': false, 'client-reset': false, 'stall-close': false,
  'server-close': false, 'server-reset': false, 'engine-close': false,
} as const;
type Action = keyof typeof ACTIONS;
const NAMES = Object.keys(ACTIONS) as Action[];

/** every connection comes from its own loopback address, so select and its record name it */
interface Conn { action: Action; address: string; sent: Buffer; got: Buffer; connected: boolean }

test('random orders of connect, close, stall, reset, JS close and listener close leave nothing behind', async (t) => {
  const seed = Number(process.env.STRESS_SEED ?? (Date.now() % 2 ** 31));
  process.stderr.write(`# stress seed ${seed} (STRESS_SEED=${seed} replays it)\n`);
  const rand = prng(seed);
  const msg = (s: string) => `${s} (STRESS_SEED=${seed})`;
  const t0 = Date.now();
  // the backend echoes; the first byte of a connection can ask it to end or reset after one chunk
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.once('data', (d: Buffer) => {
      s.write(d);
      if (d[0] === 0x43) s.end();                 // 'C': the server closes its side
      else if (d[0] === 0x52) s.resetAndDestroy(); // 'R': the server resets
      else s.pipe(s);
    });
    s.on('end', () => { if (!s.writableEnded) s.end(); });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const dead = await deadPort();
  // server 0 refuses: about one connection in five fails over to server 1
  const h = harness([{ address: '127.0.0.1', port: dead }, { address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }], 64);
  h.choose = () => (rand() < 0.2 ? 0 : 1);
  h.next = (_s, server) => (server === 0 ? 1 : -1);
  h.eng.setTimeouts(2000, 5000, 0);
  let listener = h.eng.listen('tcp', '127.0.0.1', 0, 511);
  const conns: Conn[] = [];
  const counts: Partial<Record<Action, number>> = {};
  const listenerCloses: Promise<void>[] = [];

  async function one(action: Action): Promise<void> {
    counts[action] = (counts[action] ?? 0) + 1;
    if (action === 'listener-close') {
      // a new listener replaces the old, which closes once the connections that other workers
      // aimed at it are accepted; its connections carry on. This connection uses the new one.
      const old = listener;
      listener = h.eng.listen('tcp', '127.0.0.1', 0, 511);
      listenerCloses.push(sleep(300).then(() => h.eng.closeListener(old.id)));
    }
    const big = action === 'echo-big' || action.startsWith('stall');
    const sent = randomBytes(big ? (1 << 20) + Math.floor(rand() * (3 << 20)) : 1 + Math.floor(rand() * 8000));
    sent[0] = action === 'server-close' ? 0x43 : action === 'server-reset' ? 0x52 : 0x45;
    const n = conns.length;
    const conn: Conn = { action, address: `127.1.${Math.floor(n / 250)}.${(n % 250) + 1}`, sent, got: Buffer.alloc(0), connected: false };
    conns.push(conn);
    const c = net.connect({ port: listener.port, host: '127.0.0.1', localAddress: conn.address, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    c.on('error', () => {});
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => c.end());   // half-open clients finish once the other side has ended
    const closed = new Promise<void>((r) => c.on('close', () => r()));   // once() would reject on 'error'
    c.on('connect', () => { conn.connected = true; });
    const delay = () => sleep(rand() * 10);
    switch (action) {
      case 'echo': case 'echo-big': case 'listener-close': case 'server-close': case 'server-reset':
        c.end(sent);
        break;
      case 'stall-resume':   // stop reading while the echo comes back; the engine holds it, then resumes
        c.pause();
        c.end(sent);
        await sleep(20 + rand() * 80);
        c.resume();
        break;
      case 'stall-close':
        c.pause();
        c.write(sent);
        await sleep(20 + rand() * 50);
        c.destroy();
        break;
      case 'client-close':
        c.write(sent);
        await delay();
        c.destroy();
        break;
      case 'client-reset':   // SO_LINGER 0: an RST, not a FIN
        c.write(sent);
        await delay();
        c.resetAndDestroy();
        break;
      case 'engine-close':
        c.write(sent);
        await delay();
        for (const slot of h.eng.list()) if (h.eng.info(slot)?.address === conn.address) h.eng.close(slot);
        break;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => { timer = setTimeout(r, 10000); })]);
    clearTimeout(timer);
    c.destroy();
    conn.got = Buffer.concat(chunks);
  }

  const total = Number(process.env.STRESS_CONNS ?? 600), concurrency = 16, deadline = Date.now() + 60000;
  let started = 0;
  async function worker() {
    while (started < total && Date.now() < deadline) {
      started++;
      await one(nth(NAMES, Math.floor(rand() * NAMES.length)));
    }
  }
  try {
    // the baseline: the engine with one listener, after one connection has warmed everything up
    await one('echo');
    await h.waitClosed(1);
    await sleep(50);
    const fds0 = openFds(), allocs0 = h.eng.stats().allocs, bytes0 = h.eng.stats().allocBytes;
    await Promise.all(Array.from({ length: concurrency }, worker));
    await Promise.all(listenerCloses);
    const end = Date.now() + 10000;
    while ((h.eng.stats().conns > 0 || h.inUse.size > 0) && Date.now() < end) await sleep(20);
    await sleep(100);   // client handles finish closing

    // bytes: a prefix of what was sent, everything for the connections that ran to their end
    const recsOf = new Map<string, typeof h.closed>();
    for (const r of h.closed) recsOf.set(r.address, [...(recsOf.get(r.address) ?? []), r]);
    const selected = new Set(h.selects.map((s) => s.address));
    for (const c of conns) {
      const what = `${c.action} from ${c.address}`;
      assert.ok(c.got.equals(c.sent.subarray(0, c.got.length)), msg(`${what}: bytes that were not sent`));
      const recs = recsOf.get(c.address) ?? [];
      // one record for every connection the engine took (a client gone before accept4 may not be)
      assert.equal(recs.length, selected.has(c.address) ? 1 : 0, msg(`${what}: ${recs.length} close records`));
      if (ACTIONS[c.action]) assert.equal(recs.length, 1, msg(`${what}: never reached the engine`));
      if (!recs.length) continue;
      const r = nth(recs, 0);
      assert.ok(r.up <= c.sent.length && r.down <= r.up && c.got.length <= r.down,
        msg(`${what}: record up ${r.up} down ${r.down}, client sent ${c.sent.length} got ${c.got.length}`));
      if (ACTIONS[c.action]) {
        assert.equal(c.got.length, c.sent.length, msg(`${what}: got ${c.got.length} of ${c.sent.length}`));
        assert.deepEqual([r.why, r.up, r.down], ['eof', c.sent.length, c.sent.length], msg(`${what}: record`));
      }
    }
    const st = h.eng.stats();
    assert.deepEqual(
      {
        conns: st.conns, sessions: st.sessions, pendingBufs: st.pendingBufs, slotsTaken: st.slotsTaken,
        recordsPending: st.recordsPending, fds: st.fds, jsSlots: h.inUse.size,
      },
      { conns: 0, sessions: 0, pendingBufs: 0, slotsTaken: 0, recordsPending: 0, fds: 1, jsSlots: 0 }, msg('engine state'));
    assert.deepEqual({ allocs: st.allocs, allocBytes: st.allocBytes, fds: openFds() }, { allocs: allocs0, allocBytes: bytes0, fds: fds0 }, msg('allocations and process fds'));
    assert.equal(h.closed.length, st.accepted - st.refused - st.slotBusy, msg('one record per accepted connection'));
    assert.ok(st.connectFailed > 0, 'failover was exercised');
    t.diagnostic(`seed ${seed}: ${JSON.stringify(counts)}; ${conns.length} connections, ${st.accepted} accepted, ${st.connectFailed} failovers, ${Date.now() - t0} ms`);
    assert.ok(started >= total, msg(`ran ${started} of ${total} in the time bound`));
  } finally { h.destroy(); srv.close(); }
});
