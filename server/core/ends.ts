// The two ends of a TCP pair, as the connection drives them: HandleEnd on a libuv stream handle
// (accepted clients, and every connection to a server; see uv.ts for why not net.Socket), and
// SocketEnd on the cleartext side of a TLSSocket (node:tls only hands over streams).
import type { Socket } from 'node:net';
import {
  ShutdownWrap, UV_EOF, WriteWrap, kLastWriteWasAsync, kReadBytesOrError, streamBaseState, uvMessage,
  type ShutdownReq, type StreamHandle, type WriteReq,
} from './uv.ts';

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
  /** Shut down (if not yet), and call conn.flushed(this) once that is done; false, and no call, when nothing is queued. */
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

/** The client end of a TLS connection: the cleartext side of a TLSSocket. */
class SocketEnd implements ClientEnd {
  conn: Pair | null = null;
  private waiting = false;

  constructor(readonly socket: Socket) {}

  get closed(): boolean {
    return this.socket.destroyed;
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  attach(conn: Pair): void {
    this.conn = conn;
    const closeNow = () => conn.close();
    this.socket.on('error', closeNow);
    this.socket.on('close', closeNow);
  }

  startReading(): void {
    const conn = this.conn!;
    this.socket.on('data', (chunk: Buffer) => conn.data(this, chunk));
    this.socket.on('end', () => conn.eof(this));
    this.socket.resume();
  }

  write(chunk: Buffer): boolean {
    // the chunk may be the server end's own buffer: it counts as written only once flushed
    this.socket.write(chunk, () => this.flushed());
    if (this.socket.writableLength === 0) return true;
    this.waiting = true;
    return false;
  }

  private flushed(): void {
    if (!this.waiting || this.socket.writableLength !== 0) return;
    this.waiting = false;
    if (!this.socket.destroyed) this.conn!.drained(this);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  shutdown(): void {
    this.socket.end();
  }

  finish(): boolean {
    // TLS always waits for its close_notify to be written
    if (this.socket.writableFinished || this.socket.destroyed) return false;
    this.socket.once('finish', () => this.conn!.flushed(this));
    this.socket.end();
    return true;
  }

  pending(): number {
    return this.socket.writableLength;
  }

  bytesRead(): number {
    return this.socket.bytesRead;
  }

  bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The client end for a TLS socket (tls.ts hands these to the balancer). */
export function socketClient(socket: Socket): ClientEnd {
  return new SocketEnd(socket);
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
