// What server/core/uv.ts relies on in Node's bindings, asserted on the running Node with real
// loopback sockets: one test per numbered assumption in uv.ts's header. A Node upgrade that
// changes any of them fails here rather than in production.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import {
  SendWrap, ShutdownWrap, TCP, TCPConnectWrap, TCP_SOCKET, UDP, UV_EOF, WriteWrap, errorName, kLastWriteWasAsync,
  kReadBytesOrError, streamBaseState, type StreamHandle, type UdpHandle, type WriteReq,
} from '../../server/core/uv.ts';
import { deadPort } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';

const LOOPBACK = '127.0.0.1';
const WAIT_MS = 3000;

/** Resolve with what `arm` reports, or fail after WAIT_MS. */
function within<T>(what: string, arm: (done: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
    arm((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/** A plain net server on loopback whose accepted socket is handed to the test. */
async function peerServer(): Promise<{ port: number; socket: Promise<net.Socket>; close: () => void }> {
  let give!: (s: net.Socket) => void;
  const socket = new Promise<net.Socket>((r) => { give = r; });
  const server = net.createServer({ allowHalfOpen: true }, (s) => give(s));
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, socket, close: () => { server.close(); void socket.then((s) => s.destroy()); } };
}

/** A raw TCP handle connected to port, through a TCPConnectWrap (assumption 6's success case). */
function connectRaw(port: number): Promise<StreamHandle> {
  const handle = new TCP(TCP_SOCKET);
  const req = new TCPConnectWrap();
  return within('connect', (done) => {
    req.oncomplete = (status: number) => {
      assert.equal(status, 0, 'the connect succeeded');
      done(handle);
    };
    assert.equal(handle.connect(req, LOOPBACK, port), 0, 'connect() starts');
  });
}

test('1. process.binding gives the five bindings without a warning, with what uv.ts exports', () => {
  const names = ['tcp_wrap', 'pipe_wrap', 'stream_wrap', 'udp_wrap', 'uv'];
  const r = spawnSync(process.execPath, ['--throw-deprecation', '-e', `for (const n of ${JSON.stringify(names)}) process.binding(n)`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const ctor of [TCP, TCPConnectWrap, WriteWrap, ShutdownWrap, UDP, SendWrap]) assert.equal(typeof ctor, 'function');
  assert.ok(streamBaseState instanceof Int32Array);
  assert.equal(typeof kReadBytesOrError, 'number');
  assert.equal(typeof kLastWriteWasAsync, 'number');
  assert.equal(errorName(UV_EOF), 'EOF');
});

test('2. reads go into the user buffer, the count in streamBaseState, a returned buffer takes the next read, then UV_EOF', async () => {
  const peer = await peerServer();
  const h = await connectRaw(peer.port);
  const first = Buffer.alloc(64);
  const second = Buffer.alloc(64);
  const seen: { n: number; self: boolean; text: string }[] = [];
  const got = within<void>('two reads and EOF', (done) => {
    h.onread = function (this: StreamHandle) {
      const n = nth(streamBaseState, kReadBytesOrError);
      const buf = seen.length === 0 ? first : second;
      seen.push({ n, self: this === h, text: n > 0 ? buf.subarray(0, n).toString() : '' });
      if (n === UV_EOF) done();
      return seen.length === 1 ? second : undefined;
    };
  });
  h.useUserBuffer(first);
  assert.equal(h.readStart(), 0);
  const s = await peer.socket;
  s.write('hello');
  await within('the first read', (done) => { const t = setInterval(() => { if (seen.length > 0) { clearInterval(t); done(undefined); } }, 5); });
  s.end('world');
  await got;
  assert.deepEqual(seen, [
    { n: 5, self: true, text: 'hello' },
    { n: 5, self: true, text: 'world' },
    { n: UV_EOF, self: true, text: '' },
  ]);
  assert.equal(h.bytesRead, 10, '8. bytesRead counts what was read');
  h.close();
  peer.close();
});

test('3. a small write completes at once: kLastWriteWasAsync is 0 and the request is not called', async () => {
  const peer = await peerServer();
  const h = await connectRaw(peer.port);
  const s = await peer.socket;
  let completions = 0;
  const req: WriteReq = new WriteWrap();
  req.oncomplete = () => { completions += 1; };
  const received = within<string>('the bytes at the peer', (done) => { let text = ''; s.on('data', (d) => { text += d; if (text.length === 2) done(text); }); });
  for (const chunk of ['a', 'b']) {
    assert.equal(h.writeBuffer(req, Buffer.from(chunk)), 0);
    assert.equal(streamBaseState[kLastWriteWasAsync], 0, 'written at once');
  }
  assert.equal(await received, 'ab', 'the one request served both writes');
  await new Promise((r) => setImmediate(r));
  assert.equal(completions, 0, 'a write that completed at once calls nothing');
  assert.equal(h.bytesWritten, 2, '8. bytesWritten counts what was written');
  h.close();
  peer.close();
});

test('4. a write the kernel cannot take at once is queued, counted in writeQueueSize, and completes later', async () => {
  const peer = await peerServer();
  const h = await connectRaw(peer.port);
  const s = await peer.socket;
  s.pause();
  const big = Buffer.alloc(64 * 1024 * 1024, 1);
  const req: WriteReq = new WriteWrap();
  const completed = within<{ status: number; self: boolean }>('the queued write', (done) => {
    req.oncomplete = function (this: WriteReq, status: number) { done({ status, self: this === req }); };
  });
  assert.equal(h.writeBuffer(req, big), 0);
  assert.equal(streamBaseState[kLastWriteWasAsync], 1, 'in flight');
  assert.ok(h.writeQueueSize > 0, 'the rest waits in libuv');
  s.resume();
  assert.deepEqual(await completed, { status: 0, self: true });
  assert.equal(h.writeQueueSize, 0);
  h.close();
  peer.close();
});

test('5. a request without oncomplete completes silently; a waiting shutdown finds an oncomplete set later', async () => {
  const peer = await peerServer();
  const h = await connectRaw(peer.port);
  const s = await peer.socket;
  // no oncomplete at all: the peer sees the FIN and nothing throws
  const ended = within<void>('EOF at the peer', (done) => s.on('end', () => done()));
  s.resume();
  assert.equal(h.shutdown(new ShutdownWrap()), 0);
  await ended;
  await new Promise((r) => setImmediate(r));
  h.close();
  peer.close();
  // behind a queued write, an oncomplete added after shutdown() is called
  const peer2 = await peerServer();
  const h3 = await connectRaw(peer2.port);
  const s3 = await peer2.socket;
  s3.pause();
  const w: WriteReq = new WriteWrap();
  w.oncomplete = () => {};
  h3.writeBuffer(w, Buffer.alloc(64 * 1024 * 1024, 2));
  assert.equal(streamBaseState[kLastWriteWasAsync], 1);
  const sreq: { oncomplete?: (status: number) => void } = new ShutdownWrap();
  assert.equal(h3.shutdown(sreq), 0);
  const shut = within<number>('the late oncomplete', (done) => { sreq.oncomplete = (status) => done(status); });
  s3.resume();
  assert.equal(await shut, 0);
  h3.close();
  peer2.close();
});

test('6. a connect to a closed port completes with ECONNREFUSED', async () => {
  const port = await deadPort();
  const handle = new TCP(TCP_SOCKET);
  const req = new TCPConnectWrap();
  const status = await within<number>('the refused connect', (done) => {
    req.oncomplete = (s: number) => done(s);
    assert.equal(handle.connect(req, LOOPBACK, port), 0);
  });
  assert.ok(status < 0);
  assert.equal(errorName(status), 'ECONNREFUSED');
  handle.close();
});

test('7. a listening net.Server hands its raw accepted handles to a replaced onconnection', async () => {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = within<{ err: number; handle: StreamHandle }>('the accepted handle', (done) => {
    type Listening = { _handle: { onconnection: (err: number, h: StreamHandle) => void } };
    (server as unknown as Listening)._handle.onconnection = (err, handle) => done({ err, handle });
  });
  const client = net.connect(port, LOOPBACK);
  await new Promise((r) => client.once('connect', r));
  const { err, handle } = await accepted;
  assert.equal(err, 0);
  const peer: { address?: string; port?: number } = {};
  assert.equal(handle.getpeername!(peer), 0);
  assert.deepEqual(peer.address, LOOPBACK);
  assert.equal(peer.port, client.localPort);
  handle.close();
  client.destroy();
  server.close();
});

test('9. UDP: synchronous bind and connect, send returns bytes + 1 at once, onmessage gets datagrams and ECONNREFUSED', async () => {
  const echo = dgram.createSocket('udp4');
  echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((r) => echo.bind(0, LOOPBACK, r));
  const up: UdpHandle = new UDP();
  assert.equal(up.bind(LOOPBACK, 0, 0), 0);
  assert.equal(up.connect(LOOPBACK, echo.address().port), 0);
  const reply = within<{ nread: number; text: string; self: boolean }>('the echo', (done) => {
    up.onmessage = (nread, handle, buf) => done({ nread, text: buf.toString(), self: handle === up });
  });
  assert.equal(up.recvStart(), 0);
  const msg = Buffer.from('ping');
  const req = new SendWrap();
  req.list = [msg];
  assert.equal(up.send(req, req.list, 1, false), msg.length + 1, 'sent at once');
  assert.deepEqual(await reply, { nread: 4, text: 'ping', self: true });
  up.recvStop();
  up.close();
  echo.close();
  // a connected handle hears the ICMP port unreachable of a closed port as a receive error
  const gone = dgram.createSocket('udp4');
  await new Promise<void>((r) => gone.bind(0, LOOPBACK, r));
  const closedPort = gone.address().port;
  await new Promise<void>((r) => gone.close(() => r()));
  const lost: UdpHandle = new UDP();
  assert.equal(lost.connect(LOOPBACK, closedPort), 0);
  const refused = within<number>('ECONNREFUSED', (done) => { lost.onmessage = (nread) => done(nread); });
  lost.recvStart();
  const r2 = new SendWrap();
  r2.list = [msg];
  lost.send(r2, r2.list, 1, false);
  assert.equal(errorName(await refused), 'ECONNREFUSED');
  lost.recvStop();
  lost.close();
});

test('10. bufferSize(0, true, ctx) returns the receive buffer size', () => {
  const h: UdpHandle = new UDP();
  assert.equal(h.bind(LOOPBACK, 0, 0), 0);
  const size = h.bufferSize(0, true, {});
  assert.equal(typeof size, 'number');
  assert.ok((size ?? 0) > 0);
  h.close();
});

test('11. reset() closes a connected TCP handle with an RST: 0, the callback runs, the peer sees ECONNRESET', async () => {
  const peer = await peerServer();
  const h = await connectRaw(peer.port);
  const s = await peer.socket;
  const peerSaw = within<string>('the RST at the peer', (done) => {
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    s.on('end', () => done('a FIN'));
  });
  assert.equal(typeof h.reset, 'function');
  const closed = within<void>('the reset callback', (done) => assert.equal(h.reset!(() => done()), 0));
  await closed;
  assert.equal(await peerSaw, 'ECONNRESET');
  peer.close();
});

test('12. readStart() right after connect() returned, before it completes, reads once connected', async () => {
  const peer = await peerServer();
  const h = new TCP(TCP_SOCKET);
  const req = new TCPConnectWrap();
  const buf = Buffer.alloc(64);
  const connected = within<number>('connect', (done) => { req.oncomplete = (status: number) => done(status); });
  const read = within<string>('the first read', (done) => {
    h.onread = () => {
      const n = nth(streamBaseState, kReadBytesOrError);
      done(n > 0 ? buf.toString('latin1', 0, n) : `error ${n}`);
      return undefined;
    };
  });
  assert.equal(h.connect(req, LOOPBACK, peer.port), 0);
  h.useUserBuffer(buf);
  assert.equal(h.readStart(), 0, 'reading may start while connecting');
  assert.equal(await connected, 0);
  (await peer.socket).write('hi');
  assert.equal(await read, 'hi');
  h.close();
  peer.close();
});
