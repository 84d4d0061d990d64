// One small prober per health-check kind, as a table keyed by kind. Each resolves when the server
// passes and rejects with a one-line reason when it fails; each is bounded by its timeout and
// closes what it opened either way. Backend sockets bind to `source` when it is set, as the data
// path's do. They run on raw libuv handles, as the data path does, to stay cheap.
import { statusMatches, type HealthCheck, type HealthKind } from '../../shared/health.ts';
import type { Family } from './address.ts';
import {
  PIPE_SOCKET, Pipe, PipeConnectWrap, SendWrap, TCP, TCPConnectWrap, TCP_SOCKET, UDP, UV_EOF, WriteWrap,
  connectUdp, kLastWriteWasAsync, kReadBytesOrError, streamBaseState, uvMessage, type StreamHandle,
} from './uv.ts';

export interface ProbeTarget {
  family: Exclude<Family, 0>;
  address: string;
  port: number;
}

/**
 * Start a check: `settle` is called once, with null when the server passed or the reason it
 * failed. The result stops the check early and closes what it opened (the schedule calls it at
 * the check's timeout: one timer for every check, core/health.ts, rather than one each).
 */
export type Probe = (
  t: ProbeTarget, check: HealthCheck, source: string | null, settle: (error: string | null) => void,
) => (why: string) => void;

/** Callbacks for a check's body; `cleanup` (what the body returns) always runs, exactly once. */
function bounded(
  settle: (error: string | null) => void, body: (ok: () => void, fail: (why: string) => void) => () => void,
): (why: string) => void {
  let done = false;
  let cleanup: (() => void) | null = null;
  const finish = (why: string | null) => {
    if (done) return;
    done = true;
    cleanup?.();
    settle(why);
  };
  const close = body(() => finish(null), (why) => finish(why));
  if (done) close(); // it finished before it could hand over its cleanup
  else cleanup = close;
  return (why) => finish(why);
}

/** A source address only applies to servers of its own family. */
function localAddress(t: ProbeTarget, source: string | null): string | undefined {
  if (source === null || t.family === 'unix') return undefined;
  return source.includes(':') === (t.family === 6) ? source : undefined;
}

/**
 * Close a check's handle. With `reset`, a connected TCP socket closes with an RST rather than a
 * FIN (assumption 11 in core/uv.ts), which leaves no TIME_WAIT socket on either side: the http
 * check does it once it has the server's answer (the server has said all the check waits for).
 * A tcp check closes with a FIN: after an RST the server could not even tell where the check came
 * from (getpeername fails on its accepted socket), and the RST measured no cheaper there. Pipes,
 * and sockets not yet connected (nothing to linger), close plainly.
 */
function closeHandle(handle: StreamHandle, reset: boolean): void {
  if (reset && handle.reset !== undefined) {
    if (handle.reset() === 0) return;
  }
  handle.close(); // after a failed reset this does nothing on Node 20 (see uv.ts): kept for the others
}

/**
 * Connect a raw libuv handle (as the data path does, core/uv.ts: a net.Socket per check cost ~7x
 * more CPU); `connected` gets the open handle. With `onread`, reading starts at once rather than
 * once connected (assumption 12): libuv then registers the socket for both directions in one
 * epoll_ctl, where starting it later cost two (the first failing with EEXIST); a check that reads
 * resets the socket once connected (closeHandle). Returns the handle's close.
 */
function connectRaw(
  t: ProbeTarget, source: string | null, onread: StreamHandle['onread'],
  connected: (h: StreamHandle) => void, fail: (why: string) => void,
): () => void {
  const unix = t.family === 'unix';
  const handle = unix ? new Pipe(PIPE_SOCKET) : new TCP(TCP_SOCKET);
  let state: 'connecting' | 'connected' | 'closed' = 'connecting';
  const close = () => {
    if (state === 'closed') return;
    closeHandle(handle, state === 'connected' && onread !== null);
    state = 'closed';
  };
  const req = unix ? new PipeConnectWrap() : new TCPConnectWrap();
  req.oncomplete = (status) => {
    if (state === 'closed') return;
    if (status !== 0) return void fail(uvMessage('connect', status, unix ? t.address : `${t.address}:${t.port}`));
    state = 'connected';
    connected(handle);
  };
  const local = localAddress(t, source);
  let err = 0;
  if (local !== undefined) err = t.family === 6 ? handle.bind6!(local, 0, 0) : handle.bind!(local, 0);
  if (err !== 0) {
    fail(uvMessage('bind', err, local));
    return close;
  }
  if (unix) err = handle.connect(req, t.address);
  else if (t.family === 6) err = handle.connect6!(req, t.address, t.port);
  else err = handle.connect(req, t.address, t.port);
  if (err !== 0) fail(uvMessage('connect', err, unix ? t.address : `${t.address}:${t.port}`));
  else if (onread !== null) {
    handle.onread = onread;
    handle.useUserBuffer(READ_BUFFER);
    err = handle.readStart();
    if (err !== 0) fail(uvMessage('read', err));
  }
  return close;
}

const tcp: Probe = (t, _check, source, settle) => bounded(settle, (ok, fail) => connectRaw(t, source, null, ok, fail));

/** Where every http check reads its answer: only the status line is looked at, at once. */
const READ_BUFFER = Buffer.allocUnsafe(1024);

/** The request bytes for a path and host, made once (a server asks for the same thing each time). */
const requests = new Map<string, Buffer>();
function requestFor(path: string, t: ProbeTarget): Buffer {
  const key = `${t.address} ${t.port} ${path}`;
  let request = requests.get(key);
  if (request === undefined) {
    if (requests.size >= 10_000) requests.clear(); // servers come and go; the cache must not grow for ever
    const host = t.family === 'unix' ? 'localhost' : t.family === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
    request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: pen-health-check\r\nConnection: close\r\n\r\n`, 'latin1');
    requests.set(key, request);
  }
  return request;
}

const [H, T, P, SLASH, DOT, SPACE, CR, LF, ZERO, NINE] = [...'HTP/. \r\n09'].map((c) => c.charCodeAt(0));
const HTTP_SLASH = [H, T, T, P, SLASH];
const isDigit = (b: number) => b >= ZERO && b <= NINE;

/** Where the first line of b[0, n) ends (its CR LF), or -1. */
function lineEnd(b: Uint8Array, n: number): number {
  for (let i = 0; i + 1 < n; i++) if (b[i] === CR && b[i + 1] === LF) return i;
  return -1;
}

/**
 * The status code of the status line b[0, end) (`HTTP/1.1 200 OK`: what /^HTTP\/\d(?:\.\d)? (\d{3})/
 * matches), or -1 when it is not one. Read from the bytes: no string per check.
 */
export function statusCode(b: Uint8Array, end: number): number {
  let i = 0;
  for (; i < HTTP_SLASH.length; i++) if (i >= end || b[i] !== HTTP_SLASH[i]) return -1;
  if (i >= end || !isDigit(b[i++])) return -1;
  if (i + 1 < end && b[i] === DOT && isDigit(b[i + 1])) i += 2;
  if (i + 4 > end || b[i] !== SPACE || !isDigit(b[i + 1]) || !isDigit(b[i + 2]) || !isDigit(b[i + 3])) return -1;
  return (b[i + 1] - ZERO) * 100 + (b[i + 2] - ZERO) * 10 + (b[i + 3] - ZERO);
}

/**
 * The write request of every check: a request whose write went out at once was not used (assumption 3 in
 * core/uv.ts).
 */
let sharedWrite = new WriteWrap();

const httpProbe: Probe = (t, check, source, settle) => bounded(settle, (ok, fail) => {
  const path = check.path ?? '/';
  const expected = check.status ?? '200';
  let head: Buffer | null = null; // only when the status line comes in pieces: READ_BUFFER is shared
  const onread = function onread(this: StreamHandle): undefined {
    const n = streamBaseState[kReadBytesOrError];
    if (n < 0) return void fail(`http ${path}: ${n === UV_EOF ? 'closed before a status line' : uvMessage('read', n)}`);
    if (head !== null) head = Buffer.concat([head, READ_BUFFER.subarray(0, n)]);
    const bytes = head ?? READ_BUFFER;
    const length = head === null ? n : head.length;
    const eol = lineEnd(bytes, length);
    if (eol < 0 && length < READ_BUFFER.length) {
      head ??= Buffer.from(READ_BUFFER.subarray(0, n));
      return undefined;
    }
    const code = statusCode(bytes, eol < 0 ? length : eol);
    if (code < 0) fail(`http ${path}: not an HTTP answer`);
    else if (statusMatches(expected, code)) ok();
    else fail(`http ${path}: status ${code}, expected ${expected}`);
    return undefined;
  };
  return connectRaw(t, source, onread, (handle) => {
    const request = requestFor(path, t);
    const err = handle.writeBuffer(sharedWrite, request);
    if (err !== 0) fail(`http ${path}: ${uvMessage('write', err)}`);
    else if (streamBaseState[kLastWriteWasAsync] !== 0) {
      sharedWrite.buffer = request; // in flight: it keeps the bytes alive, and the next check gets a new one
      sharedWrite = new WriteWrap();
    }
  }, fail);
});

let queryId = Math.floor(Math.random() * 0x10000);

/** An A query for `name` with recursion desired, as dig sends it. */
export function dnsQuery(name: string, id: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2);
  head.writeUInt16BE(1, 4);
  const labels = name.replace(/\.$/, '').split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

const dns: Probe = (t, check, source, settle) => bounded(settle, (ok, fail) => {
  if (t.family === 'unix') {
    fail('dns: needs an IP server');
    return () => {};
  }
  const v6 = t.family === 6;
  const id = (queryId = (queryId + 1) & 0xffff);
  const handle = new UDP();
  const local = localAddress(t, source);
  let { err, syscall }: { err: number; syscall: string } = connectUdp(handle, v6, local, t.address, t.port);
  if (err === 0) {
    // any reply to our query counts: the server is there and answering; on a connected socket
    // an ICMP port unreachable arrives here as ECONNREFUSED, so a stopped server fails at once
    handle.onmessage = (nread, _h, buf) => {
      if (nread < 0) fail(`dns: ${uvMessage('recvmsg', nread)}`);
      else if (nread >= 12 && buf.readUInt16BE(0) === id && (buf[2] & 0x80) !== 0) ok();
    };
    handle.onerror = () => {};
    syscall = 'recvStart';
    err = handle.recvStart();
  }
  if (err === 0) {
    syscall = 'send';
    const list = [dnsQuery(check.name ?? '.', id)];
    const req = new SendWrap();
    req.list = list; // kept alive while the datagram may wait in libuv's queue
    const sent = handle.send(req, list, 1, false);
    if (sent < 0) err = sent;
  }
  if (err !== 0) fail(`dns: ${uvMessage(syscall, err, syscall === 'bind' ? local : `${t.address}:${t.port}`)}`);
  return () => {
    handle.recvStop();
    handle.close();
  };
});

export const PROBES: Record<HealthKind, Probe> = {
  off: (_t, _c, _s, settle) => bounded(settle, (ok) => { ok(); return () => {}; }),
  tcp,
  http: httpProbe,
  dns,
};
