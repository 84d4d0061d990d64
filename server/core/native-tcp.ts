// The native data path for plain TCP and Unix-socket listeners: the addon (native/, native.ts)
// owns the sockets (accept, connect, forwarding, backpressure, half-close, tcp_fastclose, connect
// and idle timeouts), and every decision goes through the PairHost as tcp.ts makes it, so the
// connection table, the pick, the accounting and `connection N` / `close N` see a native
// connection like any other. JS runs once per new connection (select) and per failed connect
// (failed); closes arrive in batches (onRecords); byte counters are the engine's shared memory
// (live), read when something asks. The engine's slot is the connection table's slot.
//
// take: the engine tells JS nothing when a connect completes (one more call per connection is the
// cost the design removes), so a connection takes its server when it is picked and gives it back
// in failed() when that connect fails, synchronously, before the next pick. A server's count thus
// includes connects in flight: a burst of clients can never overshoot its limits, and a connect
// that fails never shows as a connection.
import { plainIp } from './address.ts';
import {
  CS_CLOSED_DOWN, CS_CLOSED_UP, CS_CONNECTED, CS_CONNECTING, socketId, type Connection, type SweepClock,
} from './connection.ts';
import type { Waiter } from './conn-table.ts';
import { debug } from './diag.ts';
import { uvMessage } from './ends.ts';
import { CLOSE_WHY, LIVE, REC, STATE, nativeThreads, pick, type NativeAddon } from './native.ts';
import { NativeListener, errnoText, word, type NativeListenSpec } from './native-listener.ts';
import type { PairEntry, PairHost } from './pair-host.ts';
import { NO_SERVER, serverWhere } from './servers.ts';

type Bytes = { sx: number; rx: number; csx: number; crx: number };
const NO_BYTES: Bytes = Object.freeze({ sx: 0, rx: 0, csx: 0, crx: 0 });
const ERRNO = { ETIMEDOUT: 110, EMFILE: 24, ENFILE: 23 } as const;
const WHY_ERROR = CLOSE_WHY.indexOf('error');

/** NativeConnection.bits: what it knows of itself besides its numbers, in one field (see below). */
const STARTED = 1;  // the engine holds it (its live words are its own)
const CLOSING = 2;  // `close N` or a timeout asked the engine to close it
const COUNTED = 4;  // it has taken its server (accounting.ts take)
const FAILOVER = 8; // the bits above count its failovers

/** Where a client that sent EOF stood at the last sweep: its queue to the server and when that last changed. */
interface EofWatch { queuedUp: number; queuedAt: number }

/**
 * A connection whose sockets the engine owns: what the table, the pick and the statistics read.
 * One per held connection, so it is kept small (each field is 8 bytes of V8 heap): the flags and
 * the failover count share one field, clientAddress is derived, the listener sits on a
 * per-listener prototype (connectionClass), and what only the sweep of a half-closed pair needs
 * is made when the client sends EOF.
 */
class NativeConnection implements PairEntry {
  index = -1;
  clientIndex = -1;
  initial = NO_SERVER;
  server = NO_SERVER;
  t: number;
  readonly downId = socketId();
  upId = -1;
  /** the close record's bytes, once it has closed */
  final: Bytes | null = null;
  private bits = 0;
  /** bytes both ways at the last sweep (activity moves `t`) */
  private moved = 0;
  private eof: EofWatch | null = null;

  /** its listener: on the prototype connectionClass makes, not in every connection */
  declare protected readonly l: NativeTcpListener;

  constructor(public clientIp: string | null, readonly clientPort: number, now: number) {
    this.t = now;
  }

  /** How many failovers it had before this one (pick.ts bounds them). */
  failover(): number {
    const n = this.bits >>> 3;
    this.bits += FAILOVER;
    return n;
  }

  get clientAddress(): string {
    return this.clientIp ?? 'unix';
  }

  get started(): boolean {
    return (this.bits & STARTED) !== 0;
  }

  /** The engine takes it (select's answer). */
  start(): void {
    this.bits |= STARTED;
  }

  get counted(): boolean {
    return (this.bits & COUNTED) !== 0;
  }

  set counted(v: boolean) {
    this.bits = v ? this.bits | COUNTED : this.bits & ~COUNTED;
  }

  /** pen's state bits from the engine's */
  get state(): number {
    if (!this.started) return CS_CONNECTING;
    const st = word(this.l.live, this.index * LIVE.WORDS + LIVE.STATE);
    if (st & STATE.CONNECTING) return CS_CONNECTING;
    return (st & STATE.CONNECTED ? CS_CONNECTED : 0) | (st & STATE.EOF_CLIENT ? CS_CLOSED_DOWN : 0)
      | (st & STATE.EOF_SERVER ? CS_CLOSED_UP : 0);
  }

  bytes(): Bytes {
    if (this.final !== null) return this.final;
    if (!this.started) return NO_BYTES;
    const o = this.index * LIVE.WORDS;
    const up = word(this.l.live, o + LIVE.BYTES_UP);
    const down = word(this.l.live, o + LIVE.BYTES_DOWN);
    return { sx: up, rx: down, csx: down, crx: up };
  }

  pendingDown(): number {
    return this.started && this.final === null ? this.l.eng.info(this.index)?.pendingDown ?? 0 : 0;
  }

  pendingUp(): number {
    return this.started && this.final === null ? this.l.eng.info(this.index)?.pendingUp ?? 0 : 0;
  }

  /** `close N`, shutdown: the engine closes it and its record releases it on the next loop turn. */
  close(): void {
    if ((this.bits & (CLOSING | STARTED)) !== STARTED || this.final !== null) return;
    this.bits |= CLOSING;
    this.l.eng.close(this.index);
  }

  /**
   * The table's sweep. The engine applies -t to connects and idle_timeout itself; what is left is
   * tcp.ts's rule for a client that has sent EOF: once its server has neither sent nor read a byte
   * for -t seconds, the pair ends (an answer still being written to the client keeps it).
   */
  timeouts(c: SweepClock): void {
    if ((this.bits & (CLOSING | STARTED)) !== STARTED || this.final !== null) return;
    const o = this.index * LIVE.WORDS;
    const live = this.l.live;
    const moved = word(live, o + LIVE.BYTES_UP) + word(live, o + LIVE.BYTES_DOWN);
    if (moved !== this.moved) {
      this.moved = moved;
      this.t = c.nowS;
    }
    const ends = word(live, o + LIVE.STATE) & (STATE.EOF_CLIENT | STATE.EOF_SERVER | STATE.CLOSED);
    if (ends !== STATE.EOF_CLIENT) return;
    const info = this.l.eng.info(this.index);
    if (info === null) return;
    const eof = (this.eof ??= { queuedUp: 0, queuedAt: 0 });
    if (info.pendingUp !== eof.queuedUp) {
      eof.queuedUp = info.pendingUp;
      eof.queuedAt = c.nowMs;
    }
    const silent = eof.queuedAt > 0 ? Math.min(info.idleMs, c.nowMs - eof.queuedAt) : info.idleMs;
    if (silent < c.connectMs || info.pendingDown > 0) return;
    if (this.l.host.settings.debug >= 2) debug(`connection ${this.index}: client sent EOF, server silent for ${this.l.host.settings.timeout} s: closing`);
    this.close();
  }
}

type ConnectionClass = new (ip: string | null, port: number, now: number) => NativeConnection;

/** NativeConnection with `l` on its prototype: one class per listener, so no connection carries the pointer. */
function connectionClass(l: NativeTcpListener): ConnectionClass {
  class OfListener extends NativeConnection {}
  Object.defineProperty(OfListener.prototype, 'l', { value: l });
  return OfListener;
}

export type { NativeListenSpec };

/** One native TCP or Unix listener with its own engine. */
export class NativeTcpListener extends NativeListener<NativeConnection> {
  private paused = false;
  private acceptErrors = 0;
  private readonly Conn = connectionClass(this);
  /** the timeouts, fastclose and multi_accept the engine was last told */
  private readonly toldTimes = { connectMs: -1, idleMs: -1, fastclose: '', multiAccept: 0 };
  /** a client waiting for a slot, as the table sees this listener while it is paused */
  private readonly waiter: Waiter = {
    get closed() { return false; },
    admit: () => this.resume(),
    close: () => {},
  };

  constructor(addon: NativeAddon, host: PairHost, spec: NativeListenSpec) {
    super(addon, host, {
      select: (_listener, address, port) => this.select(address, port),
      failed: (slot, _server, errno) => this.failed(slot, errno),
      ...(nativeThreads() > 1 ? { threads: nativeThreads() } : {}),   // --threads: forwarding threads
    });
    this.sync();
    this.bind(spec);
  }

  /** Tell the engine what changed since: servers (and -S source), -t, idle_timeout, tcp_fastclose, -m. */
  sync(): void {
    const st = this.host.settings;
    const connectMs = st.timeout * 1000;
    const idleMs = st.idleTimeout * 1000;
    const told = this.toldTimes;
    if (connectMs !== told.connectMs || idleMs !== told.idleMs) {
      this.eng.setTimeouts(connectMs, idleMs, 0);
      told.connectMs = connectMs;
      told.idleMs = idleMs;
    }
    if (st.tcpFastclose !== told.fastclose) {
      this.eng.setFastclose(st.tcpFastclose);
      told.fastclose = st.tcpFastclose;
    }
    if (st.multiAccept !== told.multiAccept) {
      this.eng.setMultiAccept(st.multiAccept);
      told.multiAccept = st.multiAccept;
    }
    this.syncServers();
  }

  private select(address: string, port: number): number {
    const h = this.host;
    if (h.serverCount() !== this.told.regular) this.syncServers();
    const ip = address === '' ? null : plainIp(address);
    const now = h.now(); // one clock read for the connection, its client and its pick
    const conn = new this.Conn(ip, port, now);
    const slot = h.alloc(conn);
    if (slot < 0) {
      // the table filled through another listener: this client is refused, the next ones wait
      h.dropped('full');
      this.pause();
      return -1;
    }
    if (slot >= this.slots) {
      h.release(conn); // conn_max grew past this engine; the balancer reopens the listener
      return -1;
    }
    conn.clientIndex = h.storeClient(ip, port, now);
    if (ip !== null) conn.clientIp = h.clientIp(conn.clientIndex) ?? ip;   // the table's string, not one per connection
    const p = h.firstPick(conn, now);
    if (p.kind === 'none') {
      h.dropped(p.why);
      h.release(conn);
      return -1;
    }
    conn.start();
    this.count += 1;
    this.choose(conn, p.s);
    if (h.full()) this.pause();
    return pick(slot, this.nativeIndex(p.s));
  }

  /** A connect failed: give the server back, blacklist it and fail over as tcp.ts does (pick.ts bounds it). */
  private failed(slot: number, errno: number): number {
    const conn = this.at(slot);
    if (conn === null) return -1;
    const h = this.host;
    const s = conn.server;
    h.drop(conn, NO_BYTES);
    conn.upId = -1;
    if (errno === ERRNO.EMFILE || errno === ERRNO.ENFILE) {
      // the balancer's condition, no server's fault: the client is dropped, the sweep recovers
      h.outOfDescriptors(`socket: ${errnoText(errno)}`);
      h.dropped('nofd');
      return -1;
    }
    const server = h.server(s);
    h.failed(s, errno === ERRNO.ETIMEDOUT ? 'connect timeout' : `connect failure: ${uvMessage('connect', -errno, server ? serverWhere(server) : '')}`,
      -errno);
    const next = h.nextPick(conn, s, conn.initial, conn.failover());
    if (next.kind === 'none') {
      h.dropped(next.why);
      return -1;
    }
    this.choose(conn, next.s);
    return this.nativeIndex(next.s);
  }

  protected held(c: Connection): c is NativeConnection {
    return c instanceof this.Conn && c.started;
  }

  protected closed(conn: NativeConnection, r: Float64Array, o: number): void {
    const up = word(r, o + REC.BYTES_UP);
    const down = word(r, o + REC.BYTES_DOWN);
    conn.final = { sx: up, rx: down, csx: down, crx: up };
    if (word(r, o + REC.WHY) === WHY_ERROR && this.host.settings.debug >= 2) debug(`connection ${conn.index}: ${errnoText(word(r, o + REC.ERRNO))}`);
  }

  /** The table is full: accept nothing more (clients wait in the backlog, as pen does) until a slot frees. */
  private pause(): void {
    if (this.paused || !this.open) return;
    this.paused = true;
    this.eng.pauseListener(this.id, true);
    this.host.wait(this.waiter); // false when other clients fill the queue: the sweep resumes it then
  }

  private resume(): void {
    if (!this.paused || !this.open) return;
    this.paused = false;
    this.eng.pauseListener(this.id, false);
  }

  /**
   * Every SWEEP_MS: a paused listener resumed if a slot is free, accepts an error stopped retried.
   * The settings are the balancer's to keep in step (keepDatapath syncs before each sweep).
   */
  sweep(): void {
    if (!this.open) return;
    if (this.paused && !this.host.full()) this.resume();
    const errors = this.eng.stats().acceptErrors;
    if (errors !== this.acceptErrors) {
      this.acceptErrors = errors;
      this.host.outOfDescriptors('accept failed');
      // re-arm: the accepts waiting in the backlog are retried
      if (!this.paused) this.eng.pauseListener(this.id, false);
    }
  }
}

/** Open a native TCP or Unix listener for the balancer's host. */
export function listenNativeTcp(addon: NativeAddon, host: PairHost, spec: NativeListenSpec): NativeTcpListener {
  return new NativeTcpListener(addon, host, spec);
}
