// Bulk data through pen, both ways, past readers that stall: every byte arrives, in order. These
// drive the paths a short request never takes: reads big enough to give an end its own buffer,
// and writes the kernel cannot take at once, which must stop the other end reading until they
// drain (else the buffer they point into would be overwritten).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import { freePort, sleep } from '../helpers/backends.ts';
import { startPen } from '../helpers/pen.ts';

const SIZE = 24 * 1024 * 1024;

/** SIZE bytes that differ from chunk to chunk, so a reordered or repeated chunk is caught. */
function pattern(): Buffer {
  const b = Buffer.allocUnsafe(SIZE);
  for (let i = 0; i < SIZE; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
}

const sha = (b: Buffer | Buffer[]) => {
  const h = createHash('sha256');
  for (const x of Array.isArray(b) ? b : [b]) h.update(x);
  return h.digest('hex');
};

/** Read a socket to its end, stopping for `stallMs` after every `every` bytes. */
function slowRead(s: net.Socket, every: number, stallMs: number, deadline: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let since = 0;
    const timer = setTimeout(() => reject(new Error('read did not finish in time')), deadline);
    s.on('data', (d: Buffer) => {
      parts.push(d);
      since += d.length;
      if (since >= every) {
        since = 0;
        s.pause();
        setTimeout(() => s.resume(), stallMs);
      }
    });
    s.on('end', () => { clearTimeout(timer); resolve(parts); });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

test('a download to a client that keeps stalling arrives whole and in order', async () => {
  const data = pattern();
  const errors: Error[] = [];
  let accepted = 0;
  const backend = net.createServer((s) => {
    accepted += 1;
    s.on('error', (e) => errors.push(e));
    s.end(data);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = await freePort();
  const pen = await startPen([`127.0.0.1:${port}`, `127.0.0.1:${(backend.address() as net.AddressInfo).port}`], { waitPort: port });
  try {
    const client = net.connect(port, '127.0.0.1');
    const parts = await slowRead(client, 4 * 1024 * 1024, 150, 20000);
    assert.equal(parts.reduce((n, p) => n + p.length, 0), SIZE);
    assert.equal(sha(parts), sha(data));
    assert.equal(accepted, 1, 'the backend served this one client and nothing else');
    assert.deepEqual(errors, []);
  } finally {
    await pen.stop();
    backend.close();
  }
});

test('an upload to a server that keeps stalling arrives whole, and its answer comes back', async () => {
  const data = pattern();
  const backend = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    slowRead(s, 4 * 1024 * 1024, 150, 20000).then(
      (parts) => s.end(`${parts.reduce((n, p) => n + p.length, 0)} ${sha(parts)}`),
      () => s.destroy(),
    );
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = await freePort();
  const pen = await startPen([`127.0.0.1:${port}`, `127.0.0.1:${(backend.address() as net.AddressInfo).port}`], { waitPort: port });
  try {
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    // small writes first (copied out of the shared buffer), then the rest at once (bulk reads)
    for (let i = 0; i < 64; i++) client.write(data.subarray(i * 100, (i + 1) * 100));
    await sleep(50);
    client.end(data.subarray(6400));
    const reply = Buffer.concat(await slowRead(client, SIZE, 0, 20000)).toString();
    assert.equal(reply, `${SIZE} ${sha(data)}`);
  } finally {
    await pen.stop();
    backend.close();
  }
});
