// The http check, on one kept HTTP/1.1 connection per server: each check sends its GET on the
// connection the last one left open, and passes or fails by the status line that comes back, so
// every check still proves the server answers now. A connect, its handshake and the close were
// most of what a check cost (docs/performance.md); a request on an open connection is a write
// and a read. The connection is kept only while each answer is framed: HTTP/1.1, a
// Content-Length (none for 204 and 304), no Transfer-Encoding, no `Connection: close`, nothing
// past its body. Anything else, an error, a close from the server, or a check that ends without
// an answer (its timeout) lets it go, and the next check connects afresh, exactly as every check
// did before. A request on a reused connection that the server closed before a byte of answer
// (it timed the connection out as the request went) is sent once more on a new one, as HTTP
// clients do for an idempotent request.
import { statusMatches } from '../../shared/health.ts';
import { READ_BUFFER, bounded, connectRaw, type Probe, type ProbeTarget, type Prober } from './probe-io.ts';
import { UV_EOF, WriteWrap, kLastWriteWasAsync, kReadBytesOrError, streamBaseState, uvMessage, type StreamHandle } from './uv.ts';

/** The request bytes for a path and host, made once (a server asks for the same thing each time). */
const requests = new Map<string, Buffer>();
function requestFor(path: string, t: ProbeTarget): Buffer {
  const key = `${t.address} ${t.port} ${path}`;
  let request = requests.get(key);
  if (request === undefined) {
    if (requests.size >= 10_000) requests.clear(); // servers come and go; the cache must not grow for ever
    const host = t.family === 'unix' ? 'localhost' : t.family === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
    request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: pen-health-check\r\n\r\n`, 'latin1');
    requests.set(key, request);
  }
  return request;
}

const code = (c: string) => c.charCodeAt(0);
const [DOT, SPACE, TAB, CR, LF, ZERO, NINE, COLON, COMMA] =
  [0x2e, 0x20, 0x09, 0x0d, 0x0a, 0x30, 0x39, 0x3a, 0x2c] as const;
const bytesOf = (s: string) => [...s].map(code);
const HTTP_SLASH = bytesOf('HTTP/');
// a read past the end is undefined (noUncheckedIndexedAccess): neither a digit nor any letter
const isDigit = (b: number | undefined) => b !== undefined && b >= ZERO && b <= NINE;
const lower = (b: number | undefined) => (b === undefined ? -1 : b >= 65 && b <= 90 ? b + 32 : b);
const CONTENT_LENGTH = bytesOf('content-length');
const TRANSFER_ENCODING = bytesOf('transfer-encoding');
const CONNECTION = bytesOf('connection');
const CLOSE = bytesOf('close');
/** Past this a head is not a health check's answer (and is not held). */
const MAX_HEAD = 8192;

/** Where the first CR LF of b[from, n) is, or -1. */
function crlf(b: Uint8Array, from: number, n: number): number {
  for (let i = from; i + 1 < n; i++) if (b[i] === CR && b[i + 1] === LF) return i;
  return -1;
}

/** Where the head of b[0, n) ends (the CR LF of its empty line), or -1. */
export function headEnd(b: Uint8Array, n: number): number {
  for (let i = crlf(b, 0, n); i >= 0; i = crlf(b, i + 2, n)) {
    if (i + 3 < n && b[i + 2] === CR && b[i + 3] === LF) return i + 2;
  }
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
  // the three digits were just checked, so they are there
  return (b[i + 1]! - ZERO) * 100 + (b[i + 2]! - ZERO) * 10 + (b[i + 3]! - ZERO);
}

/** Does b[from, to) start with the lower-case name `name` followed by a colon? */
function isHeader(b: Uint8Array, from: number, to: number, name: number[]): boolean {
  if (to - from <= name.length || b[from + name.length] !== COLON) return false;
  for (let i = 0; i < name.length; i++) if (lower(b[from + i]) !== name[i]) return false;
  return true;
}

/** Is `token` one of the comma-separated values in b[from, to) (case aside)? */
function hasToken(b: Uint8Array, from: number, to: number, token: number[]): boolean {
  for (let i = from; i < to;) {
    while (i < to && (b[i] === SPACE || b[i] === TAB || b[i] === COMMA)) i++;
    let j = 0;
    while (j < token.length && i + j < to && lower(b[i + j]) === token[j]) j++;
    let k = i + j;
    if (j === token.length) {
      while (k < to && (b[k] === SPACE || b[k] === TAB)) k++;
      if (k === to || b[k] === COMMA) return true;
    }
    while (i < to && b[i] !== COMMA) i++;
  }
  return false;
}

/**
 * How many body bytes follow the head b[0, end + 2) (end: from headEnd) when the answer can be
 * framed, or -1 when it cannot (the connection is then not kept).
 */
export function bodyLength(b: Uint8Array, end: number): number {
  const status = statusCode(b, end);
  // HTTP/1.1 only: a 1.0 server closes unless asked not to; a 1xx is not the answer yet
  if (b[5] !== code('1') || b[6] !== DOT || b[7] !== code('1') || b[8] !== SPACE || status < 200) return -1;
  let length = -1;
  for (let from = crlf(b, 0, end) + 2; from < end;) {
    const to = crlf(b, from, end);
    if (isHeader(b, from, to, TRANSFER_ENCODING)) return -1;
    if (isHeader(b, from, to, CONNECTION) && hasToken(b, from + CONNECTION.length + 1, to, CLOSE)) return -1;
    if (isHeader(b, from, to, CONTENT_LENGTH)) {
      let i = from + CONTENT_LENGTH.length + 1;
      let j = to;
      while (i < j && (b[i] === SPACE || b[i] === TAB)) i++;
      while (j > i && (b[j - 1] === SPACE || b[j - 1] === TAB)) j--;
      if (i === j || j - i > 9) return -1;
      let n = 0;
      for (; i < j; i++) {
        if (!isDigit(b[i])) return -1;
        n = n * 10 + b[i]! - ZERO; // a digit: checked above
      }
      if (length >= 0 && n !== length) return -1;
      length = n;
    }
    from = to + 2;
  }
  return status === 204 || status === 304 ? 0 : length;
}

/**
 * The write request of every check: a request whose write went out at once was not used
 * (assumption 3 in core/uv.ts).
 */
let sharedWrite = new WriteWrap();

/** A check waiting for its status line. */
interface Waiting {
  t: ProbeTarget;
  source: string | null;
  path: string;
  expected: string;
  /** sent on a connection that had answered before (so a close before any answer is retried once) */
  reused: boolean;
  ok(): void;
  fail(why: string): void;
}

/**
 * One server's http checks and the connection they keep. `phase` is where the current answer
 * is: its status line, the rest of its head, its body, or done (`idle`: a request may go).
 */
class KeptHttp implements Prober {
  private handle: StreamHandle | null = null; // connected
  private closeConn: (() => void) | null = null; // connected or connecting
  private generation = 0; // which connection callbacks belong to
  private source: string | null = null;
  private phase: 'status' | 'head' | 'body' | 'idle' = 'idle';
  private pending: Buffer | null = null; // a head that came in pieces (READ_BUFFER is shared)
  private bodyLeft = 0;
  private waiting: Waiting | null = null;

  run: Probe = (t, check, source, settle) => bounded(settle, (ok, fail) => {
    const path = check.path ?? '/';
    const w: Waiting = { t, source, path, expected: check.status ?? '200', reused: false, ok, fail };
    this.waiting = w;
    if (this.handle !== null && this.phase === 'idle' && this.source === source) {
      w.reused = true;
      this.send(w);
    } else {
      this.connect(w);
    }
    return () => {
      if (this.waiting !== w) return;
      this.waiting = null; // it ended unanswered (its timeout, or it was stopped): the connection goes too
      this.drop();
    };
  });

  close(): void {
    this.waiting = null;
    this.drop();
  }

  private drop(): void {
    const close = this.closeConn;
    this.generation++;
    this.handle = null;
    this.closeConn = null;
    this.phase = 'idle';
    this.pending = null;
    close?.();
  }

  private connect(w: Waiting): void {
    this.drop();
    const generation = this.generation;
    const mine = () => this.generation === generation;
    const read = (n: number) => this.read(n);
    this.source = w.source;
    const close = connectRaw(w.t, w.source, function onread(this: StreamHandle): undefined {
      if (mine()) read(streamBaseState[kReadBytesOrError]!); // a slot of Node's stream state, as in ends.ts
      return undefined;
    }, (handle) => {
      if (!mine()) return;
      this.handle = handle;
      this.send(w);
    }, (why) => {
      if (mine()) this.settle(why);
    });
    if (mine()) this.closeConn = close;
    else close(); // it failed at once
  }

  private send(w: Waiting): void {
    const request = requestFor(w.path, w.t);
    this.phase = 'status';
    const err = this.handle!.writeBuffer(sharedWrite, request);
    if (err !== 0) this.lost(err, 'write');
    else if (streamBaseState[kLastWriteWasAsync] !== 0) {
      sharedWrite.buffer = request; // in flight: it keeps the bytes alive, and the next check gets a new one
      sharedWrite = new WriteWrap();
    }
  }

  /** Give the waiting check its result; a failure, or no check waiting, drops the connection first. */
  private settle(why: string | null): void {
    const w = this.waiting;
    this.waiting = null;
    if (why !== null) this.drop();
    if (why === null) w?.ok();
    else w?.fail(why);
  }

  /** The connection ended (EOF, or a read or write error). */
  private lost(status: number, syscall: string): void {
    const w = this.waiting;
    if (w !== null && w.reused && this.phase === 'status' && this.pending === null) {
      w.reused = false; // closed as the request went: once more, on a new connection
      return this.connect(w);
    }
    if (this.phase !== 'status' || w === null) return this.drop(); // between answers, or after one
    this.settle(`http ${w.path}: ${status === UV_EOF ? 'closed before a status line' : uvMessage(syscall, status)}`);
  }

  private read(n: number): void {
    if (n < 0) return this.lost(n, 'read');
    if (this.phase === 'body') {
      if (n > this.bodyLeft) return this.drop(); // more than the answer: not framed as we thought
      this.bodyLeft -= n;
      if (this.bodyLeft === 0) this.phase = 'idle';
      return;
    }
    if (this.phase === 'idle') return this.drop(); // nothing was asked
    if (this.pending !== null) this.pending = Buffer.concat([this.pending, READ_BUFFER.subarray(0, n)]);
    const b = this.pending ?? READ_BUFFER;
    const length = this.pending?.length ?? n;
    let verdict: string | null | undefined; // undefined: nothing to tell the waiting check yet
    if (this.phase === 'status') {
      const eol = crlf(b, 0, length);
      if (eol < 0 && length < READ_BUFFER.length) return this.hold(n);
      const status = statusCode(b, eol < 0 ? length : eol);
      const w = this.waiting!;
      if (status < 0) return this.settle(`http ${w.path}: not an HTTP answer`);
      verdict = statusMatches(w.expected, status) ? null : `http ${w.path}: status ${status}, expected ${w.expected}`;
      this.phase = 'head';
    }
    this.frame(b, length, n);
    if (verdict === undefined) return;
    const w = this.waiting!;
    this.waiting = null;
    if (verdict === null) w.ok();
    else w.fail(verdict); // the server answered: its connection stays if the answer was framed
  }

  /** With the head in b[0, length): keep reading its body, or drop the connection when it cannot be framed. */
  private frame(b: Buffer, length: number, n: number): void {
    const end = headEnd(b, length);
    if (end < 0) {
      if (length > MAX_HEAD) this.drop();
      else if (this.pending === null) this.hold(n);
      return;
    }
    const body = bodyLength(b, end);
    const after = length - (end + 2);
    this.pending = null;
    if (body < 0 || after > body) return this.drop();
    this.bodyLeft = body - after;
    this.phase = this.bodyLeft === 0 ? 'idle' : 'body';
  }

  /** Keep the first n bytes of READ_BUFFER until the rest of the head comes. */
  private hold(n: number): void {
    this.pending ??= Buffer.from(READ_BUFFER.subarray(0, n));
  }
}

export const httpProber = (): Prober => new KeptHttp();
