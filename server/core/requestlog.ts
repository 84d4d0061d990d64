// pen's -l request log: one line per chunk read from the client, to a file or as UDP datagrams.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { closeSync, writeSync } from 'node:fs';
import { PenError } from './errors.ts';
import { FileError, openAppend } from './files.ts';

function requestField(chunk: Buffer, max: number): string {
  let out = '';
  const end = Math.min(chunk.length, max);
  for (let i = 0; i < end; i++) {
    const b = chunk[i];
    if (b === 13 || b === 10) break;
    out += b >= 0x80 ? '.' : String.fromCharCode(b);
  }
  return out;
}

export class RequestLog {
  private fd: number | null = null;
  private udp: UdpSocket | null = null;
  private udpHost = '';
  private udpPort = 0;
  /** lines lost because the disk was full or a FIFO's reader lagged (the write would have waited) */
  dropped = 0;

  constructor(readonly target: string) {
    const i = target.lastIndexOf(':');
    if (i > 0 && !target.startsWith('/')) {
      this.udpHost = target.slice(0, i);
      this.udpPort = Number(target.slice(i + 1));
      if (!this.udpPort) throw new PenError('PEN_ERR_IO', `Bogus host ${target}`);
      this.udp = createSocket('udp4');
      this.udp.on('error', () => {});
      this.udp.unref();
    } else {
      this.open();
    }
  }

  /** Non-blocking, and only what a log can be (see openAppend): a FIFO nobody reads is refused here. */
  private open(): void {
    try {
      this.fd = openAppend(this.target).fd;
    } catch (err) {
      const why = err instanceof FileError ? err.reason : (err as Error).message;
      throw new PenError('PEN_ERR_IO', `Can't open logfile ${this.target}: ${why}`);
    }
  }

  /** SIGHUP: close and reopen the file (log rotation). */
  reopen(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    this.open();
  }

  write(clientIp: string, serverIp: string, chunk: Buffer): void {
    if (this.udp) {
      const line = `+ ${clientIp} ${serverIp} ${requestField(chunk, 1024)}\n`.slice(0, 1024);
      this.udp.send(line, this.udpPort, this.udpHost);
    } else if (this.fd !== null) {
      const line = `${clientIp} ${Math.floor(Date.now() / 1000)} ${serverIp} ${requestField(chunk, 100)}\n`;
      try {
        // the descriptor is O_NONBLOCK: a full pipe answers EAGAIN rather than stopping the balancer.
        // A line is at most ~150 bytes, under PIPE_BUF, so it goes in whole or not at all.
        writeSync(this.fd, line);
      } catch {
        this.dropped += 1; // disk full, or a reader that lags: keep forwarding
      }
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.udp?.close();
    this.udp = null;
  }
}
