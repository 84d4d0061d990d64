// TCP: the listener and the connection pair. Both ends of a plain TCP (or Unix socket) pair are
// libuv stream handles driven directly (see uv.ts for why); a TLS client end is the TLSSocket
// that node:tls hands over. Forwarding is full duplex with backpressure both ways: an end whose
// write is still queued stops the other end reading until it drains, as pen does. Half-close is
// propagated unless tcp_fastclose says otherwise; a pair the client has half-closed lives on
// only while its server answers (see sweep). Running out of file descriptors is the balancer's
// condition: a connect that finds none waits for one instead of blaming the server.
//
// The pair sees the balancer only as its PairHost (pair-host.ts), and Node's bindings only
// through ends.ts.
import net, { type Server as NetServer, type Socket } from 'node:net';
import { plainIp } from './address.ts';
import { CS_CLOSED_DOWN, CS_CLOSED_UP, CS_CONNECTED, CS_CONNECTING, socketId, type SweepClock } from './connection.ts';
import { debug } from './diag.ts';
import {
  ConnectFailure, abortConnect, acceptEnds, connectEnd, connectedEnd, uvMessage,
  type ClientEnd, type ConnectOwner, type End, type HandleEnd, type Pair, type PendingConnect,
} from './ends.ts';
import type { PairEntry, PairHost } from './pair-host.ts';
import { NO_SERVER, serverWhere } from './servers.ts';
import { socketClient } from './socket-end.ts';

const DUMMY_REPLY = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Type: text/html\r\n\r\nUlric was here.');

const CS_BOTH_CLOSED = CS_CLOSED_UP | CS_CLOSED_DOWN;

export type { ClientEnd };

export class TcpConnection implements PairEntry, Pair, ConnectOwner {
  index = -1;
  state = CS_CONNECTING;
  clientIndex = -1;
  readonly clientAddress: string;
  readonly clientIp: string | null;
  readonly clientPort: number;
  initial = NO_SERVER;
  server = NO_SERVER;
  counted = false;
  t: number;
  /** Date.now() of the last data either way, for idle_timeout */
  active = 0;
  downId = socketId();
  upId = -1;
  /** Date.now() when the connect in progress started (sweep() times it out) */
  connectStarted = 0;
  /** Date.now() since when the connect has been waiting for a file descriptor; 0 when not */
  fdWaitSince = 0;
  /** bytes queued to the server at the last sweep (see serverSilent) */
  private queuedUp = 0;
  private upstream: HandleEnd | null = null;
  private connecting: PendingConnect | null = null;
  private failovers = 0;
  private closed = false;
  /** ends still writing out what they had queued before the pair can close (see eof) */
  private flushing = 0;
  /** -D: no server; the first request gets pen's fixed page */
  private dummy = false;
  private dummyAnswered = false;

  constructor(private readonly host: PairHost, readonly client: ClientEnd, readonly https: boolean) {
    this.clientIp = client.remoteAddress ? plainIp(client.remoteAddress) : null;
    this.clientAddress = this.clientIp ?? 'unix';
    this.clientPort = client.remotePort;
    this.t = host.now();
  }

  pendingDown(): number {
    return this.client.pending();
  }

  pendingUp(): number {
    return this.upstream?.pending() ?? 0;
  }

  bytes() {
    const up = this.upstream;
    return {
      sx: up ? up.bytesWritten() : 0, rx: up ? up.bytesRead() : 0,
      csx: this.client.bytesWritten(), crx: this.client.bytesRead(),
    };
  }

  /** The table has given it a slot: pick a server and connect, failing over as pen does. */
  start(): void {
    this.client.attach(this);
    if (this.host.settings.dummy) return this.serveDummy();
    const pick = this.host.firstPick(this);
    if (pick.kind === 'none') {
      this.host.dropped(pick.why);
      return this.close();
    }
    this.connectTo(pick.s);
  }

  private connectTo(s: number): void {
    const host = this.host;
    const server = host.server(s)!;
    this.server = s;
    host.chosen(this, s);
    this.state = CS_CONNECTING;
    this.upId = socketId();
    const p = connectEnd(this, server, host.settings.source);
    if (p instanceof ConnectFailure) return this.connectError(s, p);
    this.connecting = p;
    this.connectStarted = Date.now();
    if (host.fdPaused()) host.descriptorsBack();
  }

  /** The server socket could not be opened: no descriptor left (wait for one), or the server's fault. */
  private connectError(s: number, f: ConnectFailure): void {
    if (!f.noDescriptor) return this.connectFailure(s, `connect failure: ${f.why}`, f.status);
    this.upId = -1;
    this.connectStarted = 0;
    this.fdWaitSince = Date.now();
    this.host.outOfDescriptors(f.why, this);
  }

  /** The balancer may have a descriptor again: retry the connect that found none. */
  retryConnect(): void {
    if (this.closed || this.fdWaitSince === 0) return;
    this.fdWaitSince = 0;
    this.connectTo(this.server);
  }

  /** sweep(): no descriptor came free within -t: the client is dropped, no server is blamed. */
  noDescriptor(): void {
    if (this.host.settings.debug >= 1) debug(`connection ${this.index}: no file descriptor to connect with in ${this.host.settings.timeout} s`);
    this.host.dropped('nofd');
    this.close();
  }

  /**
   * sweep(), once the client has sent EOF: has the server neither sent nor read a byte for
   * `limit` ms? Its reading shows as the queue to it shrinking between sweeps (watched here, not
   * per write: a clock read per drained write was measurable).
   */
  serverSilent(now: number, limit: number): boolean {
    const queued = this.pendingUp();
    if (queued !== this.queuedUp) {
      this.queuedUp = queued;
      this.active = now;
    }
    return now - this.active >= limit && this.pendingDown() === 0;
  }

  /** sweep(): the client sent EOF and the server has been silent since, for -t seconds. */
  clientGone(): void {
    if (this.host.settings.debug >= 2) debug(`connection ${this.index}: client sent EOF, server silent for ${this.host.settings.timeout} s: closing`);
    this.close();
  }

  /** sweep(): the connect in progress has taken longer than -t allows. */
  connectTimedOut(): void {
    if (this.connecting !== null) this.connectFailure(this.server, 'connect timeout', 0);
  }

  /** The connect p completed (status 0) or failed. */
  connectDone(p: PendingConnect, status: number): void {
    if (this.connecting !== p || this.closed) return;
    const s = this.server;
    if (status !== 0) {
      const server = this.host.server(s);
      return this.connectFailure(s, `connect failure: ${uvMessage('connect', status, server ? serverWhere(server) : '')}`, status);
    }
    this.connecting = null;
    this.connected(p);
  }

  /** The connect to s failed or timed out: blacklist it and fail over, as pen does (pick.ts bounds it). */
  private connectFailure(s: number, why: string, status: number): void {
    if (this.closed) return;
    const p = this.connecting;
    this.connecting = null;
    if (p !== null) abortConnect(p);
    this.upId = -1;
    const host = this.host;
    host.failed(s, why, status);
    const next = host.nextPick(this, s, this.initial, this.failovers++);
    if (next.kind === 'none') {
      host.dropped(next.why);
      return this.close();
    }
    this.connectTo(next.s);
  }

  private connected(p: PendingConnect): void {
    const host = this.host;
    host.take(this);
    this.state = CS_CONNECTED;
    this.t = host.now();
    this.active = Date.now();
    const up = connectedEnd(p, host.settings);
    up.attach(this);
    this.upstream = up;
    up.startReading();
    this.client.startReading();
  }

  /** Data read from one end goes to the other; while it is queued there, the reading end waits. */
  data(from: End, chunk: Buffer): void {
    if (this.closed) return;
    this.active = Date.now();
    if (this.dummy) return this.replyDummy();
    let to: End | null;
    if (from === this.client) {
      to = this.upstream;
      chunk = this.host.tap(this, chunk, this.https);
    } else {
      to = this.client;
    }
    if (to !== null && !to.write(chunk)) from.pause();
  }

  /** What `to` had queued is written: the other end may read again. */
  drained(to: End): void {
    if (this.closed) return;
    (to === this.client ? this.upstream : this.client)?.resume();
  }

  /**
   * EOF from one end: propagate the half-close. When both directions are done (or tcp_fastclose
   * says one is enough), the pair closes as soon as what is still queued is written: at once in
   * the usual case, since close sends the FIN a shutdown would.
   */
  eof(from: End): void {
    if (this.closed) return;
    const side = from === this.client ? CS_CLOSED_DOWN : CS_CLOSED_UP;
    this.state |= side;
    const other = side === CS_CLOSED_DOWN ? this.upstream : this.client;
    if (other === null) return this.close();
    if ((this.state & CS_BOTH_CLOSED) === CS_BOTH_CLOSED) {
      this.flushing = (other.finish() ? 1 : 0) + (from.finish() ? 1 : 0);
      if (this.flushing === 0) this.close();
      return;
    }
    const fast = this.host.settings.tcpFastclose;
    if (fast === 'both' || (side === CS_CLOSED_UP ? fast === 'up' : fast === 'down')) {
      this.flushing = 1;
      if (!other.finish()) this.close();
      return;
    }
    other.shutdown();
  }

  /** An end that eof() waits for has written all it had queued. */
  flushed(_end: End): void {
    if (--this.flushing <= 0) this.close();
  }

  /** A read or write failed: the pair is done. */
  failed(_end: End, why: string): void {
    if (this.host.settings.debug >= 2) debug(`connection ${this.index}: ${why}`);
    this.close();
  }

  /** -D / `dummy`: answer the first request with pen's fixed page, no server involved. */
  private serveDummy(): void {
    this.state = CS_CONNECTED;
    this.dummy = true;
    this.active = Date.now();   // idle_timeout counts from here, as for a connected pair
    this.client.startReading();
  }

  private replyDummy(): void {
    if (this.dummyAnswered) return;
    this.dummyAnswered = true;
    this.client.write(DUMMY_REPLY);
    this.client.shutdown();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const p = this.connecting;
    this.connecting = null;
    if (p !== null) abortConnect(p);
    this.client.close();
    this.upstream?.close();
    this.host.release(this);
  }

  /** The table's sweep: the connect timeout (-t), idle_timeout, and a client gone quiet after its EOF. */
  timeouts(c: SweepClock): void {
    const now = c.nowMs;
    if (this.state === CS_CONNECTING) {
      if (this.connectStarted > 0 && now - this.connectStarted >= c.connectMs) this.connectTimedOut();
      else if (this.fdWaitSince > 0 && now - this.fdWaitSince >= c.connectMs) this.noDescriptor();
    } else if (this.state & CS_CONNECTED) {
      if (c.idleMs > 0 && now - this.active >= c.idleMs) this.close();
      // the client has sent EOF and for -t seconds the server has neither sent nor read a byte:
      // a client that closed cannot be told from one that half-closed, so the pair ends (an
      // answer still being written to a slow client keeps it)
      else if ((this.state & CS_BOTH_CLOSED) === CS_CLOSED_DOWN && this.serverSilent(now, c.connectMs)) {
        this.clientGone();
      }
    }
  }
}

/** A new client from the listener: a slot and a server, or a place in the queue for a full table. */
export function acceptClient(host: PairHost, client: ClientEnd, https: boolean): void {
  const conn = new TcpConnection(host, client, https);
  if (host.alloc(conn) < 0) {
    const waiting = {
      get closed() { return client.closed; },
      admit: () => acceptClient(host, client, https),
      close: () => client.close(),
    };
    if (!host.wait(waiting)) client.close();
    return;
  }
  conn.clientIndex = host.storeClient(conn.clientIp, conn.clientPort);
  conn.start();
}

export interface TcpListenerOptions {
  backlog: number;
  createServer?: (onConnection: (s: Socket) => void) => NetServer;
  https?: boolean;
}

/** Open the TCP (or TLS) listener; resolves once bound, rejects with the bind error. */
export function listenTcp(host: PairHost, bind: net.ListenOptions, opts: TcpListenerOptions): Promise<NetServer> {
  const https = opts.https ?? false;
  const server = opts.createServer
    ? opts.createServer((socket) => acceptClient(host, socketClient(socket), https))
    : net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ ...bind, backlog: opts.backlog }, () => {
      server.removeListener('error', reject);
      server.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EMFILE' || err.code === 'ENFILE') host.outOfDescriptors(err.message);
        else debug(`listener: ${err.message}`);
      });
      // plain TCP: take the accepted handles before net wraps them in Sockets
      if (!opts.createServer) {
        acceptEnds(server, host.settings, (client) => acceptClient(host, client, false), (why, noDescriptor) => {
          if (noDescriptor) host.outOfDescriptors(why);
          else debug(`listener: ${why}`);
        });
      }
      resolve(server);
    });
  });
}

