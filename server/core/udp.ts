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
// The sockets are Node's raw libuv UDP handles (server/core/uv.ts), not dgram.Socket: dgram's
// send() runs every reply address through dns.lookup and a nextTick, allocates a request, a list
// and closures per datagram, and delivers each datagram through an EventEmitter. That was about a
// tenth of the CPU per query; what remains is the kernel (about pen's whole cost) and Node's own
// work per datagram received (a Buffer, an address object, a call into JavaScript). Upstream
// handles are connect()ed, which is synchronous on a handle, so a first datagram goes out at once.
import type { AddressInfo } from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Balancer, Listener } from './balancer.ts';
import { plainIp, type ListenSpec } from './address.ts';
import { clientKey } from './clients.ts';
import { CS_CONNECTED, socketId, type Connection } from './connection.ts';
import { debug } from './diag.ts';
import { PenError } from './errors.ts';
import { insertForwardedHeaders } from './http.ts';
import type { ClientInfo } from './select.ts';
import { NO_SERVER, isDown, serverAt, serverWhere } from './servers.ts';
import { SendWrap, UDP, connectUdp, errorName, outOfDescriptors, uvMessage, type SendReq, type UdpHandle } from './uv.ts';

/** pen reads at most this much of a datagram; the rest is cut off. */
export const MAX_DATAGRAM = 32768;
/** idle lifetime of a session when `idle_timeout` is 0 (pen itself has none: only recycling) */
export const UDP_IDLE_DEFAULT = 60;
/** receive buffer asked for on the listener socket */
const LISTEN_RCVBUF = 4 * 1024 * 1024;
/** bind flag that lets a restarted pen take the port at once, as dgram's reuseAddr */
const UV_UDP_REUSEADDR: number = osConstants.UV_UDP_REUSEADDR;

// One request and one 1-element list serve every send that completes at once (send() returns
// bytes + 1): Node's UDPWrap only wraps the request object when the datagram has to wait in
// libuv's queue, and then keeps it, and through req.list the buffer, until it is sent. So after
// an asynchronous send (return 0) the next send takes a fresh pair. Negative returns are libuv
// errors; as with dgram's send() without a callback, the datagram is lost and nothing is thrown.
let sendReq: SendReq = new SendWrap();
let sendList: Buffer[] = [];
sendReq.list = sendList;

function sendDone(result: number): number {
  if (result === 0) {
    sendReq = new SendWrap();
    sendList = [];
    sendReq.list = sendList;
  }
  return result;
}

/** Send on a connect()ed handle; a negative libuv error when the datagram was not sent. */
function sendConnected(handle: UdpHandle, msg: Buffer): number {
  sendList[0] = msg;
  return sendDone(handle.send(sendReq, sendList, 1, false));
}

/** Send to address:port on an unconnected handle of family 4 or 6. */
function sendTo(handle: UdpHandle, v6: boolean, msg: Buffer, port: number, address: string): number {
  sendList[0] = msg;
  return sendDone(v6 ? handle.send6(sendReq, sendList, 1, port, address, false) : handle.send(sendReq, sendList, 1, port, address, false));
}

/** A session's upstream handle knows its session, so all of them share one onmessage function. */
interface UpstreamHandle extends UdpHandle {
  session: UdpSession;
}

function onUpstreamMessage(nread: number, handle: UdpHandle, buf: Buffer): void {
  (handle as UpstreamHandle).session.fromUpstream(nread, handle, buf);
}

function onHandleError(_nread: number, _handle: UdpHandle, err: Error): void {
  debug(`udp: ${err.message}`);
}

/** Stop and close a raw handle; nothing calls into it afterwards. */
function closeHandle(handle: UdpHandle): void {
  handle.recvStop();
  handle.close();
}

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

export class UdpSession implements Connection {
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
  private upstream: UdpHandle | null = null;
  /** the latest client datagram, replayed once per server when a server refuses it */
  private last: Buffer | null = null;
  private replays = 0;
  private closed = false;
  /** the listener's recency list: prev is more recent, next is older */
  prev: UdpSession | null = null;
  next: UdpSession | null = null;

  constructor(
    private readonly pen: Balancer,
    readonly listener: UdpListener,
    /** as the listener socket reports it (`::ffff:a.b.c.d` on a dual-stack socket): where replies go */
    readonly replyAddress: string,
    readonly clientPort: number,
  ) {
    this.clientAddress = plainIp(replyAddress);
    this.t = pen.now();
    this.downId = listener.socketId;
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

  clientInfo(): ClientInfo {
    return { ip: this.clientAddress, port: this.clientPort, lastServer: this.pen.clients.slots[this.clientIndex]?.server ?? NO_SERVER };
  }

  /** The first datagram: choose a server as for a new TCP connection. False when none can take it. */
  open(msg: Buffer): boolean {
    const pen = this.pen;
    const now = pen.now();
    this.clientIndex = pen.clients.store(clientKey('ip', this.clientAddress), this.clientAddress, this.clientPort, now, pen.settings.trackingTime);
    const client = this.clientInfo();
    this.initial = pen.chooseInitial(client);
    let target = pen.canTry(this.initial, client) ? this.initial : pen.failoverNext(this.initial, this.initial, client);
    // a server UDP cannot reach (a Unix socket path) is skipped like a refused one
    for (let tries = 0; target !== NO_SERVER && !this.connectTo(target); tries++) {
      target = tries > pen.servers.list.length ? NO_SERVER : pen.failoverNext(target, this.initial, client);
    }
    if (target === NO_SERVER) return false;
    this.last = msg;
    this.send(msg);
    return true;
  }

  /** A later datagram from the client. */
  fromClient(msg: Buffer): void {
    const pen = this.pen;
    this.t = pen.now();
    this.listener.touch(this);
    this.replays = 0;
    let server = serverAt(pen.servers, this.server);
    // a blacklisted or health-down server loses its sessions, as a TCP client's remembered
    // server would; a draining one keeps them
    if (server === null || isDown(server, this.t, pen.settings.blacklistTime)) {
      if (!this.failover()) {
        this.listener.drop();
        return;
      }
      server = serverAt(pen.servers, this.server);
    }
    let out = msg;
    if (pen.settings.http) out = insertForwardedHeaders(msg, this.clientAddress, false);
    if (pen.requestLog !== null) pen.requestLog.write(this.clientAddress, server?.address ?? '', out);
    if (pen.settings.debug >= 3) pen.dump(this.index, out);
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
  fromUpstream(nread: number, handle: UdpHandle, buf: Buffer): void {
    // a handle left behind by failover or close is closed and stopped, but be sure
    if (handle !== this.upstream) return;
    if (nread >= 0) {
      // a reply from the server goes back to the client from the listener's address
      this.t = this.pen.now();
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
    const failed = this.server;
    this.pen.connectFailed(failed, `connect failure: ${message}`);
    if (!this.failover()) return;
    if (this.last !== null && this.replays++ < this.pen.servers.list.length) this.send(this.last);
  }

  /** Move the session to the next server that can take it; false (and no change) when none can. */
  private failover(): boolean {
    const pen = this.pen;
    const next = pen.failoverNext(this.server, this.server, this.clientInfo());
    if (next === NO_SERVER || next === this.server) return false;
    this.dropUpstream();
    return this.connectTo(next);
  }

  private connectTo(s: number): boolean {
    const pen = this.pen;
    const server = serverAt(pen.servers, s);
    if (server === null || (server.family !== 4 && server.family !== 6)) return false;
    const v6 = server.family === 6;
    const up = new UDP() as UpstreamHandle;
    const source = pen.settings.source;
    let { err, syscall }: { err: number; syscall: string } = connectUdp(up, v6, source, server.address, server.port);
    if (err === 0) {
      syscall = 'recvStart';
      up.session = this;
      up.onmessage = onUpstreamMessage;
      up.onerror = onHandleError;
      err = up.recvStart();
    }
    if (err !== 0) {
      // e.g. a source address of the other family, or no route: skipped like a refused server;
      // no descriptor left is the balancer's condition, counted and logged once (at -d)
      const why = uvMessage(syscall, err, syscall === 'bind' ? source ?? '' : serverWhere(server));
      if (outOfDescriptors(err)) pen.outOfDescriptors(why);
      else debug(`udp session ${this.index}: ${why}`);
      closeHandle(up);
      return false;
    }
    this.upstream = up;
    this.upId = socketId();
    this.server = s;
    pen.noteChosen(this.clientIndex, s);
    // UDP "connects" at once, so it counts against the server's limits at once
    server.c += 1;
    this.counted = true;
    return true;
  }

  /** Close the upstream handle, if any. */
  private closeUpstreamSocket(): void {
    const up = this.upstream;
    this.upstream = null;
    if (up !== null) closeHandle(up);
  }

  private dropUpstream(): void {
    this.closeUpstreamSocket();
    this.upId = -1;
    // what was sent so far belongs to the server being left
    const server = serverAt(this.pen.servers, this.server);
    if (server) {
      server.sx += this.sx;
      if (this.counted) server.c = Math.max(0, server.c - 1);
    }
    if (this.counted) this.pen.noteReleased(this.server);
    this.sx = 0;
    this.counted = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeUpstreamSocket();
    this.last = null;
    this.listener.forget(this);
    // release() folds sx/crx into the server and client and decrements server.c if counted
    this.pen.release(this);
  }
}

export class UdpListener implements Listener {
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
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly pen: Balancer, private readonly handle: UdpHandle, private readonly v6: boolean) {
    handle.onmessage = this.onMessage;
    handle.onerror = onHandleError;
    handle.recvStart();
    this.sweeper = setInterval(this.sweep, 1000);
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessionCount;
  }

  address(): AddressInfo {
    const out: Partial<AddressInfo> = {};
    this.handle.getsockname(out);
    return out as AddressInfo;
  }

  private readonly onMessage = (nread: number, _handle: UdpHandle, msg: Buffer, rinfo: { address: string; port: number }): void => {
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
    const pen = this.pen;
    const session = new UdpSession(pen, this, address, port);
    if (pen.install(session) < 0 && !(this.recycle() && pen.install(session) >= 0)) {
      this.drop();
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
    if (!session.open(msg)) {
      this.drop();
      session.close();
    }
  }

  /** A client datagram that no server could take. */
  drop(): void {
    this.counters.dropped += 1;
    this.pen.noteDropped();
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

  /** Close sessions idle for idle_timeout seconds (UDP_IDLE_DEFAULT when that is 0), oldest first. */
  private readonly sweep = (): void => {
    const pen = this.pen;
    const idle = pen.settings.idleTimeout > 0 ? pen.settings.idleTimeout : UDP_IDLE_DEFAULT;
    const now = pen.now();
    while (this.tail !== null && now - this.tail.t >= idle) {
      this.counters.expired += 1;
      this.tail.close();
    }
  };

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const byPort of [...this.sessions.values()]) for (const s of [...byPort.values()]) s.close();
    closeHandle(this.handle);
  }
}

/** Open the UDP listener; resolves once bound, rejects with the bind error. */
export function listenUdp(pen: Balancer, spec: ListenSpec): Promise<UdpListener> {
  if (spec.family === 'unix') {
    return Promise.reject(new PenError('PEN_ERR_UNSUPPORTED', `UDP on a Unix socket path is not supported: ${spec.text}`));
  }
  // spec.host is an IP address here (the balancer resolves names); no IPV6ONLY flag, so `::` is
  // dual-stack where the system allows it, as with dgram
  const v6 = spec.family === 6;
  const handle = new UDP();
  const err = v6 ? handle.bind6(spec.host, spec.port, UV_UDP_REUSEADDR) : handle.bind(spec.host, spec.port, UV_UDP_REUSEADDR);
  if (err !== 0) {
    handle.close();
    // worded as dgram's bind error: `bind EADDRINUSE 127.0.0.1:53`
    const e = new Error(uvMessage('bind', err, spec.port > 0 ? `${spec.host}:${spec.port}` : spec.host)) as NodeJS.ErrnoException;
    e.code = errorName(err);
    e.errno = err;
    e.syscall = 'bind';
    return Promise.reject(e);
  }
  // room for bursts of new clients while sessions are set up (the kernel caps it at rmem_max);
  // bufferSize() returns undefined on failure, and the default buffer still works
  const ctx = {};
  const size = handle.bufferSize(0, true, ctx);
  if (size !== undefined && size < LISTEN_RCVBUF) handle.bufferSize(LISTEN_RCVBUF, true, ctx);
  return Promise.resolve(new UdpListener(pen, handle, v6));
}
