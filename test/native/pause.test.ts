// pauseListener: a paused TCP listener accepts nothing (clients wait in the kernel backlog, as in
// pen with a full connection table) and resuming serves them; bad input changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { echoServer, harness, roundTrip, sleep } from './harness.ts';

test('a paused listener accepts nothing; the clients that waited are served once it resumes', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    const { id, port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    assert.equal((await roundTrip(port, 'before')).toString(), 'before');
    h.eng.pauseListener(id, true);
    const waiting = Array.from({ length: 3 }, (_, i) => roundTrip(port, `waited ${i}`));
    await sleep(200);
    assert.equal(h.selects.length, 1, 'no client was accepted while paused');
    h.eng.pauseListener(id, false);
    const out = await Promise.all(waiting);
    out.forEach((b, i) => assert.equal(b.toString(), `waited ${i}`));
    assert.equal(h.selects.length, 4);
    await h.waitClosed(4);
  } finally { h.destroy(); await be.close(); }
});

test('pausing from inside select stops the accept loop at once', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    const { id, port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    h.choose = () => { h.eng.pauseListener(id, true); return 0; };
    // several clients at once: the first select pauses, the others stay in the backlog
    const clients = Array.from({ length: 4 }, () => net.connect({ port, host: '127.0.0.1' }).on('error', () => {}));
    await sleep(200);
    assert.equal(h.selects.length, 1);
    h.choose = () => 0;
    h.eng.pauseListener(id, false);
    for (let i = 0; i < 100 && h.selects.length < 4; i++) await sleep(10);
    assert.equal(h.selects.length, 4);
    for (const c of clients) c.destroy();
    await h.waitClosed(4);
  } finally { h.destroy(); await be.close(); }
});

test('pauseListener refuses a bad id, a missing listener and a UDP listener', () => {
  const h = harness([]);
  try {
    assert.throws(() => h.eng.pauseListener(-1, true), RangeError);
    assert.throws(() => h.eng.pauseListener(3, true), /no such listener/);
    const { id } = h.eng.listen('udp', '127.0.0.1', 0, 128);
    assert.throws(() => h.eng.pauseListener(id, true), /only a TCP or Unix listener/);
    assert.throws(() => (h.eng.pauseListener as (id: number, p: unknown) => void)(id, 'yes'), TypeError);
  } finally { h.destroy(); }
});
