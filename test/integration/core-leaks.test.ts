// Sockets and timers are released: after a burst of connections, good and failed, pen is back
// to the file descriptors it started with and its counters are back to zero.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { deadPort, freePort, get, httpBackend, sleep } from '../helpers/backends.ts';
import { startPen } from '../helpers/pen.ts';

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

test('connections that end, fail over or are reset leave no socket behind', async () => {
  const a = await httpBackend('A');
  const dead = await deadPort();
  const port = await freePort();
  const pen = await startPen(['-r', '-b', '1', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${dead}`], { waitPort: port });
  try {
    // one round first: what the process opens once, on first use, is no leak (libuv's reserve
    // descriptor for EMFILE comes with the first stream handle; on the native path that is stderr's,
    // when the first blacklisting line is written)
    await Promise.all(Array.from({ length: 4 }, () => get(port)));
    await sleep(1100);
    const before = fds(pen.child.pid!);
    for (let round = 0; round < 3; round++) {
      const bodies = await Promise.all(Array.from({ length: 20 }, () => get(port)));
      assert.ok(bodies.every((b) => b === 'A'), `every request is served: ${bodies.join(',')}`);
      // clients that reset mid-way
      await Promise.all(Array.from({ length: 10 }, () => new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => { s.resetAndDestroy(); resolve(); });
        s.on('error', () => resolve());
      })));
      await sleep(1100); // let the dead server's blacklisting lapse so it is tried (and fails) again
    }
    await sleep(500);
    assert.ok(fds(pen.child.pid!) <= before, `fds back to ${before}, now ${fds(pen.child.pid!)}`);
    pen.child.kill('SIGUSR1');
    await sleep(300);
    const stats = pen.stderr();
    const last = stats.slice(stats.lastIndexOf('Time '));
    assert.match(last, /Server 0 status:\n[^]*?\n0 connections/);
    assert.match(last, /Active connections:\n?$/);
  } finally {
    await pen.stop();
    await a.close();
  }
});
