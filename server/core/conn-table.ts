// The connection table (-x slots), for every transport: slot allocation as pen does it, the
// clients waiting for a slot (pen's backlog), and the one timeout sweep. What a slot holds is a
// Connection (connection.ts), or the SlotHolder that keeps that slot's connection in arrays of its
// own; the table never looks inside either beyond those interfaces, so a TCP pair, a UDP session
// and a connection owned by native code are all the same to it.
import { isHolder, type Connection, type SlotHolder, type SweepClock } from './connection.ts';

/** A client accepted while the table was full: admitted when a slot comes free, or closed. */
export interface Waiter {
  readonly closed: boolean;
  admit(): void;
  close(): void;
}

/** What the table reads from the settings, live (`conn_max` grows it at run time). */
export interface TableSettings {
  connMax: number;
  listenQueue: number;
  timeout: number;
  idleTimeout: number;
}

/** How often sweep() runs: pen checks its timeouts once per trip round its event loop, about as often. */
export const SWEEP_MS = 250;

export class ConnTable {
  /**
   * The slots up to the highest one used so far; the slots from conns.length up to connMax (the
   * table's size) are free, so `-x`/`conn_max` cost nothing until used.
   */
  conns: (Connection | SlotHolder | null)[] = [];
  /** the slot allocated last, where the next search starts (pen's connections_last) */
  last = 0;
  used = 0;
  /** a freed slot's last client and server, which pen's `connection N` still shows */
  lastOccupant: { client: number; server: number }[] = [];
  private waiting: Waiter[] = [];
  private readonly clock: SweepClock = { nowMs: 0, nowS: 0, connectMs: 0, idleMs: 0 };

  constructor(private readonly settings: TableSettings) {}

  /**
   * Give conn a free slot, searching from the last one allocated, as pen does; -1 when full. A
   * holder is put in the slot itself, and the connection it keeps there is its own to set up.
   */
  alloc(conn: Connection | SlotHolder): number {
    const n = this.settings.connMax;
    for (let k = 0; k < n; k++) {
      const i = (this.last + k) % n;
      // the first slot past the used part is free (the search reaches it before any later one)
      if (i >= this.conns.length) this.conns.push(null);
      if (this.conns[i] === null) {
        this.last = i;
        if (!isHolder(conn)) conn.index = i;
        this.conns[i] = conn;
        this.used += 1;
        return i;
      }
    }
    return -1;
  }

  /** The connection in slot i (a view, for a holder's), or null. */
  at(i: number): Connection | null {
    const c = this.conns[i] ?? null;
    return c === null || !isHolder(c) ? c : c.view(i);
  }

  /** Whether conn (a connection, or a view of a holder's) is in the table. */
  holds(conn: Connection): boolean {
    const c = conn.index >= 0 ? this.conns[conn.index] : undefined;
    return c !== undefined && c !== null && (c === conn || c === conn.holder);
  }

  /** Free conn's slot; false when conn does not hold one (already released, or never placed). */
  release(conn: Connection): boolean {
    const i = conn.index;
    if (!this.holds(conn)) return false;
    const last = this.lastOccupant[i];
    if (last === undefined) this.lastOccupant[i] = { client: conn.clientIndex, server: conn.server };
    else { // one record per slot, rewritten: no allocation per connection
      last.client = conn.clientIndex;
      last.server = conn.server;
    }
    this.conns[i] = null;
    this.used -= 1;
    return true;
  }

  /** A client for a full table waits for a slot; false (and the caller closes it) when the queue is full too. */
  wait(w: Waiter): boolean {
    if (this.waiting.length >= this.settings.listenQueue) return false;
    this.waiting.push(w);
    return true;
  }

  /** A slot came free: the oldest client still waiting gets it. */
  admitNext(): void {
    let next = this.waiting.shift();
    while (next?.closed) next = this.waiting.shift();
    next?.admit();
  }

  /** Close slot i, as `close N` does; false when the slot is not in use. */
  close(i: number): boolean {
    const c = this.at(i);
    if (!c) return false;
    c.close();
    return true;
  }

  /**
   * The connect timeout (-t) and idle_timeout of every connection, checked for the whole table
   * every SWEEP_MS rather than with a timer per connection (a timer set and cleared per
   * connection was measurable). Each connection applies them as its transport defines.
   */
  sweep(nowS: number): void {
    const clock = this.clock;
    clock.nowMs = Date.now();
    clock.nowS = nowS;
    clock.connectMs = this.settings.timeout * 1000;
    clock.idleMs = this.settings.idleTimeout * 1000;
    const conns = this.conns;
    for (let i = 0; i < conns.length; i++) {
      const c = conns[i];
      if (c === null || c === undefined) continue;
      if (isHolder(c)) c.sweepSlot(i, clock);
      else c.timeouts?.(clock);
    }
  }

  /** Shutdown: the waiting clients and every connection are closed. */
  closeAll(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.close();
    for (let i = 0; i < this.conns.length; i++) this.at(i)?.close();
  }
}
