// The native engine under load: a reader that stops reading (memory stays bounded, nothing is
// lost when it resumes), JS closing slots, the listener and the engine while data flows, and a
// UDP flood from more clients than there are slots (the session table stays bounded, expiry
// frees it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { harness, openFds, sleep, udpEcho } from './harness.ts';
import { nth } from '../helpers/nth.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** IO_BUF_SIZE, read from the header the addon is built from: the most one pending remainder holds */
const IO_BUF = ioBufSize();

function ioBufSize(): number {
  const m = /^#define IO_BUF_SIZE (\d+)/m.exec(readFileSync(new URL('../../native/engine.h', import.meta.url), 'utf8'));
  if (!m) throw new Error('native/engine.h has no "#define IO_BUF_SIZE <number>": the stalled-reader bound cannot be read');
  return Number(m[1]);
}

async function until(cond: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Sample the engine while a stalled side holds the data: memory bounded, no busy loop. */
async function heldBounded(h: ReturnType<typeof harness>, base: number, pending: () => number) {
  await until(() => pending() > 0, 10000, 'the engine to hold a remainder');
  // The kernel's buffers may still be filling (slowly under ASan), each fill a wake-up: wait for
  // 200 ms without one. A spinning engine never gets there, so this wait fails it too.
  const quietBy = Date.now() + 10000;
  for (let last = h.eng.stats().batches, still = 0; still < 4; ) {
    if (Date.now() > quietBy) assert.fail('the engine never went quiet while stalled: it spins');
    await sleep(50);
    const now = h.eng.stats().batches;
    still = now === last ? still + 1 : 0;
    last = now;
  }
  const b0 = h.eng.stats().batches;
  let maxBytes = 0, maxBufs = 0;
  for (let i = 0; i < 30; i++) {
    const st = h.eng.stats();
    maxBytes = Math.max(maxBytes, st.allocBytes - base);
    maxBufs = Math.max(maxBufs, st.pendingBufs);
    await sleep(10);
  }
  const batches = h.eng.stats().batches - b0;
  assert.ok(maxBufs <= 1 && maxBytes <= IO_BUF + 1024, `held ${maxBufs} buffers, ${maxBytes} bytes beyond the idle engine`);
  assert.ok(batches <= 5, `${batches} epoll batches while stalled: the engine must wait, not spin`);
}

test('a stalled reader, either side: the engine holds at most one buffer, then delivers every byte', async () => {
  const size = 32 << 20;   // far beyond loopback's socket buffers (tcp_rmem/tcp_wmem max 6/4 MiB)
  const download = randomBytes(size), upload = randomBytes(size);
  let backend: net.Socket | undefined;
  let uploadGot: Buffer[] = [];
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    backend = s;
    uploadGot = [];
    s.on('data', (d) => uploadGot.push(d));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const h = harness([{ address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }]);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 8);
    const base = h.eng.stats().allocBytes;
    // 1. the client stops reading while the server sends 32 MiB
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    c.pause();
    await until(() => backend !== undefined, 5000, 'the backend connection');
    const s = backend!;
    s.write(download);
    const slot = nth(h.eng.list(), 0);
    await heldBounded(h, base, () => h.eng.info(slot)!.pendingDown);
    assert.ok(s.writableLength > 0, 'the backpressure reached the sender');
    const got: Buffer[] = [];
    c.on('data', (d) => got.push(d));
    c.resume();
    await until(() => got.reduce((n, b) => n + b.length, 0) === size, 20000, 'the download after the stall');
    assert.equal(sha(Buffer.concat(got)), sha(download));
    // 2. the server stops reading while the client sends 32 MiB
    s.pause();
    c.write(upload);
    await heldBounded(h, base, () => h.eng.info(slot)!.pendingUp);
    assert.ok(c.writableLength > 0, 'the backpressure reached the client');
    s.resume();
    await until(() => uploadGot.reduce((n, b) => n + b.length, 0) === size, 20000, 'the upload after the stall');
    assert.equal(sha(Buffer.concat(uploadGot)), sha(upload));
    c.end();
    s.end();
    await h.waitClosed(1, 5000);
    const rec = nth(h.closed, 0);
    assert.deepEqual([rec.up, rec.down, rec.why], [size, size, 'eof']);
    assert.equal(h.eng.stats().allocBytes, base);
  } finally { h.destroy(); srv.close(); }
});

/** A client that streams a counting byte pattern and checks every echoed byte against it. */
function streamer(port: number) {
  const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const st = { c, port: 0, sent: 0, got: 0, bad: 0, ended: false, closed: once(c, 'close').catch(() => {}) };
  const chunk = Buffer.alloc(16384);
  c.on('error', () => {});
  c.on('data', (d: Buffer) => {
    for (let i = 0; i < d.length; i++) if (d[i] !== ((st.got + i) & 255)) { st.bad++; break; }
    st.got += d.length;
  });
  c.on('end', () => { st.ended = true; c.end(); });
  const pump = () => {
    while (!c.destroyed && !c.writableEnded && st.sent - st.got < 1 << 20) {
      for (let i = 0; i < chunk.length; i++) chunk[i] = (st.sent + i) & 255;
      st.sent += chunk.length;
      if (!c.write(Buffer.from(chunk))) { c.once('drain', pump); return; }
    }
    if (!c.destroyed && !c.writableEnded) setTimeout(pump, 1);
  };
  c.once('connect', () => { st.port = c.localPort!; pump(); });
  return st;
}

test('JS closes slots, the listener and then the engine while data flows', async () => {
  await sleep(100);   // the previous test's sockets finish closing
  const fds0 = openFds();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => {}); s.pipe(s); });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const h = harness([{ address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }], 128);
  try {
    const base = h.eng.stats().allocs;   // before the listener, which goes too
    const l = h.eng.listen('tcp', '127.0.0.1', 0, 64);
    const flows = Array.from({ length: 40 }, () => streamer(l.port));
    await until(() => flows.every((f) => f.got > 256 << 10), 20000, 'every flow to move data');
    // close every other slot and the listener mid-flow
    const victims = h.eng.list().filter((_, i) => i % 2 === 0);
    for (const slot of victims) assert.equal(h.eng.close(slot), true);
    h.eng.closeListener(l.id);
    const refused = net.connect(l.port, '127.0.0.1');
    const [err] = await once(refused, 'error');
    assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    await h.waitClosed(victims.length, 5000);
    assert.ok(h.closed.every((r) => r.why === 'closed' && victims.includes(r.slot)));
    // the rest keep flowing after the listener has gone, then finish cleanly
    const victimPorts = new Set(h.closed.map((r) => r.port));
    const rest = flows.filter((f) => !victimPorts.has(f.port));
    assert.equal(rest.length, flows.length - victims.length);
    const mark = rest.map((f) => f.got);
    await until(() => rest.every((f, i) => f.got > nth(mark, i) + (64 << 10)), 20000, 'the others to keep flowing');
    for (const f of rest) f.c.end();
    await until(() => rest.every((f) => f.ended && f.got === f.sent), 20000, 'the others to drain and end');
    await h.waitClosed(flows.length, 10000);
    await Promise.all(flows.map((f) => f.closed));
    assert.equal(flows.reduce((n, f) => n + f.bad, 0), 0, 'every echoed byte was the one sent, in order');
    for (const r of h.closed) {
      const f = flows.find((x) => x.port === r.port)!;
      assert.ok(r.up <= f.sent && r.down <= r.up && f.got <= r.down, `slot ${r.slot}: up ${r.up} down ${r.down}, client sent ${f.sent} got ${f.got}`);
      if (!victimPorts.has(r.port)) assert.deepEqual([r.why, r.up, r.down], ['eof', f.sent, f.sent]);
    }
    const st = h.eng.stats();
    assert.deepEqual([st.conns, st.pendingBufs, st.slotsTaken, st.fds, st.allocs], [0, 0, 0, 0, base]);
    // and destroy() with data in flight closes everything at once, without records
    const l2 = h.eng.listen('tcp', '127.0.0.1', 0, 64);
    const more = Array.from({ length: 10 }, () => streamer(l2.port));
    await until(() => more.every((f) => f.got > 64 << 10), 20000, 'the second flows');
    const records = h.closed.length;
    h.destroy();
    await Promise.all(more.map((f) => f.closed));
    assert.equal(h.closed.length, records, 'destroy() delivers no record');
    assert.equal(more.reduce((n, f) => n + f.bad, 0), 0);
  } finally {
    try { h.destroy(); } catch { /* already */ }
    await new Promise((r) => srv.close(r));
  }
  await sleep(50);
  assert.equal(openFds(), fds0, 'the process has the fds it had before');
});

test('a UDP flood from more clients than slots: sessions bounded by the slots, expiry frees them', async () => {
  const slots = 32, nclients = 100, per = 40;
  const be = await udpEcho();
  const h = harness([{ address: '127.0.0.1', port: be.port }], slots);
  h.eng.setTimeouts(0, 0, 300);
  const clients = await Promise.all(Array.from({ length: nclients }, async () => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    const c = { s, got: 0 };
    s.on('message', () => c.got++);
    return c;
  }));
  try {
    const { port } = h.eng.listen('udp', '127.0.0.1', 0, 1);
    let maxSessions = 0, maxFds = 0;
    for (let k = 0; k < per; k++) {
      for (const c of clients) c.s.send(`d${k}`, port, '127.0.0.1');
      const st = h.eng.stats();
      maxSessions = Math.max(maxSessions, st.sessions);
      maxFds = Math.max(maxFds, st.fds);
      await sleep(1);
    }
    await sleep(100);
    const st = h.eng.stats();
    assert.ok(maxSessions <= slots && st.sessions === slots, `sessions ${st.sessions}, at most ${maxSessions}`);
    assert.ok(maxFds <= slots + 1, `fds ${maxFds}`);
    assert.equal(clients.filter((c) => c.got > 0).length, slots, 'only clients with a session got replies');
    assert.ok(st.udpDropped >= (nclients - slots) * per * 0.5, `dropped ${st.udpDropped}`);
    assert.ok(st.refused === 0 && st.slotBusy === 0, 'JS refused (-1) instead of picking a taken slot');
    // expiry ends every session and frees the table for the clients that were turned away
    await h.waitClosed(slots, 3000);
    assert.ok(h.closed.every((r) => r.kind === 2 && r.why === 'idle'));
    assert.deepEqual([h.eng.stats().sessions, h.eng.stats().slotsTaken, h.eng.stats().fds], [0, 0, 1]);
    const late = clients.filter((c) => c.got === 0).slice(0, slots);
    for (const c of late) c.s.send('late', port, '127.0.0.1');
    await until(() => late.every((c) => c.got === 1), 5000, 'replies to the clients turned away before');
    assert.equal(h.eng.stats().sessions, slots);
  } finally { h.destroy(); for (const c of clients) c.s.close(); await be.close(); }
});
