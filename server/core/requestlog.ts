// pen's -l request log: one line per chunk read from the client, to a file or as UDP datagrams.
//
// A file log is written off the data path: lines collect in memory and go out together, FLUSH_MS
// after the first of them (sooner once FLUSH_BYTES wait), through libuv's thread pool, so neither a
// slow disk nor a FIFO whose reader lags makes a client wait. What waits is bounded by
// BUFFER_MAX_BYTES; lines past that are dropped and counted (RequestLog.dropped, and
// requestLogDropped() for the snapshot). pen's own log is stdio-buffered: its lines reach the file
// 4 KB at a time, so a line that arrives some milliseconds later is no change a reader can rely on.
// (A write per loop turn cost more CPU per request than the writeSync per line it replaced: the
// thread pool's hand-off, paid per turn; one write per FLUSH_MS costs less than either.)
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { closeSync, write, writeSync } from 'node:fs';
import { PenError } from './errors.ts';
import { FileError, openAppend } from './files.ts';

const FLUSH_MS = 20;
const FLUSH_BYTES = 64 * 1024;
const BUFFER_MAX_BYTES = 1024 * 1024;
/** a FIFO whose reader is full (EAGAIN): wait this long before the next write */
const RETRY_MS = 20;

let droppedTotal = 0;

/** Request-log lines dropped in this process, over every log it has had (the snapshot's counter). */
export function requestLogDropped(): number {
  return droppedTotal;
}

function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function requestField(chunk: Buffer, max: number): string {
  let out = '';
  const end = Math.min(chunk.length, max);
  for (const b of chunk.subarray(0, end)) {
    if (b === 13 || b === 10) break;
    out += b >= 0x80 ? '.' : String.fromCharCode(b);
  }
  return out;
}

/**
 * Lines for one open descriptor, written in order with at most one write in flight. close()
 * lets that write finish before the descriptor is closed (closing under it could write into
 * whatever file gets the number next), then writes the rest synchronously, once.
 */
class FileSink {
  /** lines not yet handed to a write (ASCII only, so length is bytes) */
  private pending: string[] = [];
  private pendingBytes = 0;
  /** the text of the write in flight, or waiting for its retry */
  private inFlight = '';
  private busy = false;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private readonly done: Promise<void>;
  private finish: () => void = () => {};

  constructor(
    private readonly fd: number,
    private readonly onDrop: (lines: number) => void,
    private readonly max = BUFFER_MAX_BYTES,
  ) {
    this.done = new Promise((resolve) => { this.finish = resolve; });
  }

  add(line: string): void {
    if (this.closing) return;
    if (this.pendingBytes + this.inFlight.length + line.length > this.max) {
      this.onDrop(1); // the disk or the FIFO's reader has not kept up with the last max bytes
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => { this.timer = null; this.flush(); }, FLUSH_MS);
      this.timer.unref(); // close() writes whatever is left
    }
  }

  private flush(): void {
    if (this.busy || this.pending.length === 0) return;
    this.inFlight = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.writeInFlight();
  }

  private writeInFlight(): void {
    this.busy = true;
    write(this.fd, this.inFlight, null, 'latin1', (err, written) => {
      const full = (err as NodeJS.ErrnoException | null)?.code === 'EAGAIN';
      if (full && !this.closing) {
        setTimeout(() => this.writeInFlight(), RETRY_MS).unref(); // a full pipe: the reader will drain it
        return;
      }
      this.busy = false;
      if (!err) {
        this.inFlight = this.inFlight.slice(written); // a pipe may take part of it
      } else if (!full) {
        this.onDrop(lineCount(this.inFlight)); // disk full, or an I/O error: keep forwarding
        this.inFlight = '';
      }
      if (this.closing) this.closeNow();
      else if (this.inFlight !== '') this.writeInFlight();
      else this.flush();
    });
  }

  /** Write what is left and close; resolves once the descriptor is closed. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (!this.busy) this.closeNow();
    }
    return this.done;
  }

  private closeNow(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    let text = this.inFlight + this.pending.join('');
    this.inFlight = '';
    this.pending = [];
    try {
      for (let n = 1; text !== '' && n > 0;) {
        n = writeSync(this.fd, text, null, 'latin1');
        text = text.slice(n);
      }
    } catch {
      // EAGAIN (nobody to wait for at exit or rotation), or the disk is full
    }
    if (text !== '') this.onDrop(lineCount(text));
    try { closeSync(this.fd); } catch { /* closed is what we wanted */ }
    this.finish();
  }
}

export class RequestLog {
  private file: FileSink | null = null;
  private udp: UdpSocket | null = null;
  private udpHost = '';
  private udpPort = 0;
  /** lines lost because the disk was full or could not keep up, or a FIFO's reader lagged */
  dropped = 0;

  /** bufferMax: bytes that may wait for the disk (tests make it small) */
  constructor(readonly target: string, private readonly bufferMax = BUFFER_MAX_BYTES) {
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
      const { fd } = openAppend(this.target);
      this.file = new FileSink(fd, (n) => { this.dropped += n; droppedTotal += n; }, this.bufferMax);
    } catch (err) {
      const why = err instanceof FileError ? err.reason : (err as Error).message;
      throw new PenError('PEN_ERR_IO', `Can't open logfile ${this.target}: ${why}`);
    }
  }

  /** SIGHUP: close and reopen the file (log rotation); what was written before goes to the old file. */
  reopen(): void {
    if (this.file === null) return;
    void this.file.close();
    this.file = null;
    this.open();
  }

  write(clientIp: string, serverIp: string, chunk: Buffer): void {
    if (this.udp) {
      const line = `+ ${clientIp} ${serverIp} ${requestField(chunk, 1024)}\n`.slice(0, 1024);
      this.udp.send(line, this.udpPort, this.udpHost);
    } else if (this.file !== null) {
      this.file.add(`${clientIp} ${Math.floor(Date.now() / 1000)} ${serverIp} ${requestField(chunk, 100)}\n`);
    }
  }

  /** `log`/`no log`, SIGTERM: the file gets what is buffered; resolves once it is closed. */
  close(): Promise<void> {
    const closed = this.file?.close() ?? Promise.resolve();
    this.file = null;
    this.udp?.close();
    this.udp = null;
    return closed;
  }
}
