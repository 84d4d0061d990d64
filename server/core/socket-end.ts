// The client end of a TLS connection: the cleartext side of a TLSSocket (node:tls only hands
// over streams), driven through the same End interface as a libuv handle (ends.ts).
import type { Socket } from 'node:net';
import type { ClientEnd, Pair } from './ends.ts';

/** The client end of a TLS connection: the cleartext side of a TLSSocket. */
export class SocketEnd implements ClientEnd {
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
