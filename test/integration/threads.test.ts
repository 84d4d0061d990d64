// --threads N: on the native data path a plain TCP listener hands connected pairs to N - 1
// forwarding threads ("pen-fwd"); the choice of server stays pen's (round robin here, -r), and
// connections that other settings keep on the TypeScript path get no threads at all.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { freePort, get, hold, httpBackend, tcpBackend } from '../helpers/backends.ts';
import { runPen, startPen } from '../helpers/pen.ts';
import { loadNative } from '../../server/core/native.ts';

const native = !('error' in loadNative()) && process.env.PEN_DATAPATH !== 'portable';

/** threads of pid named pen-fwd (the addon's forwarding threads) */
function forwarders(pid: number): number {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { if (readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'pen-fwd') n += 1; } catch { /* gone */ }
  }
  return n;
}

test('--threads 3: two forwarding threads on the native path, round robin kept, every request answered', async () => {
  const [a, b] = [await httpBackend('A'), await httpBackend('B')];
  const port = await freePort();
  const pen = await startPen(['-r', '--threads', '3', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], { waitPort: port });
  try {
    const bodies: string[] = [];
    for (let i = 0; i < 20; i++) bodies.push(await get(port));
    assert.deepEqual(bodies, Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'B' : 'A')));   // pen's round robin starts past server 0
    const many = await Promise.all(Array.from({ length: 40 }, () => get(port)));
    assert.equal(many.filter((x) => x === 'A').length, 20);
    assert.equal(many.filter((x) => x === 'B').length, 20);
    assert.equal(forwarders(pen.child.pid!), native ? 2 : 0);
  } finally {
    await pen.stop();
    await a.close();
    await b.close();
  }
});

test('--threads 2: a held connection lives on a worker and ends when pen stops', async () => {
  const be = await tcpBackend('T');
  const port = await freePort();
  const pen = await startPen(['--threads', '2', `127.0.0.1:${port}`, `127.0.0.1:${be.port}`], { waitPort: port });
  const { socket, greeting } = await hold(port);
  try {
    assert.equal(greeting, 'T');
    assert.equal(forwarders(pen.child.pid!), native ? 1 : 0);
  } finally {
    const closed = new Promise((r) => socket.once('close', r));
    assert.equal(await pen.stop(), 0);
    await closed;
    await be.close();
  }
});

test('--threads: a bad value stops pen with the range', () => {
  for (const bad of ['0', '65', 'x']) {
    const r = runPen([`--threads=${bad}`, '-f', '127.0.0.1:1', '127.0.0.1:2']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--threads: expected a whole number from 1 to 64/);
  }
});
