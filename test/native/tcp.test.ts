// The native engine's TCP path on real loopback sockets: forwarding, backpressure, half-close,
// tcp_fastclose, failover, timeouts, list/close, IPv6 and Unix sockets, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants } from 'node:os';
import { echoServer, harness, roundTrip, sleep } from './harness.ts';
import { deadPort } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';
import { LIVE, STATE } from '../../server/core/native.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('forwards both ways, byte counts in the record and in live memory', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const c = net.connect(port, '127.0.0.1');
    await once(c, 'connect');
    const localPort = c.localPort;
    c.write('ping');
    const [got] = await once(c, 'data');
    assert.equal(got.toString(), 'ping');
    const slot = nth(h.eng.list(), 0);
    const info = h.eng.info(slot)!;
    assert.equal(info.kind, 'tcp');
    assert.equal(info.address, '127.0.0.1');
    assert.equal(info.port, c.localPort);
    assert.equal(info.state, STATE.CONNECTED);
    assert.equal(h.eng.live[slot * LIVE.WORDS + LIVE.BYTES_UP], 4);
    assert.equal(h.eng.live[slot * LIVE.WORDS + LIVE.BYTES_DOWN], 4);
    c.end();
    await h.waitClosed(1);
    assert.deepEqual([h.closed[0]?.up, h.closed[0]?.down, h.closed[0]?.why, h.closed[0]?.slot], [4, 4, 'eof', slot]);
    assert.deepEqual(h.selects[0], { listener: 0, address: '127.0.0.1', port: localPort });
    assert.equal(h.eng.stats().conns, 0);
  } finally { h.destroy(); await be.close(); }
});

test('a slot taken again starts with zero live counters (the engine clears them, not JS)', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    assert.equal((await roundTrip(port, 'x'.repeat(1000))).length, 1000);
    await h.waitClosed(1);
    const slot = nth(h.closed, 0).slot;
    // the harness's free list is a stack: the next client gets the same slot
    const c = net.connect(port, '127.0.0.1');
    await once(c, 'connect');
    const end = Date.now() + 5000;
    while (h.eng.list().length === 0 && Date.now() < end) await sleep(5);
    assert.deepEqual(h.eng.list(), [slot]);
    assert.deepEqual([LIVE.BYTES_UP, LIVE.BYTES_DOWN].map((w) => h.eng.live[slot * LIVE.WORDS + w]), [0, 0], 'bytes of the last occupant are gone');
    c.end();
    await h.waitClosed(2);
    assert.deepEqual([h.closed[1]?.up, h.closed[1]?.down], [0, 0]);
  } finally { h.destroy(); await be.close(); }
});

test('large transfers both ways to a slow reader lose nothing (backpressure)', async () => {
  const size = 24 << 20;
  const download = randomBytes(size), upload = randomBytes(size);
  let uploadHash = '';
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    s.on('data', (d) => { parts.push(d); s.pause(); setTimeout(() => s.resume(), 1); });   // slow reader
    s.on('end', () => { uploadHash = sha(Buffer.concat(parts)); s.end(download); });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const h = harness([{ address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }]);
  let maxPending = 0;
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const parts: Buffer[] = [];
    c.on('data', (d) => { parts.push(d); c.pause(); setTimeout(() => c.resume(), 1); });
    const probe = setInterval(() => { maxPending = Math.max(maxPending, h.eng.stats().pendingBufs); }, 2);
    c.end(upload);
    await once(c, 'end');
    clearInterval(probe);
    c.end();
    assert.equal(uploadHash, sha(upload));
    assert.equal(sha(Buffer.concat(parts)), sha(download));
    await h.waitClosed(1, 10000);
    assert.equal(h.closed[0]?.up, size);
    assert.equal(h.closed[0]?.down, size);
    assert.ok(maxPending >= 1, 'a slow reader made the engine hold a remainder buffer');
    assert.equal(h.eng.stats().pendingBufs, 0);
  } finally { h.destroy(); srv.close(); }
});

test('half-close from the server: the client can still send, and data sent with FIN arrives', async () => {
  let gotFromClient = '';
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.end('greeting');   // data and FIN in one go
    s.on('data', (d) => { gotFromClient += d; });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const h = harness([{ address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }]);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    c.on('data', (d) => { got += d; });
    await once(c, 'end');
    assert.equal(got, 'greeting');
    assert.equal(h.eng.info(nth(h.eng.list(), 0))!.state, STATE.CONNECTED | STATE.EOF_SERVER);
    c.end('after-eof');
    await h.waitClosed(1);
    assert.equal(gotFromClient, 'after-eof');
    assert.equal(h.closed[0]?.why, 'eof');
  } finally { h.destroy(); srv.close(); }
});

test('half-close from the client: the answer to a request sent with FIN arrives', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const out = await Promise.all(Array.from({ length: 20 }, (_, i) => roundTrip(port, `request ${i}`)));
    out.forEach((b, i) => assert.equal(b.toString(), `request ${i}`));
    await h.waitClosed(20);
  } finally { h.destroy(); await be.close(); }
});

/** A backend that answers a client's EOF late, and reports what it got after its own EOF. */
async function fastcloseCase(mode: 'off' | 'up' | 'down' | 'both') {
  const seen = { late: '', afterServerEof: '' };
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.once('data', (d) => {
      if (d.toString() === 'server-first') { s.end('bye'); s.on('data', (m) => { seen.afterServerEof += m; }); return; }
      s.on('end', () => setTimeout(() => { if (!s.destroyed) s.end('late'); }, 50));
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const h = harness([{ address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }]);
  h.eng.setFastclose(mode);
  const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
  // 1: the client ends first; does the server's late answer arrive?
  const a = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let gotA = '';
  a.on('data', (d) => { gotA += d; });
  a.on('error', () => {});
  a.end('client-first');
  await once(a, 'close');
  seen.late = gotA;
  // 2: the server ends first; does what the client sends afterwards arrive?
  const b = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  b.on('error', () => {});
  b.resume();
  b.write('server-first');
  await once(b, 'end');
  b.end('more');
  await once(b, 'close');
  await h.waitClosed(2);
  await sleep(50);
  h.destroy();
  srv.close();
  return seen;
}

test('tcp_fastclose off|up|down|both, as TcpConnection.eof()', async () => {
  assert.deepEqual(await fastcloseCase('off'), { late: 'late', afterServerEof: 'more' });
  assert.deepEqual(await fastcloseCase('down'), { late: '', afterServerEof: 'more' });
  assert.deepEqual(await fastcloseCase('up'), { late: 'late', afterServerEof: '' });
  assert.deepEqual(await fastcloseCase('both'), { late: '', afterServerEof: '' });
});

test('connect refused: failed() picks the next server; all refused closes with connect-failed', async () => {
  const dead = await deadPort();
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: dead }, { address: '127.0.0.1', port: be.port }]);
  h.choose = () => 0;
  h.next = (_slot, server) => (server + 1 < 2 ? server + 1 : -1);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    assert.equal((await roundTrip(port, 'via second')).toString(), 'via second');
    assert.deepEqual(h.failures.map((f) => [f.server, f.errno]), [[0, constants.errno.ECONNREFUSED]]);
    await h.waitClosed(1);
    assert.equal(h.closed[0]?.server, 1);
    h.next = () => -1;
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    c.resume();
    await once(c, 'close');
    await h.waitClosed(2);
    assert.deepEqual([h.closed[1]?.why, h.closed[1]?.errno, h.closed[1]?.server], ['connect-failed', constants.errno.ECONNREFUSED, 0]);
  } finally { h.destroy(); await be.close(); }
});

test('connect timeout: a server that never answers the SYN is given up after connectMs', async (t) => {
  // a listener whose accept queue is full drops further SYNs: the connect hangs
  const py = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LD_PRELOAD: '' } });   // not under test:asan's libasan
  t.after(() => py.kill());
  const [line] = await once(py.stdout!, 'data');
  const stuck = Number(String(line).trim());
  const fillers = [net.connect(stuck, '127.0.0.1'), net.connect(stuck, '127.0.0.1')];
  for (const f of fillers) f.on('error', () => {});
  await sleep(100);
  const h = harness([{ address: '127.0.0.1', port: stuck }]);
  h.eng.setTimeouts(300, 0, 0);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    c.resume();
    const t0 = Date.now();
    await once(c, 'close');
    const ms = Date.now() - t0;
    assert.ok(ms >= 250 && ms < 2000, `closed after ${ms} ms`);
    assert.deepEqual(h.failures.map((f) => f.errno), [constants.errno.ETIMEDOUT]);
    await h.waitClosed(1);
    assert.equal(h.closed[0]?.why, 'connect-failed');
  } finally { h.destroy(); for (const f of fillers) f.destroy(); }
});

test('idle timeout closes a silent connection, not a busy one', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  h.eng.setTimeouts(0, 300, 0);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const idle = net.connect(port, '127.0.0.1');
    idle.resume();
    const busy = net.connect(port, '127.0.0.1');
    busy.on('data', () => {});
    await Promise.all([once(idle, 'connect'), once(busy, 'connect')]);
    const tick = setInterval(() => busy.write('x'), 50);
    await once(idle, 'close');
    clearInterval(tick);
    await h.waitClosed(1);
    assert.equal(h.closed[0]?.why, 'idle');
    assert.equal(busy.destroyed, false);
    busy.destroy();
    await h.waitClosed(2);
  } finally { h.destroy(); await be.close(); }
});

test('list() and close(slot): forced close reaches the client; bad input changes nothing', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const cs = [0, 1, 2].map(() => net.connect(port, '127.0.0.1'));
    for (const c of cs) { c.on('error', () => {}); c.write('x'); await once(c, 'data'); }
    const slots = h.eng.list();
    assert.equal(slots.length, 3);
    assert.deepEqual(slots.map((s) => h.eng.info(s)!.port).sort(), cs.map((c) => c.localPort).sort());
    const victim = cs.find((c) => c.localPort === h.eng.info(nth(slots, 1))!.port)!;
    victim.resume();
    assert.equal(h.eng.close(nth(slots, 1)), true);
    await once(victim, 'close');
    assert.equal(h.eng.close(nth(slots, 1)), false);
    await h.waitClosed(1);
    assert.equal(h.closed[0]?.why, 'closed');
    assert.equal(h.eng.list().length, 2);
    assert.throws(() => h.eng.setServers([{ address: 'not-an-ip', port: 1 }]), TypeError);
    assert.throws(() => h.eng.listen('tcp', '127.0.0.1', 70000, 1), RangeError);
    assert.throws(() => h.eng.setFastclose('sometimes' as 'off'), TypeError);
    assert.throws(() => h.eng.close(1e9), RangeError);
    const c = net.connect(port, '127.0.0.1');   // the old server list is still in place
    c.write('still');
    assert.equal(String((await once(c, 'data'))[0]), 'still');
    for (const x of [...cs, c]) x.destroy();
    await h.waitClosed(4);
  } finally { h.destroy(); await be.close(); }
});

test('IPv6 listener and backend', async () => {
  const be = await echoServer('::1');
  const h = harness([{ address: '::1', port: be.port }]);
  try {
    const { port } = h.eng.listen('tcp', '::1', 0, 128);
    assert.equal((await roundTrip(port, 'six', '::1')).toString(), 'six');
    assert.equal(h.selects[0]?.address, '::1');
    await h.waitClosed(1);
  } finally { h.destroy(); await be.close(); }
});

test('Unix socket listener and backend', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pen-native-'));
  const be = await echoServer('', { path: join(dir, 'be.sock') });
  const h = harness([{ path: join(dir, 'be.sock') }]);
  try {
    h.eng.listen('unix', join(dir, 'pen.sock'), 0, 128);
    const out = await new Promise<string>((resolve, reject) => {
      const c = net.connect({ path: join(dir, 'pen.sock'), allowHalfOpen: true });
      let got = '';
      c.on('data', (d) => { got += d; });
      c.on('end', () => { c.end(); resolve(got); });
      c.on('error', reject);
      c.end('over unix');
    });
    assert.equal(out, 'over unix');
    assert.equal(h.selects[0]?.address, '');
    await h.waitClosed(1);
  } finally { h.destroy(); await be.close(); rmSync(dir, { recursive: true, force: true }); }
});

test('like a net.Server, the engine keeps the process alive only while it has fds open', async () => {
  const file = process.env.PEN_NATIVE_ADDON ?? join(import.meta.dirname, '..', '..', 'build', 'Release', 'pen_native.node');
  const script = `const a = require(${JSON.stringify(file)});
    const e = a.create({ slots: 4, select: () => -1, failed: () => -1, onRecords() {} });
    const l = e.listen('tcp', '127.0.0.1', 0, 8);
    setTimeout(() => { e.closeListener(l.id); console.log('closed'); }, 100);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  const exited = await Promise.race([once(child, 'exit').then(() => true), sleep(5000).then(() => false)]);
  if (!exited) child.kill();
  assert.equal(exited, true, 'the process exited by itself once the listener was closed');
  assert.equal(out.trim(), 'closed');
});
