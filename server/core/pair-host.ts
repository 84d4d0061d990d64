// What a transport (tcp.ts, udp.ts, and later a native one) may ask of the balancer: a narrow
// interface, made once per balancer as a plain object of functions (lifecycle.ts builds it), so
// transports never see the Balancer and a call allocates nothing. Types only: a leaf module.
import type { Waiter } from './conn-table.ts';
import type { Connection, SlotHolder } from './connection.ts';
import type { NoneWhy, Pick } from './pick.ts';
import type { Server } from './servers.ts';
import type { Settings } from './settings.ts';

/** Why a client was dropped: no server took it (Pick's reasons), or no file descriptor came free within -t. */
export type DropWhy = NoneWhy | 'nofd';

/** A connection as the pick needs it: its client's address (null for a Unix-socket client) and port. */
export interface PairEntry extends Connection {
  readonly clientIp: string | null;
  readonly clientPort: number;
}

/** Something that accepts clients: a TCP/TLS server, a UDP socket, or a native listener. */
export interface Listener {
  close(): void;
  /** the balancer's sweep, every SWEEP_MS, for a listener that keeps its own state in step */
  sweep?(): void;
}

/** A connect that found no file descriptor, retried when some come free. */
export interface FdWaiter {
  retryConnect(): void;
}

export interface PairHost {
  /** the live settings (the same object for the balancer's life) */
  readonly settings: Settings;
  /** pen's clock, in whole seconds */
  now(): number;
  /** the server an index names (a regular one, EMERGENCY or ABUSE); null when there is none */
  server(s: number): Server | null;
  /** how many regular servers there are (slots 0..n-1) */
  serverCount(): number;

  /** A slot in the table for conn, or for one a holder keeps (and one more accepted); -1 when the table is full. */
  alloc(conn: Connection | SlotHolder): number;
  /** The connection table's slots up to the highest used so far (a native listener's engine slot is its table slot). */
  conns(): readonly (Connection | SlotHolder | null)[];
  /** Whether the connection table has no free slot (a native listener stops accepting then, as pen does). */
  full(): boolean;
  /** A client for a full table waits for a slot (admitted as one frees); false when the queue is full too. */
  wait(w: Waiter): boolean;
  /** The client table's slot for a new connection's client, stamped `now` (pen's store_client). */
  storeClient(ip: string | null, port: number, now?: number): number;
  /** The client table's copy of client slot i's IP (null for Unix clients): one string for a client's connections. */
  clientIp(i: number): string | null;

  /** Where a new connection goes at `now` (the clock, when not given); sets conn.initial (pick.ts firstPick). */
  firstPick(conn: PairEntry, now?: number): Pick;
  /** Where it goes after `failed` did not take it, its `failovers`-th failover (pick.ts nextPick). */
  nextPick(conn: PairEntry, failed: number, initial: number, failovers: number): Pick;
  /** A connect to s starts: the client's remembered server, pen's `current`, the 'limit' event. */
  chosen(conn: Connection, s: number): void;
  /**
   * A connect to s failed (`status`, a libuv error; 0 for a timeout): s is blacklisted (debug line
   * and 'blacklisted' event) unless the error is this host's own (uv.ts noRouteFromHere).
   */
  failed(s: number, why: string, status: number): void;
  /** conn is connected to conn.server: it takes the server (accounting.ts take; conn.counted). */
  take(conn: Connection): void;
  /** conn leaves conn.server but stays open (a UDP session failing over): bytes so far and its count drop. */
  drop(conn: Connection, bytes: { sx: number; rx: number }): void;
  /** conn has closed: its bytes fold in, its count drops, its slot is freed and a waiting client admitted. */
  release(conn: Connection): void;
  /** A client was dropped, and why (the `dropped` counter). */
  dropped(why: DropWhy): void;

  /** What every chunk from a client passes through: X-Forwarded-For, the request log, the hex dump. */
  tap(conn: Connection, chunk: Buffer, https: boolean): Buffer;

  /** The balancer is out of file descriptors (EMFILE/ENFILE); `waiter` is retried when some come free. */
  outOfDescriptors(why: string, waiter?: FdWaiter): void;
  /** whether new connects wait for descriptors */
  fdPaused(): boolean;
  /** A socket opened while paused: descriptors may be back. */
  descriptorsBack(): void;
}
