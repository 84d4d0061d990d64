// pen's -l request log: one line per chunk read from the client, to a file or as UDP datagrams.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { closeSync, openSync, writeSync } from 'node:fs';
import { PenError } from './errors.ts';

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

  private open(): void {
    try {
      this.fd = openSync(this.target, 'a');
    } catch {
      throw new PenError('PEN_ERR_IO', `Can't open logfile ${this.target}`);
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
        writeSync(this.fd, line);
      } catch { /* disk full: keep forwarding */ }
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.udp?.close();
    this.udp = null;
  }
}
