// pen's debug() channel: `YYYY-MM-DD HH:MM:SS: message` on stderr in the foreground, syslog
// (ident pen, facility USER, priority DEBUG, as pen's openlog/syslog) when daemonized.
//
// pen's syslog() is a socket write. Node has no unix-datagram socket, so the daemon keeps one
// `logger` child for its whole life and writes lines to its stdin: a fork per process, not per
// line. If logger dies it is started again after a backoff (1 s doubling to 30 s); meanwhile
// lines wait in a bounded queue and what does not fit is dropped and counted.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

/** PEN_SYSLOG_SOCKET names another socket than /dev/log (logger -u): for tests, or a chroot's log socket. */
const SOCKET_ENV = 'PEN_SYSLOG_SOCKET';
const QUEUE_MAX_BYTES = 256 * 1024;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

let foreground = true;

export function setForeground(value: boolean): void {
  foreground = value;
}

export function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function debug(message: string): void {
  if (foreground) {
    process.stderr.write(`${timestamp()}: ${message}\n`);
    return;
  }
  syslog.send(message);
}

/** The long-lived logger child and what waits for it. */
class SyslogPipe {
  private child: ChildProcess | null = null;
  private stdin: Writable | null = null;
  private queue: string[] = [];
  private queued = 0;
  private backoff = BACKOFF_MIN_MS;
  private restart: NodeJS.Timeout | null = null;
  private startedAt = 0;
  /** exits waiting for the queue to reach logger (see flushed) */
  private waiters: (() => void)[] = [];
  /** lines lost because logger was down or behind for longer than the queue holds */
  dropped = 0;

  send(message: string): void {
    // logger sends one message per stdin line, so a multi-line message becomes several
    const text = `${message}\n`;
    if (this.stdin !== null) {
      if (this.stdin.writableLength >= QUEUE_MAX_BYTES) this.dropped += 1; // logger is that far behind
      else this.stdin.write(text);
      return;
    }
    // logger is starting, or down until its restart
    if (this.queued + text.length > QUEUE_MAX_BYTES) {
      this.dropped += 1;
      return;
    }
    this.queue.push(text);
    this.queued += text.length;
    if (this.child === null && this.restart === null) this.start();
  }

  /** Resolves once every line sent so far is in logger's pipe (an exit waits for it; see pen.ts). */
  flushed(): Promise<void> {
    if (this.stdin !== null) return new Promise((resolve) => this.stdin!.write('', () => resolve()));
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve)); // logger is starting
  }

  private start(): void {
    this.restart = null;
    const socket = process.env[SOCKET_ENV];
    // pen: openlog("pen", LOG_CONS, LOG_USER) and syslog(LOG_DEBUG) of up to 4096 bytes
    const args = ['-t', 'pen', '-p', 'user.debug', '-S', '4096', ...(socket ? ['-u', socket] : [])];
    let child: ChildProcess;
    try {
      child = spawn('logger', args, { stdio: ['pipe', 'ignore', 'ignore'] });
    } catch {
      this.retryLater();
      return;
    }
    this.child = child;
    this.startedAt = Date.now();
    child.unref();
    const stdin = child.stdin!;
    (stdin as unknown as { unref?: () => void }).unref?.(); // a pen with nothing else to do may exit
    stdin.on('error', () => {}); // EPIPE when logger died: the exit handler takes over
    child.on('error', () => this.lost(child));
    child.on('exit', () => this.lost(child));
    child.on('spawn', () => {
      if (this.child !== child) return;
      this.stdin = stdin;
      for (const text of this.queue) stdin.write(text);
      this.queue = [];
      this.queued = 0;
      for (const resolve of this.waiters.splice(0)) stdin.write('', () => resolve());
    });
  }

  private lost(child: ChildProcess): void {
    if (this.child !== child) return; // error and exit both report one death
    this.child = null;
    this.stdin = null;
    // one that ran for a while starts over from the short wait; one that keeps dying waits longer
    if (Date.now() - this.startedAt >= BACKOFF_MAX_MS) this.backoff = BACKOFF_MIN_MS;
    this.retryLater();
  }

  private retryLater(): void {
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.restart = setTimeout(() => this.start(), wait);
    this.restart.unref();
  }
}

const syslog = new SyslogPipe();

/** Debug lines dropped since start because syslog (logger) could not take them. */
export function debugDropped(): number {
  return syslog.dropped;
}

/** Resolves once the debug lines sent so far have reached logger (at once in the foreground). */
export function debugFlushed(): Promise<void> {
  return foreground ? Promise.resolve() : syslog.flushed();
}
