// The native data path for plain TCP and Unix-socket listeners: the addon (native/, native.ts)
// owns the sockets (accept, connect, forwarding, backpressure, half-close, tcp_fastclose, connect
// and idle timeouts), and every decision goes through the PairHost as tcp.ts makes it, so the
// connection table, the pick, the accounting and `connection N` / `close N` see a native
// connection like any other. JS runs once per new connection (select) and per failed connect
// (failed); closes arrive in batches (onRecords); byte counters are the engine's shared memory
// (live), read when something asks. The engine's slot is the connection table's slot, and what
// JS keeps of a connection is in that slot's arrays (native-conn.ts): the listener is the slot's
// holder in the table, and a Connection for it is a view made when one is asked for.
//
// take: the engine tells JS nothing when a connect completes (one more call per connection is the
// cost the design removes), so a connection takes its server when it is picked and gives it back
// in failed() when that connect fails, synchronously, before the next pick. A server's count thus
// includes connects in flight: a burst of clients can never overshoot its limits, and a connect
// that fails never shows as a connection.
import { plainIp } from './address.ts';
import { socketId, type SweepClock } from './connection.ts';
import type { Waiter } from './conn-table.ts';
import { debug } from './diag.ts';
import { uvMessage } from './ends.ts';
import { CLOSE_WHY, LIVE, REC, STATE, nativeThreads, pick, type NativeAddon } from './native.ts';
import { NO_BYTES, NativeConnection, SlotArrays, viewClass, type SlotsHolder, type ViewClass } from './native-conn.ts';
import { NativeListener, errnoText, word, type NativeListenSpec } from './native-listener.ts';
import type { PairHost } from './pair-host.ts';
import { serverWhere } from './servers.ts';

const ERRNO = { ETIMEDOUT: 110, EMFILE: 24, ENFILE: 23 } as const;
const WHY_ERROR = CLOSE_WHY.indexOf('error');


export type { NativeListenSpec };

/** One native TCP or Unix listener with its own engine. */
export class NativeTcpListener extends NativeListener<NativeConnection> implements SlotsHolder {
  private paused = false;
  private acceptErrors = 0;
  readonly arrays: SlotArrays;
  private readonly View: ViewClass;
  /** the one view select, failed and the close records work through: none of them, nor what they call, keeps it */
  private readonly cursor: NativeConnection;
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
    this.arrays = new SlotArrays(this.slots);
    this.View = viewClass(this);
    this.cursor = new this.View(-1);
    this.sync();
    this.bind(spec);
  }

  /** The connection in slot i, which this listener holds: its numbers, copied out of the slot. */
  view(i: number): NativeConnection {
    return this.arrays.load(new this.View(i), i);
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
    const slot = h.alloc(this);
    if (slot < 0) {
      // the table filled through another listener: this client is refused, the next ones wait
      h.dropped('full');
      this.pause();
      return -1;
    }
    const conn = this.cursor.begin(slot);
    if (slot >= this.slots) {
      h.release(conn); // conn_max grew past this engine; the balancer reopens the listener
      return -1;
    }
    conn.t = now;
    conn.downId = socketId();
    conn.clientIp = ip;
    conn.clientPort = port;
    this.arrays.reset(slot);
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
    this.arrays.store(conn);
    if (h.full()) this.pause();
    return pick(slot, this.nativeIndex(p.s));
  }

  /** A connect failed: the next server for it, or -1 (native.ts NativeHooks failed). */
  private failed(slot: number, errno: number): number {
    const conn = this.at(slot);
    if (conn === null) return -1;
    const next = this.failover(conn, errno);
    this.arrays.store(conn);
    return next;
  }

  /** Give the server back, blacklist it and fail over as tcp.ts does (pick.ts bounds it). */
  private failover(conn: NativeConnection, errno: number): number {
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

  protected at(slot: number): NativeConnection | null {
    return this.host.conns()[slot] === this && this.arrays.started(slot) ? this.arrays.load(this.cursor, slot) : null;
  }

  /**
   * The table's sweep of a slot. The engine applies -t to connects and idle_timeout itself; what is
   * left is tcp.ts's rule for a client that has sent EOF: once its server has neither sent nor read
   * a byte for -t seconds, the pair ends (an answer still being written to the client keeps it).
   */
  sweepSlot(i: number, c: SweepClock): void {
    const a = this.arrays;
    if (!a.open(i)) return;
    const o = i * LIVE.WORDS;
    const live = this.live;
    a.moved(i, word(live, o + LIVE.BYTES_UP) + word(live, o + LIVE.BYTES_DOWN), c.nowS);
    const ends = word(live, o + LIVE.STATE) & (STATE.EOF_CLIENT | STATE.EOF_SERVER | STATE.CLOSED);
    if (ends !== STATE.EOF_CLIENT) return;
    const info = this.eng.info(i);
    if (info === null) return;
    let eof = a.eof.get(i);
    if (eof === undefined) a.eof.set(i, eof = { queuedUp: 0, queuedAt: 0 });
    if (info.pendingUp !== eof.queuedUp) {
      eof.queuedUp = info.pendingUp;
      eof.queuedAt = c.nowMs;
    }
    const silent = eof.queuedAt > 0 ? Math.min(info.idleMs, c.nowMs - eof.queuedAt) : info.idleMs;
    if (silent < c.connectMs || info.pendingDown > 0) return;
    if (this.host.settings.debug >= 2) debug(`connection ${i}: client sent EOF, server silent for ${this.host.settings.timeout} s: closing`);
    this.view(i).close();
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
