// The engine with forwarding threads (create({ threads })): the JS thread accepts, picks and
// connects; workers move the bytes and hand each connection back to be closed and recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { addon, echoServer, harness, openFds, roundTrip, sleep } from './harness.ts';
import { nth } from '../helpers/nth.ts';
import { STATE } from '../../server/core/native.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const noop = { select: () => -1, failed: () => -1, onRecords: () => {} };

test('threads: bad values are refused', () => {
  for (const threads of [0, -1, 1.5, 65, Number.NaN]) {
    assert.throws(() => addon().create({ slots: 4, threads, ...noop }), /threads must be an integer in 1\.\.64/, String(threads));
  }
  assert.equal(addon().layout.maxThreads, 64);
});

for (const threads of [2, 4]) {
  test(`threads ${threads}: parallel round trips arrive whole, one record each, nothing left`, async () => {
    await sleep(50);
    const fds0 = openFds();
    const be = await echoServer();
    const h = harness([{ address: '127.0.0.1', port: be.port }], 256, threads);
    try {
      const base = h.eng.stats().allocs;
      const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
      const payloads = Array.from({ length: 200 }, (_, i) => randomBytes(1000 + i * 97));
      for (let batch = 0; batch < payloads.length; batch += 50) {
        const got = await Promise.all(payloads.slice(batch, batch + 50).map((p) => roundTrip(port, p)));
        got.forEach((g, i) => assert.equal(sha(g), sha(nth(payloads, batch + i))));
      }
      await h.waitClosed(payloads.length);
      const bytes = payloads.reduce((a, p) => a + p.length, 0);
      assert.equal(h.closed.reduce((a, c) => a + c.up, 0), bytes);
      assert.equal(h.closed.reduce((a, c) => a + c.down, 0), bytes);
      assert.ok(h.closed.every((c) => c.why === 'eof'));
      h.eng.closeListener(0);
      const st = h.eng.stats();
      assert.deepEqual([st.conns, st.pendingBufs, st.slotsTaken, st.fds], [0, 0, 0, 0]);
      assert.ok(st.allocs <= base, `allocations back to ${base}: ${st.allocs}`);
    } finally { h.destroy(); await be.close(); }
    await sleep(50);
    assert.equal(openFds(), fds0, 'the workers\' epoll fds and eventfds are closed');
  });
}

test('threads 2: a worker\'s connection: info, live words, close(slot) from JS, idle timeout', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }], 16, 2);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const a = net.connect(port, '127.0.0.1');
    await once(a, 'connect');
    a.write('hello');
    assert.equal((await once(a, 'data'))[0].toString(), 'hello');
    const slot = nth(h.eng.list(), 0);
    const info = h.eng.info(slot)!;
    assert.deepEqual(
      [info.state, info.bytesUp, info.bytesDown, info.pendingUp, info.pendingDown], [STATE.CONNECTED, 5, 5, 0, 0],
    );
    assert.equal(h.eng.close(slot), true);
    await Promise.all([once(a, 'close'), h.waitClosed(1)]);
    assert.deepEqual([h.closed[0]?.why, h.closed[0]?.up, h.closed[0]?.down], ['closed', 5, 5]);

    h.eng.setTimeouts(0, 300, 0);
    const b = net.connect(port, '127.0.0.1');
    await once(b, 'connect');
    b.write('x');
    await once(b, 'data');
    const t0 = Date.now();
    await Promise.all([once(b, 'close'), h.waitClosed(2, 3000)]);
    assert.equal(h.closed[1]?.why, 'idle');
    assert.ok(Date.now() - t0 >= 250, `idle close after ${Date.now() - t0} ms`);
  } finally { h.destroy(); await be.close(); }
});

test('threads 2: a large transfer to a slow reader loses nothing (backpressure on a worker)', async () => {
  const size = 8 << 20;
  const download = randomBytes(size), upload = randomBytes(size);
  let uploadHash = '';
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = [];
    s.on('data', (d) => { parts.push(d); s.pause(); setTimeout(() => s.resume(), 1); });
    s.on('end', () => { uploadHash = sha(Buffer.concat(parts)); s.end(download); });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const h = harness([{ address: '127.0.0.1', port: (srv.address() as net.AddressInfo).port }], 16, 2);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    const got = await roundTrip(port, upload, '127.0.0.1', 60000);
    assert.equal(sha(got), sha(download));
    assert.equal(uploadHash, sha(upload));
    await h.waitClosed(1);
    assert.deepEqual([h.closed[0]?.up, h.closed[0]?.down], [size, size]);
    assert.equal(h.eng.stats().pendingBufs, 0);
  } finally { h.destroy(); await new Promise((r) => srv.close(r)); }
});

test('threads 2: destroy with connections held by workers closes them all', async () => {
  await sleep(50);   // an engine of the test before closes its epoll fd once its handles have closed
  const fds0 = openFds();
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }], 64, 2);
  const clients: net.Socket[] = [];
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    for (let i = 0; i < 20; i++) {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => {});
      clients.push(c);
      await once(c, 'connect');
      c.write('y');
      await once(c, 'data');
    }
    assert.equal(h.eng.stats().conns, 20);
  } finally { h.destroy(); }
  await Promise.all(clients.map((c) => (c.destroyed ? null : once(c, 'close'))));
  await be.close();
  await sleep(50);
  assert.equal(openFds(), fds0);
});
