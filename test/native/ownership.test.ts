// What the host process and JS can do around the engine must not make it touch freed memory or
// take bad input: another reference to one of its fds (a fork between spawn's fork and exec, or
// pidfd_getfd), a transferred shared ArrayBuffer, getters that throw, strings with NUL in them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { addon, echoServer, harness, sleep } from './harness.ts';
import { LIVE, pick } from '../../server/core/native.ts';

const socketFds = () => new Set(readdirSync('/proc/self/fd').filter((fd) => {
  try { return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:'); } catch { return false; }
}));

// a child that takes a copy of our fd with pidfd_getfd and holds it until its stdin closes
const HOLDER = `import os, sys, ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(438, os.pidfd_open(${process.pid}), int(sys.argv[1]), 0)
print('held' if fd >= 0 else 'errno %d' % ctypes.get_errno(), flush=True)
sys.stdin.read()`;

test('a closed listener whose fd another process still holds raises no event on freed memory', async (t) => {
  const h = harness([{ address: '127.0.0.1', port: 9 }]);
  const before = socketFds();
  const { id, port } = h.eng.listen('tcp', '127.0.0.1', 0, 8);
  const fd = [...socketFds()].find((f) => !before.has(f));
  assert.ok(fd, 'the listener fd');
  const holder = spawn('python3', ['-c', HOLDER, fd], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LD_PRELOAD: '' } });
  t.after(() => holder.kill());
  const [line] = await once(holder.stdout!, 'data');
  if (String(line).trim() !== 'held') { t.skip(`pidfd_getfd not allowed here (${String(line).trim()})`); h.destroy(); return; }
  try {
    h.eng.closeListener(id);
    const batches = h.eng.stats().batches;
    // the socket still listens in the holder: a connection makes it readable
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => {});
    await once(c, 'connect');
    await sleep(100);
    c.destroy();
    assert.equal(h.eng.stats().batches, batches, 'the engine saw no event for the fd it had closed');
    assert.deepEqual([h.eng.stats().fds, h.eng.stats().acceptErrors, h.selects.length], [0, 0, 0]);
  } finally { h.destroy(); holder.stdin!.end(); }
});

test('transferring the shared ArrayBuffers away leaves the engine writing to live memory', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    // structuredClone may move (detach) or copy the buffer; either way its memory must outlive
    // the clone, which the GC frees here
    for (const ab of [h.eng.live.buffer, h.eng.records.buffer, h.eng.packets.buffer]) {
      try { structuredClone(ab, { transfer: [ab] }); } catch { /* not transferable: fine too */ }
    }
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 3; i++) { gc?.(); await sleep(20); }
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 8);
    for (let i = 0; i < 20; i++) {
      const c = net.connect(port, '127.0.0.1');
      c.write('x');
      await once(c, 'data');
      c.destroy();
    }
    await h.waitClosed(20);
    assert.equal(h.eng.stats().conns, 0);
  } finally { h.destroy(); await be.close(); }
});

test('bad server lists change nothing: throwing getters, Proxies, NUL bytes, non-objects', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    const bad: unknown[][] = [
      [{ get address() { throw new Error('getter'); }, port: 1 }],
      [{ address: '127.0.0.1', get port() { throw new Error('getter'); } }],
      [{ address: '127.0.0.1', port: 1, get source() { throw new Error('getter'); } }],
      [new Proxy({}, { has() { throw new Error('trap'); } })],
      [{ address: `127.0.0.1\0junk`, port: 80 }],
      [{ path: '/tmp/pen\0.sock' }],
      [{ address: '127.0.0.1', port: 1, source: '127.0.0.1\0' }],
      [42], [null], ['127.0.0.1:80'],
      [{ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 0 }],
    ];
    bad.forEach((list, i) => assert.throws(() => h.eng.setServers(list as never), Error, `bad list ${i}`));
    assert.throws(() => h.eng.listen('tcp\0' as 'tcp', '127.0.0.1', 0, 1), TypeError);
    assert.throws(() => h.eng.listen('tcp', '127.0.0.1\0', 0, 1), TypeError);
    assert.throws(() => h.eng.listen('unix', '/tmp/a\0b', 0, 1), TypeError);
    assert.throws(() => h.eng.setFastclose('up\0' as 'up'), TypeError);
    assert.throws(() => h.eng.info(-1), RangeError);
    assert.throws(() => h.eng.info(0.5), RangeError);
    assert.throws(() => h.eng.close(256), RangeError);
    assert.throws(() => h.eng.closeListener(64), RangeError);
    assert.equal(h.eng.stats().fds, 0, 'no listener was opened');
    // the first list is still in place
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 8);
    const c = net.connect(port, '127.0.0.1');
    c.write('still');
    assert.equal(String((await once(c, 'data'))[0]), 'still');
    c.destroy();
    await h.waitClosed(1);
  } finally { h.destroy(); await be.close(); }
});

test('destroy() from select is refused (EBUSY); from onRecords it closes everything, flows and all', async () => {
  const be = await echoServer();
  const errors: string[] = [];
  let phase = 'select', records = 0;
  let slot = 0;
  const eng = addon().create({
    slots: 8,
    select() {
      if (phase === 'select') {
        try { eng.destroy(); } catch (err) { errors.push((err as NodeJS.ErrnoException).code ?? String(err)); }
      }
      return pick(slot++, 0);
    },
    failed: () => -1,
    onRecords(n) { records += n; if (phase === 'records') eng.destroy(); },
  });
  eng.setServers([{ address: '127.0.0.1', port: be.port }]);
  try {
    const { port } = eng.listen('tcp', '127.0.0.1', 0, 8);
    const a = net.connect(port, '127.0.0.1');
    a.write('x');
    await once(a, 'data');
    assert.deepEqual(errors, ['EBUSY']);
    phase = 'flow';
    const b = net.connect(port, '127.0.0.1');
    b.on('error', () => {});
    b.write('y');
    await once(b, 'data');
    const keep = setInterval(() => { if (!b.destroyed) b.write(Buffer.alloc(65536)); }, 1);
    // not once(b, 'close'): that rejects when b sees the reset (ECONNRESET) the destroy may send
    const closedB = new Promise((resolve) => b.once('close', resolve));
    const view = eng.live;
    phase = 'records';
    a.destroy();   // its close record reaches onRecords, which destroys the engine while b streams
    await closedB;
    clearInterval(keep);
    await sleep(50);
    assert.equal(records, 1, 'no record after destroy');
    assert.equal(view.length, 8 * LIVE.WORDS, 'the live view stays readable');
    assert.throws(() => eng.stats(), /destroyed/);
  } finally { try { eng.destroy(); } catch { /* done */ } await be.close(); }
});
