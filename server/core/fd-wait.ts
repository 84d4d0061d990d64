// Out of file descriptors (EMFILE/ENFILE) is the balancer's condition, no server's fault. A
// connect whose socket could not be opened waits and is retried, oldest first, whenever a
// connection closes and on every sweep; -t bounds the wait. (libuv itself closes what waits in
// the listen queue when accept finds no descriptor, so those cannot be left waiting.)
import { debug } from './diag.ts';
import type { FdWaiter } from './pair-host.ts';

export class FdWait {
  /** times the balancer ran out of file descriptors and paused */
  pauses = 0;
  /** out of descriptors: connects wait in `waiters` until connections close */
  paused = false;
  private waiters: FdWaiter[] = [];
  private retrying = false;

  constructor(private readonly debugLevel: () => number) {}

  out(why: string, waiter?: FdWaiter): void {
    if (waiter) this.waiters.push(waiter);
    if (this.paused) return;
    this.paused = true;
    this.pauses += 1;
    if (this.debugLevel() >= 1) debug(`out of file descriptors (${why}): new connections wait until some close`);
  }

  /** Retry the connects waiting for a descriptor until one still finds none. */
  retry(): void {
    if (this.retrying) return;
    this.retrying = true;
    const waiting = this.waiters;
    this.waiters = [];
    for (const [k, waiter] of waiting.entries()) {
      waiter.retryConnect();
      if (this.waiters.length > 0) {
        // still none: the rest keep their places behind it
        for (const rest of waiting.slice(k + 1)) this.waiters.push(rest);
        break;
      }
    }
    this.retrying = false;
    this.back();
  }

  /** A server socket opened while paused: descriptors are back, once no connect waits for one. */
  back(): void {
    if (!this.paused || this.retrying || this.waiters.length > 0) return;
    this.paused = false;
    if (this.debugLevel() >= 1) debug('file descriptors available again');
  }

  clear(): void {
    this.waiters = [];
  }
}
