// The native data path for UDP (-U): the addon (native/udp.c) owns the listener socket, one
// connected upstream socket per session and the session table; datagrams of a known client go
// up and replies come back without JavaScript. JS runs for a new client (select: the same pick,
// tracking, limits and ACLs as udp.ts, through the PairHost), when a session's server refuses a
// datagram (ICMP port unreachable: blacklist, fail over, the engine replays the datagram) or is
// down (the engine knows which through setDown, kept in step here), and for the closes, which
// come in batches. Sessions take connection-table slots, expire after idle_timeout (natively,
// UDP_IDLE_DEFAULT when it is 0), and a full table recycles the least recently active one, as
// in udp.ts. Counters follow udp.ts (pen §2.4): a session's first datagram and the replies are
// not counted in sx/crx, later client datagrams are.
import { plainIp } from './address.ts';
import { CS_CONNECTED, socketId, type Connection, type SlotHolder, type SweepClock } from './connection.ts';
import { debug } from './diag.ts';
import { uvMessage } from './ends.ts';
import { CLOSE_WHY, LIVE, PACKETS, REC, pick, type NativeAddon } from './native.ts';
import { NativeListener, errnoText, nativeServer, word, type NativeListenSpec } from './native-listener.ts';
import type { DropWhy, PairEntry, PairHost } from './pair-host.ts';
import { ABUSE, EMERGENCY, NO_SERVER, isDown } from './servers.ts';
import { UDP_IDLE_DEFAULT, type UdpCounters, type UdpListening } from './udp.ts';

const WHY_IDLE = CLOSE_WHY.indexOf('idle');
const WHY_CONNECT_FAILED = CLOSE_WHY.indexOf('connect-failed');
const ERRNO = { EMFILE: 24, ENFILE: 23 } as const;

/** A UDP session whose sockets the engine owns. */
class NativeUdpSession implements PairEntry {
  index = -1;
  readonly state = CS_CONNECTED;
  clientIndex = -1;
  readonly clientAddress: string;
  initial = NO_SERVER;
  server = NO_SERVER;
  counted = false;
  /** the engine holds it (select's answer) */
  held = false;
  t: number;
  readonly downId: number;
  upId = -1;
  /** bytes to the server credited to servers it failed over from */
  base = 0;
  /** the final bytes each way, once closed */
  final: { up: number; down: number } | null = null;
  private closing = false;
  /** datagrams both ways at the last sweep (activity moves `t`) */
  private moved = 0;

  constructor(
    private readonly l: NativeUdpListener, address: string, readonly clientPort: number, now: number,
    /** the first datagram's length: not counted, as in udp.ts */
    private readonly first: number,
  ) {
    this.clientAddress = plainIp(address);
    this.t = now;
    this.downId = l.socketId;
  }

  get clientIp(): string {
    return this.clientAddress;
  }

  /** Whether l's engine holds it. */
  of(l: NativeUdpListener): boolean {
    return this.held && this.l === l;
  }

  /** bytes from the client so far, and to it */
  raw(): { up: number; down: number } {
    if (this.final !== null) return this.final;
    const o = this.index * LIVE.WORDS;
    return { up: word(this.l.live, o + LIVE.BYTES_UP), down: word(this.l.live, o + LIVE.BYTES_DOWN) };
  }

  /** what the session sent its current server, as udp.ts counts it */
  sx(): number {
    return Math.max(0, this.raw().up - this.first - this.base);
  }

  bytes() {
    return { sx: this.sx(), rx: 0, csx: 0, crx: Math.max(0, this.raw().up - this.first) };
  }

  pendingDown(): number {
    return 0;
  }

  pendingUp(): number {
    return 0;
  }

  /** `close N`, shutdown: the engine closes it and its record releases it on the next loop turn. */
  close(): void {
    if (this.closing || this.final !== null) return;
    this.closing = true;
    this.l.eng.close(this.index);
  }

  /** The table's sweep: the engine expires idle sessions itself; traffic moves `t`. */
  timeouts(c: SweepClock): void {
    if (this.final !== null) return;
    const o = this.index * PACKETS.WORDS;
    const moved = word(this.l.eng.packets, o + PACKETS.UP) + word(this.l.eng.packets, o + PACKETS.DOWN);
    if (moved !== this.moved) {
      this.moved = moved;
      this.t = c.nowS;
    }
  }
}

/** One native UDP listener with its own engine. */
export class NativeUdpListener extends NativeListener<NativeUdpSession> implements UdpListening {
  readonly socketId = socketId();
  private readonly tally = { dropped: 0, sessions: 0, expired: 0, recycled: 0, bytesIn: 0, bytesOut: 0 };
  private toldIdleMs = -1;
  private toldDown: boolean[] = [];

  constructor(addon: NativeAddon, host: PairHost, spec: Omit<NativeListenSpec, 'kind' | 'backlog'>) {
    super(addon, host, {
      select: (_listener, address, port, length) => this.select(address, port, length ?? 0),
      failed: (slot, _server, errno) => this.failed(slot, errno),
    });
    this.sync();
    this.bind({ kind: 'udp', address: spec.address, port: spec.port, backlog: 1 });
  }

  get size(): number {
    return this.count;
  }

  /** udp.ts's counters: the engine's datagram counts, the bytes of closed and open sessions, and JS's own. */
  get counters(): UdpCounters {
    const st = this.eng.stats();
    const t = this.tally;
    let bytesIn = t.bytesIn;
    let bytesOut = t.bytesOut;
    for (const c of this.host.conns()) {
      if (c === null || !this.held(c)) continue;
      const b = c.raw();
      bytesIn += b.up;
      bytesOut += b.down;
    }
    return {
      datagramsIn: st.udpIn, bytesIn, datagramsOut: st.udpOut, bytesOut,
      dropped: t.dropped, sessions: t.sessions, expired: t.expired, recycled: t.recycled,
    };
  }

  /** Tell the engine what changed: the session lifetime, the servers, which servers are down. */
  sync(): void {
    const idle = this.host.settings.idleTimeout;
    const idleMs = (idle > 0 ? idle : UDP_IDLE_DEFAULT) * 1000;
    if (idleMs !== this.toldIdleMs) {
      this.eng.setTimeouts(0, 0, idleMs);
      this.toldIdleMs = idleMs;
    }
    if (this.syncServers()) this.toldDown = []; // a new list starts with every server up
    this.syncDown();
  }

  /** Which servers are down (blacklisted or failing health checks), as udp.ts asks per datagram. */
  syncDown(): void {
    const h = this.host;
    const n = this.told.regular;
    const now = h.now();
    const down: boolean[] = [];
    let same = this.toldDown.length === n + 2;
    for (let i = 0; i < n + 2; i++) {
      const s = h.server(i < n ? i : i === n ? EMERGENCY : ABUSE);
      const d = s !== null && isDown(s, now, h.settings.blacklistTime);
      down.push(d);
      same &&= this.toldDown[i] === d;
    }
    if (same) return;
    this.eng.setDown(down);
    this.toldDown = down;
  }

  /** Whether the engine can send to server s (a Unix path, or a source of the other family, it cannot). */
  private reachable(s: number): boolean {
    return 'address' in nativeServer(this.host.server(s), this.host.settings.source);
  }

  /** A client datagram no server could take. */
  private drop(why: DropWhy): void {
    this.tally.dropped += 1;
    this.host.dropped(why);
  }

  private select(address: string, port: number, length: number): number {
    const h = this.host;
    if (h.serverCount() !== this.told.regular) this.sync();
    const session = new NativeUdpSession(this, address, port, h.now(), length);
    let slot = h.alloc(session);
    if (slot < 0 && this.recycle()) slot = h.alloc(session);
    if (slot < 0 || slot >= this.slots) {
      if (slot >= 0) h.release(session); // conn_max grew past this engine; the balancer reopens the listener
      this.drop('full');
      return -1;
    }
    this.tally.sessions += 1;
    session.clientIndex = h.storeClient(session.clientAddress, port);
    let p = h.firstPick(session);
    // a server UDP cannot reach is skipped like a refused one, as in udp.ts
    for (let failovers = 0; p.kind !== 'none' && !this.reachable(p.s); failovers++) {
      p = h.nextPick(session, p.s, session.initial, failovers);
    }
    if (p.kind === 'none') {
      this.drop(p.why);
      h.release(session);
      return -1;
    }
    session.held = true;
    this.count += 1;
    this.choose(session, p.s);
    return pick(slot, this.nativeIndex(p.s));
  }

  /**
   * The session's server refused a datagram (errno ECONNREFUSED: it is blacklisted) or is down
   * (errno 0): move to the next server that can take it, as udp.ts's failover. -1 keeps it where it
   * is, and a datagram that found its server down is dropped.
   */
  private failed(slot: number, errno: number): number {
    const s = this.at(slot);
    if (s === null) return -1;
    const h = this.host;
    if (errno !== 0) h.failed(s.server, `connect failure: ${uvMessage('recvmsg', -errno, '')}`, -errno);
    const next = h.nextPick(s, s.server, s.server, 0);
    const why = next.kind === 'none' ? next.why : next.s === s.server || !this.reachable(next.s) ? 'nosrv' : null;
    if (why !== null || next.kind === 'none') {
      if (errno === 0) this.drop(why ?? 'nosrv');
      return -1;
    }
    // what was sent so far belongs to the server being left
    const sx = s.sx();
    h.drop(s, { sx, rx: 0 });
    s.base += sx;
    this.choose(s, next.s);
    return this.nativeIndex(next.s);
  }

  /** The table is full: the engine closes the least recently active session, whose slot frees at once. */
  private recycle(): boolean {
    const slot = this.eng.recycle();
    if (slot < 0) return false;
    const victim = this.at(slot);
    if (victim === null) return true;
    this.count -= 1;
    victim.final = victim.raw(); // its live words stay until the slot is taken again
    this.tally.recycled += 1;
    this.fold(victim.final);
    this.host.release(victim);
    return true;
  }

  private fold(b: { up: number; down: number }): void {
    this.tally.bytesIn += b.up;
    this.tally.bytesOut += b.down;
  }

  /** Whether c, in the table, is a session this listener's engine holds. */
  private held(c: Connection | SlotHolder): c is NativeUdpSession {
    return c instanceof NativeUdpSession && c.of(this);
  }

  protected at(slot: number): NativeUdpSession | null {
    const c = this.host.conns()[slot] ?? null;
    return c !== null && this.held(c) ? c : null;
  }

  protected closed(s: NativeUdpSession, r: Float64Array, o: number): void {
    s.final = { up: word(r, o + REC.BYTES_UP), down: word(r, o + REC.BYTES_DOWN) };
    this.fold(s.final);
    const why = word(r, o + REC.WHY);
    if (why === WHY_IDLE) this.tally.expired += 1;
    if (why !== WHY_CONNECT_FAILED) return;
    // the upstream socket could not be opened: the datagram is lost; no descriptor left is the
    // balancer's condition, logged once (at -d), as udp.ts does
    const errno = word(r, o + REC.ERRNO);
    if (errno === ERRNO.EMFILE || errno === ERRNO.ENFILE) {
      this.host.outOfDescriptors(`socket: ${errnoText(errno)}`);
      this.drop('nofd');
    } else {
      debug(`udp session ${s.index}: ${errnoText(errno)}`);
      this.drop('nosrv');
    }
  }
}
