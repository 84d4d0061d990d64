// The ends of a TCP pair, as the connection drives them: HandleEnd on a libuv stream handle
// (accepted clients, and every connection to a server; see uv.ts for why not net.Socket), how a
// listener hands over its accepted handles (acceptEnds) and how a connect to a server is made
// (connectEnd). With uv.ts, the only module of the TCP path that touches Node's bindings; the
// TLS client end (a TLSSocket's cleartext side) is socket-end.ts.
import type { Server as NetServer } from 'node:net';
import type { Family } from './address.ts';
import {
  PIPE_SOCKET, Pipe, PipeConnectWrap, ShutdownWrap, TCP, TCPConnectWrap, TCP_SOCKET, UV_EOF, WriteWrap,
  kLastWriteWasAsync, kReadBytesOrError, outOfDescriptors, streamBaseState, uvMessage, type ConnectReq,
  type ShutdownReq, type StreamHandle, type WriteReq,
} from './uv.ts';

// the transports word libuv errors through these, and import nothing from uv.ts themselves
export { errorName, outOfDescriptors, uvMessage } from './uv.ts';

/** What an end reports to: the connection pair. */
export interface Pair {
  data(from: End, chunk: Buffer): void;
  eof(from: End): void;
  drained(to: End): void;
  flushed(end: End): void;
  failed(end: End, why: string): void;
  close(): void;
}

/** How much one read may take (Node's own default read size). */
const READ_SIZE = 64 * 1024;
/**
 * Handles read into this one buffer and what they read is copied out at once (into Node's
 * pooled buffers, for small reads), so idle and short-lived connections hold no buffer: a
 * 64 KiB buffer per connection made V8 collect garbage every ~130 ms under `Connection: close`
 * load, for the external memory alone. An end whose reads are bulk gets its own (OWN_BUFFER_AT).
 */
const SHARED_READ = Buffer.allocUnsafeSlow(READ_SIZE);
/** a read larger than this gives the end a buffer of its own, read into and written from without copying */
const OWN_BUFFER_AT = 16 * 1024;

/** One side of a pair, as the connection drives it. */
export interface End {
  readonly closed: boolean;
  /** Start delivering data to conn.data / conn.eof. */
  startReading(): void;
  /** Queue chunk; false when it is not all written yet (conn.drained follows). */
  write(chunk: Buffer): boolean;
  pause(): void;
  resume(): void;
  /** Half-close once queued data is out. */
  shutdown(): void;
  /**
   * Shut down (if not yet), and call conn.flushed(this) once that is done; false, and no call, when nothing
   * is queued.
   */
  finish(): boolean;
  close(): void;
  pending(): number;
  bytesRead(): number;
  bytesWritten(): number;
}

/** A client as a listener hands it over, before it has a connection. */
export interface ClientEnd extends End {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number;
  attach(conn: Pair): void;
}

export interface EndHandle extends StreamHandle {
  end: HandleEnd;
}

interface EndWriteReq extends WriteReq {
  end?: HandleEnd;
}

interface EndShutdownReq extends ShutdownReq {
  end: HandleEnd;
}

/** An end on a libuv handle: an accepted client, or the connection to the server. */
export class HandleEnd implements ClientEnd {
  conn: Pair | null = null;
  closed = false;
  remoteAddress: string | undefined;
  remotePort = 0;
  /** this end's own read buffer, once its reads are bulk */
  private own: Buffer | null = null;
  private writing = 0;
  private shutdownReq: EndShutdownReq | null = null;
  private reading = false;
  private eof = false;
  private finalRead = 0;
  private finalWritten = 0;

  constructor(readonly handle: EndHandle) {
    handle.end = this;
  }

  attach(conn: Pair): void {
    this.conn = conn;
  }

  startReading(): void {
    const h = this.handle;
    h.onread = onHandleRead;
    h.useUserBuffer(SHARED_READ);
    this.resume();
  }

  /** Called with what a read delivered (n bytes in SHARED_READ or in own). */
  read(n: number): Buffer | undefined {
    const conn = this.conn!;
    if (n > 0) {
      const own = this.own;
      if (own !== null) {
        conn.data(this, own.subarray(0, n));
        return undefined;
      }
      conn.data(this, Buffer.from(SHARED_READ.subarray(0, n)));
      if (n <= OWN_BUFFER_AT || this.closed) return undefined;
      this.own = Buffer.allocUnsafeSlow(READ_SIZE);
      return this.own; // the handle reads into this from now on
    }
    if (n === UV_EOF) {
      this.eof = true;
      this.reading = false;
      conn.eof(this);
    } else if (n < 0) {
      conn.failed(this, uvMessage('read', n));
    }
    return undefined;
  }

  write(chunk: Buffer): boolean {
    if (this.closed) return true;
    const req = spareWrite;
    const err = this.handle.writeBuffer(req, chunk);
    if (err !== 0) {
      this.conn!.failed(this, uvMessage('write', err));
      return true;
    }
    if (streamBaseState[kLastWriteWasAsync] === 0) return true;
    // in flight: the request points into chunk until it completes
    req.end = this;
    req.buffer = chunk;
    spareWrite = newWriteReq();
    this.writing += 1;
    return false;
  }

  written(status: number): void {
    this.writing -= 1;
    if (this.closed) return;
    if (status < 0) this.conn!.failed(this, uvMessage('write', status));
    else if (this.writing === 0) this.conn!.drained(this);
  }

  pause(): void {
    if (!this.reading || this.closed) return;
    this.reading = false;
    this.handle.readStop();
  }

  resume(): void {
    if (this.reading || this.eof || this.closed) return;
    this.reading = true;
    const err = this.handle.readStart();
    if (err !== 0) this.conn!.failed(this, uvMessage('read', err));
  }

  shutdown(): void {
    if (this.closed || this.shutdownReq !== null) return;
    // no oncomplete: the pair only needs to hear of it in finish()'s case, which adds one
    const req = new ShutdownWrap() as EndShutdownReq;
    req.end = this;
    // libuv shuts down after the queued writes; a socket that is already gone needs none
    if (this.handle.shutdown(req) === 0) this.shutdownReq = req;
  }

  finish(): boolean {
    if (this.closed || this.handle.writeQueueSize === 0) return false;
    this.shutdown();
    const req = this.shutdownReq;
    if (req === null) return false;
    // still in flight, since it waits for the queue: C++ looks oncomplete up when it completes
    req.oncomplete = onShutdownDone;
    return true;
  }

  pending(): number {
    return this.closed ? 0 : this.handle.writeQueueSize;
  }

  bytesRead(): number {
    return this.closed ? this.finalRead : this.handle.bytesRead;
  }

  bytesWritten(): number {
    return this.closed ? this.finalWritten : this.handle.bytesWritten;
  }

  close(): void {
    if (this.closed) return;
    this.finalRead = this.handle.bytesRead;
    this.finalWritten = this.handle.bytesWritten;
    this.closed = true;
    this.own = null;
    this.handle.close();
  }
}

/**
 * The write request every end passes: a write that completes at once leaves it untouched, so one
 * serves them all; only a write left in flight keeps it, and the next write gets a fresh one.
 */
let spareWrite = newWriteReq();

function newWriteReq(): EndWriteReq {
  const req = new WriteWrap() as EndWriteReq;
  req.oncomplete = onWriteDone;
  return req;
}

// One function each for all handles (this = the handle or request): no closures per connection.
function onHandleRead(this: StreamHandle): Buffer | undefined {
  return (this as EndHandle).end.read(streamBaseState[kReadBytesOrError]!);
}

function onWriteDone(this: WriteReq, status: number): void {
  const req = this as EndWriteReq;
  req.buffer = null;
  req.end!.written(status);
}

function onShutdownDone(this: ShutdownReq): void {
  const end = (this as EndShutdownReq).end;
  if (!end.closed) end.conn!.flushed(end);
}

/** The client end for an accepted handle. */
export function handleClient(handle: StreamHandle, noDelay: boolean): ClientEnd {
  const end = new HandleEnd(handle as EndHandle);
  if (handle.getpeername !== undefined) {
    const peer: { address?: string; port?: number } = {};
    if (handle.getpeername(peer) === 0) {
      end.remoteAddress = peer.address;
      end.remotePort = peer.port ?? 0;
    }
    if (noDelay) handle.setNoDelay?.(true);
  }
  return end;
}

/**
 * Take a plain TCP (or Unix) listener's accepted handles before net wraps them in Sockets: each
 * becomes a ClientEnd; a failed accept is reported with Node's wording, and whether the balancer
 * is out of descriptors.
 */
export function acceptEnds(
  server: NetServer, opts: { tcpNodelay: boolean }, onEnd: (client: ClientEnd) => void,
  onError: (why: string, noDescriptor: boolean) => void,
): void {
  (server as unknown as { _handle: ListeningHandle })._handle.onconnection = (err, handle) => {
    if (err !== 0 || handle === undefined) return onError(uvMessage('accept', err), outOfDescriptors(err));
    onEnd(handleClient(handle, opts.tcpNodelay));
  };
}

interface ListeningHandle {
  onconnection: (err: number, client?: StreamHandle) => void;
}

/** Who hears of a connect's outcome. */
export interface ConnectOwner {
  connectDone(p: PendingConnect, status: number): void;
}

/** A connect in progress: the libuv request itself, so a connect allocates nothing more. */
export interface PendingConnect {
  readonly owner: ConnectOwner;
}

interface PairConnectReq extends ConnectReq, PendingConnect {
  owner: ConnectOwner;
  handle: StreamHandle;
}

/** A connect that could not start: Node's wording, and the libuv error. */
export class ConnectFailure {
  constructor(readonly why: string, readonly status: number) {}

  /** no file descriptor was left: the balancer's condition, not the server's */
  get noDescriptor(): boolean {
    return outOfDescriptors(this.status);
  }
}

/**
 * Start a connect to a server (bound to `source` first when given, for IP servers): the pending
 * connect, whose owner hears connectDone(p, status) once, or why it could not start.
 */
export function connectEnd(
  owner: ConnectOwner, to: { family: Family; address: string; port: number }, source: string | null,
): PendingConnect | ConnectFailure {
  const unix = to.family === 'unix';
  const handle = unix ? new Pipe(PIPE_SOCKET) : new TCP(TCP_SOCKET);
  const req = (unix ? new PipeConnectWrap() : new TCPConnectWrap()) as PairConnectReq;
  req.oncomplete = onConnectDone;
  req.owner = owner;
  req.handle = handle;
  let err: number;
  if (!unix && source !== null) {
    err = to.family === 6 ? handle.bind6!(source, 0, 0) : handle.bind!(source, 0);
    if (err !== 0) return failure(handle, uvMessage('bind', err, source), err);
  }
  if (unix) err = handle.connect(req, to.address);
  else if (to.family === 6) err = handle.connect6!(req, to.address, to.port);
  else err = handle.connect(req, to.address, to.port);
  if (err !== 0) return failure(handle, uvMessage('connect', err, unix ? to.address : `${to.address}:${to.port}`), err);
  return req;
}

function failure(handle: StreamHandle, why: string, err: number): ConnectFailure {
  handle.close();
  return new ConnectFailure(why, err);
}

function onConnectDone(this: ConnectReq, status: number): void {
  const req = this as PairConnectReq;
  req.owner.connectDone(req, status);
}

/**
 * Give up a connect in progress (a timeout, a close); the owner ignores the connectDone (ECANCELED) that may
 * follow.
 */
export function abortConnect(p: PendingConnect): void {
  (p as PairConnectReq).handle.close();
}

/** The end on a connect that completed. */
export function connectedEnd(p: PendingConnect, opts: { tcpNodelay: boolean; keepalive: boolean }): HandleEnd {
  const handle = (p as PairConnectReq).handle;
  if (opts.tcpNodelay) handle.setNoDelay?.(true);
  if (opts.keepalive) handle.setKeepAlive?.(true, 0);
  return new HandleEnd(handle as EndHandle);
}
