// UDP (-U): one session per client address:port, with the same selection, tracking, limits,
// blacklisting and failover as TCP. A session owns one upstream socket connect()ed to its
// server; replies go back through the listener socket, so they come from the address:port the
// client sent to. Sessions take connection-table slots (so -x bounds them, and `connection N`,
// `close N` and the status page see them), expire when idle, and when the table is full the
// least recently active session is recycled (pen uses a clock approximation of the same, issue
// #46): a flood of spoofed source addresses can never hold more than -x upstream sockets, and it
// displaces idle sessions before busy ones. Recency is an intrusive list (move to front on
// traffic either way), so a datagram costs a few pointer writes and no allocation.
//
// Counters follow pen (§2.4): a session's first datagram and all replies are not counted in
// sx/rx/csx; later client datagrams count in the server's sx and the client's crx. The
// listener's own counters (datagrams and bytes each way, drops, sessions) count everything.
//
// The sockets are Node's raw libuv UDP handles, through datagram.ts; what remains per query is the
// kernel (about pen's whole cost) and Node's own work per datagram received (a Buffer, an
// address object, a call into JavaScript). A session sees the balancer only as its PairHost.
import type { AddressInfo } from 'node:net';
import { plainIp, type ListenSpec } from './address.ts';
import { CS_CONNECTED, socketId, type SweepClock } from './connection.ts';
import {
  DatagramFailure, closeDatagram, datagramAddress, errorName, listenDatagram, openUpstream, sendConnected, sendTo,
  uvMessage, type Datagram, type DatagramOwner,
} from './datagram.ts';
import { debug } from './diag.ts';
import { PenError } from './errors.ts';
import type { NoneWhy } from './pick.ts';
import type { DropWhy, Listener, PairEntry, PairHost } from './pair-host.ts';
import { NO_SERVER, isDown, serverWhere } from './servers.ts';

/** pen reads at most this much of a datagram; the rest is cut off. */
export const MAX_DATAGRAM = 32768;
/** idle lifetime of a session when `idle_timeout` is 0 (pen itself has none: only recycling) */
export const UDP_IDLE_DEFAULT = 60;
/** receive buffer asked for on the listener socket */
const LISTEN_RCVBUF = 4 * 1024 * 1024;

export interface UdpCounters {
  datagramsIn: number;   // from clients
  bytesIn: number;
  datagramsOut: number;  // replies to clients
  bytesOut: number;
  dropped: number;       // client datagrams no server could take
  sessions: number;      // sessions created
  expired: number;       // closed after idle_timeout (or the default) without traffic
  recycled: number;      // closed to make room for a new session in a full table
}

/** What the tests and reports read of a UDP listener, on either data path (native-udp.ts). */
export interface UdpListening {
  readonly counters: UdpCounters;
  /** open sessions */
  readonly size: number;
}

export class UdpSession implements PairEntry, DatagramOwner {
  index = -1;
  state = CS_CONNECTED;
  clientIndex = -1;
  readonly clientAddress: string;
  initial = NO_SERVER;
  server = NO_SERVER;
  counted = false;
  t: number;
  downId: number;
  upId = -1;
  /** pen's counters: later client datagrams only */
  sx = 0;
  crx = 0;
  private upstream: Datagram | null = null;
  /** the latest client datagram, replayed once per server when a server refuses it */
  private last: Buffer | null = null;
  private replays = 0;
  private closed = false;
  /** the listener's recency list: prev is more recent, next is older */
  prev: UdpSession | null = null;
  next: UdpSession | null = null;

  constructor(
    private readonly host: PairHost,
    readonly listener: UdpListener,
    /** as the listener socket reports it (`::ffff:a.b.c.d` on a dual-stack socket): where replies go */
    readonly replyAddress: string,
    readonly clientPort: number,
  ) {
    this.clientAddress = plainIp(replyAddress);
    this.t = host.now();
    this.downId = listener.socketId;
  }

  get clientIp(): string {
    return this.clientAddress;
  }

  pendingDown(): number {
    return 0;
  }

  /** sends complete at once or wait in the kernel's or libuv's queue, never in ours */
  pendingUp(): number {
    return 0;
  }

  bytes() {
    return { sx: this.sx, rx: 0, csx: 0, crx: this.crx };
  }

  /** The first datagram: choose a server as for a new TCP connection. False (and counted) when none can take it. */
  open(msg: Buffer): boolean {
    const host = this.host;
    this.clientIndex = host.storeClient(this.clientAddress, this.clientPort);
    let pick = host.firstPick(this);
    // a server UDP cannot reach (a Unix socket path) is skipped like a refused one
    for (let failovers = 0; pick.kind !== 'none' && !this.connectTo(pick.s); failovers++) {
      pick = host.nextPick(this, pick.s, this.initial, failovers);
    }
    if (pick.kind === 'none') {
      this.listener.drop(pick.why);
      return false;
    }
    this.last = msg;
    this.send(msg);
    return true;
  }

  /** A later datagram from the client. */
  fromClient(msg: Buffer): void {
    const host = this.host;
    this.t = host.now();
    this.listener.touch(this);
    this.replays = 0;
    const server = host.server(this.server);
    // a blacklisted or health-down server loses its sessions, as a TCP client's remembered
    // server would; a draining one keeps them
    if (server === null || isDown(server, this.t, host.settings.blacklistTime)) {
      const why = this.failover();
      if (why !== null) {
        this.listener.drop(why);
        return;
      }
    }
    const out = host.tap(this, msg, false);
    this.sx += out.length;
    this.crx += msg.length;
    this.last = out;
    this.send(out);
  }

  private send(msg: Buffer): void {
    // a send error (the kernel's queue full, or a refusal that the next read would report) loses
    // the datagram, as UDP may
    if (this.upstream !== null) sendConnected(this.upstream, msg);
  }

  /** A datagram or a receive error (nread < 0) on the upstream handle. */
  fromUpstream(nread: number, handle: Datagram, buf: Buffer): void {
    // a handle left behind by failover or close is closed and stopped, but be sure
    if (handle !== this.upstream) return;
    if (nread >= 0) {
      // a reply from the server goes back to the client from the listener's address
      this.t = this.host.now();
      this.listener.touch(this);
      this.listener.reply(buf, this.clientPort, this.replyAddress);
      return;
    }
    const message = uvMessage('recvmsg', nread);
    if (errorName(nread) !== 'ECONNREFUSED') {
      debug(`udp session ${this.index}: ${message}`);
      this.close();
      return;
    }
    // an ICMP port unreachable is UDP's "connection refused": blacklist and fail over as TCP
    // does, and replay the datagram that was lost (at most once per server)
    this.host.failed(this.server, `connect failure: ${message}`, nread);
    if (this.failover() !== null) return;
    if (this.last !== null && this.replays++ < this.host.serverCount()) this.send(this.last);
  }

  /** Move the session to the next server that can take it; null when it moved, else why not (and no change). */
  private failover(): NoneWhy | null {
    const next = this.host.nextPick(this, this.server, this.server, 0);
    if (next.kind === 'none') return next.why;
    if (next.s === this.server) return 'nosrv';
    this.dropUpstream();
    return this.connectTo(next.s) ? null : 'nosrv';
  }

  private connectTo(s: number): boolean {
    const host = this.host;
    const server = host.server(s);
    if (server === null || (server.family !== 4 && server.family !== 6)) return false;
    const source = host.settings.source;
    const up = openUpstream(this, server.family === 6, source, server.address, server.port);
    if (up instanceof DatagramFailure) {
      // e.g. a source address of the other family, or no route: skipped like a refused server;
      // no descriptor left is the balancer's condition, counted and logged once (at -d)
      const why = up.message(up.syscall === 'bind' ? source ?? '' : serverWhere(server));
      if (up.noDescriptor) host.outOfDescriptors(why);
      else debug(`udp session ${this.index}: ${why}`);
      return false;
    }
    this.upstream = up;
    this.upId = socketId();
    this.server = s;
    host.chosen(this, s);
    // UDP "connects" at once, so it counts against the server's limits at once
    host.take(this);
    return true;
  }

  /** Close the upstream socket, if any. */
  private closeUpstreamSocket(): void {
    const up = this.upstream;
    this.upstream = null;
    if (up !== null) closeDatagram(up);
  }

  private dropUpstream(): void {
    this.closeUpstreamSocket();
    this.upId = -1;
    // what was sent so far belongs to the server being left
    this.host.drop(this, { sx: this.sx, rx: 0 });
    this.sx = 0;
  }

  /** The table's sweep: a session idle for idle_timeout seconds (UDP_IDLE_DEFAULT when that is 0) expires. */
  timeouts(c: SweepClock): void {
    const idle = c.idleMs > 0 ? c.idleMs / 1000 : UDP_IDLE_DEFAULT;
    if (c.nowS - this.t >= idle) this.listener.expire(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeUpstreamSocket();
    this.last = null;
    this.listener.forget(this);
    // release() folds sx/crx into the server and client and drops the server if counted
    this.host.release(this);
  }
}

export class UdpListener implements Listener, UdpListening {
  readonly counters: UdpCounters = {
    datagramsIn: 0, bytesIn: 0, datagramsOut: 0, bytesOut: 0, dropped: 0, sessions: 0, expired: 0, recycled: 0,
  };
  readonly socketId = socketId();
  /** client address → client port → session; two levels so a lookup builds no key string */
  private readonly sessions = new Map<string, Map<number, UdpSession>>();
  private sessionCount = 0;
  /** most and least recently active sessions */
  private head: UdpSession | null = null;
  private tail: UdpSession | null = null;
  private closed = false;
  private readonly handle: Datagram;

  /** Bind and start receiving; throws the bind error. */
  constructor(private readonly host: PairHost, address: string, port: number, private readonly v6: boolean) {
    this.handle = listenDatagram(address, port, v6, LISTEN_RCVBUF, this.onMessage);
  }

  get size(): number {
    return this.sessionCount;
  }

  address(): AddressInfo {
    return datagramAddress(this.handle) as AddressInfo;
  }

  private readonly onMessage = (
    nread: number, _handle: Datagram, msg: Buffer, rinfo: { address: string; port: number },
  ): void => {
    if (nread < 0) {
      debug(`udp listener: ${uvMessage('recvmsg', nread)}`);
      return;
    }
    const data = msg.length > MAX_DATAGRAM ? msg.subarray(0, MAX_DATAGRAM) : msg;
    const c = this.counters;
    c.datagramsIn += 1;
    c.bytesIn += data.length;
    const session = this.sessions.get(rinfo.address)?.get(rinfo.port);
    if (session !== undefined) session.fromClient(data);
    else this.newSession(data, rinfo.address, rinfo.port);
  };

  private newSession(msg: Buffer, address: string, port: number): void {
    const host = this.host;
    const session = new UdpSession(host, this, address, port);
    if (host.alloc(session) < 0 && !(this.recycle() && host.alloc(session) >= 0)) {
      this.drop('full');
      return;
    }
    let byPort = this.sessions.get(address);
    if (byPort === undefined) {
      byPort = new Map();
      this.sessions.set(address, byPort);
    }
    byPort.set(port, session);
    this.pushFront(session);
    this.sessionCount += 1;
    this.counters.sessions += 1;
    if (!session.open(msg)) session.close();
  }

  /** A client datagram that no server could take. */
  drop(why: DropWhy): void {
    this.counters.dropped += 1;
    this.host.dropped(why);
  }

  reply(msg: Buffer, port: number, address: string): void {
    if (this.closed) return;
    this.counters.datagramsOut += 1;
    this.counters.bytesOut += msg.length;
    sendTo(this.handle, this.v6, msg, port, address);
  }

  /** Called by a session as it closes. */
  forget(session: UdpSession): void {
    const byPort = this.sessions.get(session.replyAddress);
    if (byPort?.get(session.clientPort) !== session) return;
    byPort.delete(session.clientPort);
    if (byPort.size === 0) this.sessions.delete(session.replyAddress);
    this.unlink(session);
    this.sessionCount -= 1;
  }

  private pushFront(s: UdpSession): void {
    s.prev = null;
    s.next = this.head;
    if (this.head !== null) this.head.prev = s;
    this.head = s;
    if (this.tail === null) this.tail = s;
  }

  private unlink(s: UdpSession): void {
    if (s.prev !== null) s.prev.next = s.next;
    else this.head = s.next;
    if (s.next !== null) s.next.prev = s.prev;
    else this.tail = s.prev;
    s.prev = null;
    s.next = null;
  }

  /** Traffic on a session, either way: it becomes the most recent. */
  touch(s: UdpSession): void {
    if (this.head === s) return;
    this.unlink(s);
    this.pushFront(s);
  }

  /** The table is full: close the least recently active session to make room. */
  private recycle(): boolean {
    const victim = this.tail;
    if (victim === null) return false;
    this.counters.recycled += 1;
    victim.close();
    return true;
  }

  /** The sweep found s idle for too long. */
  expire(s: UdpSession): void {
    this.counters.expired += 1;
    s.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const byPort of [...this.sessions.values()]) for (const s of [...byPort.values()]) s.close();
    closeDatagram(this.handle);
  }
}

/** Open the UDP listener; resolves once bound, rejects with the bind error. */
export function listenUdp(host: PairHost, spec: ListenSpec): Promise<UdpListener> {
  if (spec.family === 'unix') {
    return Promise.reject(new PenError('PEN_ERR_UNSUPPORTED', `UDP on a Unix socket path is not supported: ${spec.text}`));
  }
  // spec.host is an IP address here (the balancer resolves names)
  try {
    return Promise.resolve(new UdpListener(host, spec.host, spec.port, spec.family === 6));
  } catch (err) {
    return Promise.reject(err);
  }
}
