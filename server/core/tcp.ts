// TCP: the listener and the connection pair. Both ends of a plain TCP (or Unix socket) pair are
// libuv stream handles driven directly (see uv.ts for why); a TLS client end is the TLSSocket
// that node:tls hands over. Forwarding is full duplex with backpressure both ways: an end whose
// write is still queued stops the other end reading until it drains, as pen does. Half-close is
// propagated unless tcp_fastclose says otherwise; a pair the client has half-closed lives on
// only while its server answers (see sweep). Running out of file descriptors is the balancer's
// condition: a connect that finds none waits for one instead of blaming the server.
import net, { type Server as NetServer, type Socket } from 'node:net';
import { CS_CLOSED_DOWN, CS_CLOSED_UP, CS_CONNECTED, CS_CONNECTING, socketId, type Connection } from './connection.ts';
import { insertForwardedHeaders } from './http.ts';
import { debug } from './diag.ts';
import { NO_SERVER, serverAt, serverWhere } from './servers.ts';
import { HandleEnd, handleClient, socketClient, type ClientEnd, type End, type EndHandle, type Pair } from './ends.ts';
import {
  PIPE_SOCKET, Pipe, PipeConnectWrap, TCP, TCPConnectWrap, TCP_SOCKET, outOfDescriptors, uvMessage, type ConnectReq, type StreamHandle,
} from './uv.ts';
import type { Balancer } from './balancer.ts';

const DUMMY_REPLY = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Type: text/html\r\n\r\nUlric was here.');

const CS_BOTH_CLOSED = CS_CLOSED_UP | CS_CLOSED_DOWN;

interface PairConnectReq extends ConnectReq {
  conn: TcpConnection;
  handle: StreamHandle;
}

export type { ClientEnd };

export class TcpConnection implements Connection, Pair {
  index = -1;
  state = CS_CONNECTING;
  clientIndex: number;
  clientAddress: string;
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
  private connectReq: PairConnectReq | null = null;
  private attempts = 0;
  private closed = false;
  /** ends still writing out what they had queued before the pair can close (see eof) */
  private flushing = 0;
  /** -D: no server; the first request gets pen's fixed page */
  private dummy = false;
  private dummyAnswered = false;

  constructor(private readonly pen: Balancer, readonly client: ClientEnd, clientAddress: string, clientIndex: number, readonly https: boolean) {
    this.clientIndex = clientIndex;
    this.clientAddress = clientAddress;
    this.t = pen.now();
    client.attach(this);
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

  /** Pick a server and connect, failing over as pen does. */
  start(): void {
    if (this.pen.settings.dummy) return this.serveDummy();
    const client = this.pen.clientInfo(this.clientIndex, this.client);
    this.initial = this.pen.chooseInitial(client);
    const target = this.pen.canTry(this.initial, client) ? this.initial : this.pen.failoverNext(this.initial, this.initial, client);
    if (target === NO_SERVER) {
      this.pen.noteDropped();
      return this.close();
    }
    this.connectTo(target);
  }

  private connectTo(s: number): void {
    const pen = this.pen;
    const server = serverAt(pen.servers, s)!;
    this.server = s;
    pen.noteChosen(this.clientIndex, s);
    this.state = CS_CONNECTING;
    const unix = server.family === 'unix';
    const handle = unix ? new Pipe(PIPE_SOCKET) : new TCP(TCP_SOCKET);
    const req = (unix ? new PipeConnectWrap() : new TCPConnectWrap()) as PairConnectReq;
    req.oncomplete = onConnectDone;
    req.conn = this;
    req.handle = handle;
    this.connectReq = req;
    this.upId = socketId();
    let err = 0;
    const source = pen.settings.source;
    if (!unix && source !== null) {
      err = server.family === 6 ? handle.bind6!(source, 0, 0) : handle.bind!(source, 0);
      if (err !== 0) return this.connectError(handle, s, uvMessage('bind', err, source), err);
    }
    if (unix) err = handle.connect(req, server.address);
    else if (server.family === 6) err = handle.connect6!(req, server.address, server.port);
    else err = handle.connect(req, server.address, server.port);
    if (err !== 0) return this.connectError(handle, s, uvMessage('connect', err, serverWhere(server)), err);
    this.connectStarted = Date.now();
    if (pen.fdPaused) pen.descriptorsBack();
  }

  /** The server socket could not be opened: no descriptor left (wait for one), or the server's fault. */
  private connectError(handle: StreamHandle, s: number, why: string, err: number): void {
    if (!outOfDescriptors(err)) return this.connectFailure(handle, s, `connect failure: ${why}`);
    this.connectReq = null;
    handle.close();
    this.upId = -1;
    this.connectStarted = 0;
    this.fdWaitSince = Date.now();
    this.pen.outOfDescriptors(why, this);
  }

  /** The balancer may have a descriptor again: retry the connect that found none. */
  retryConnect(): void {
    if (this.closed || this.fdWaitSince === 0) return;
    this.fdWaitSince = 0;
    this.connectTo(this.server);
  }

  /** sweep(): no descriptor came free within -t: the client is dropped, no server is blamed. */
  noDescriptor(): void {
    if (this.pen.settings.debug >= 1) debug(`connection ${this.index}: no file descriptor to connect with in ${this.pen.settings.timeout} s`);
    this.pen.noteDropped();
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
    if (this.pen.settings.debug >= 2) debug(`connection ${this.index}: client sent EOF, server silent for ${this.pen.settings.timeout} s: closing`);
    this.close();
  }

  /** sweep(): the connect in progress has taken longer than -t allows. */
  connectTimedOut(): void {
    const req = this.connectReq;
    if (req !== null) this.connectFailure(req.handle, this.server, 'connect timeout');
  }

  /** The connect on handle completed (status 0) or failed. */
  connectDone(req: PairConnectReq, status: number): void {
    if (this.connectReq !== req || this.closed) return;
    const s = this.server;
    if (status !== 0) {
      const server = serverAt(this.pen.servers, s);
      return this.connectFailure(req.handle, s, `connect failure: ${uvMessage('connect', status, server ? serverWhere(server) : '')}`);
    }
    this.connectReq = null;
    this.connected(req.handle, s);
  }

  /** The connect to s failed or timed out: blacklist it and fail over, as pen does. */
  private connectFailure(handle: StreamHandle, s: number, why: string): void {
    if (this.closed) return;
    this.connectReq = null;
    handle.close();
    this.upId = -1;
    this.pen.connectFailed(s, why);
    const next = this.pen.failoverNext(s, this.initial, this.pen.clientInfo(this.clientIndex, this.client));
    if (next === NO_SERVER || ++this.attempts > this.pen.servers.list.length + 2) {
      this.pen.noteDropped();
      return this.close();
    }
    this.connectTo(next);
  }

  private connected(handle: StreamHandle, s: number): void {
    const pen = this.pen;
    const server = serverAt(pen.servers, s);
    if (server) server.c += 1;
    this.counted = true;
    this.state = CS_CONNECTED;
    this.t = pen.now();
    this.active = Date.now();
    if (pen.settings.tcpNodelay) handle.setNoDelay?.(true);
    if (pen.settings.keepalive) handle.setKeepAlive?.(true, 0);
    const up = new HandleEnd(handle as EndHandle);
    up.attach(this);
    this.upstream = up;
    up.startReading();
    this.client.startReading();
  }

  /** Data read from one end goes to the other; while it is queued there, the reading end waits. */
  data(from: End, chunk: Buffer): void {
    if (this.closed) return;
    this.active = Date.now();
    const pen = this.pen;
    if (this.dummy) return this.replyDummy();
    let to: End | null;
    if (from === this.client) {
      to = this.upstream;
      if (pen.settings.http) chunk = insertForwardedHeaders(chunk, this.clientAddress, this.https);
      if (pen.requestLog !== null) pen.requestLog.write(this.clientAddress, serverAt(pen.servers, this.server)?.address ?? '', chunk);
      if (pen.settings.debug >= 3) pen.dump(this.index, chunk);
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
    const fast = this.pen.settings.tcpFastclose;
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
    if (this.pen.settings.debug >= 2) debug(`connection ${this.index}: ${why}`);
    this.close();
  }

  /** -D / `dummy`: answer the first request with pen's fixed page, no server involved. */
  private serveDummy(): void {
    this.state = CS_CONNECTED;
    this.dummy = true;
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
    const req = this.connectReq;
    this.connectReq = null;
    req?.handle.close();
    this.client.close();
    this.upstream?.close();
    this.pen.release(this);
  }
}

function onConnectDone(this: ConnectReq, status: number): void {
  const req = this as PairConnectReq;
  req.conn.connectDone(req, status);
}

/** How often sweep() runs: pen checks its timeouts once per trip round its event loop, about as often. */
export const SWEEP_MS = 250;

/**
 * Connect timeouts (-t) and idle_timeout, checked for the whole table every SWEEP_MS rather than
 * with a timer per connection (a timer set and cleared per connection was measurable).
 */
export function sweep(pen: Balancer): void {
  if (pen.fdPaused) pen.retryDescriptors();
  const connectLimit = pen.settings.timeout * 1000;
  const idleLimit = pen.settings.idleTimeout * 1000;
  const now = Date.now();
  for (const c of pen.conns) {
    if (!(c instanceof TcpConnection)) continue;
    if (c.state === CS_CONNECTING) {
      if (c.connectStarted > 0 && now - c.connectStarted >= connectLimit) c.connectTimedOut();
      else if (c.fdWaitSince > 0 && now - c.fdWaitSince >= connectLimit) c.noDescriptor();
    } else if (c.state & CS_CONNECTED) {
      if (idleLimit > 0 && now - c.active >= idleLimit) c.close();
      // the client has sent EOF and for -t seconds the server has neither sent nor read a byte:
      // a client that closed cannot be told from one that half-closed, so the pair ends (an
      // answer still being written to a slow client keeps it)
      else if ((c.state & CS_BOTH_CLOSED) === CS_CLOSED_DOWN && c.serverSilent(now, connectLimit)) c.clientGone();
    }
  }
}

export interface TcpListenerOptions {
  backlog: number;
  createServer?: (onConnection: (s: Socket) => void) => NetServer;
  https?: boolean;
}

interface ListeningHandle {
  onconnection: (err: number, client?: StreamHandle) => void;
}

/** Open the TCP (or TLS) listener; resolves once bound, rejects with the bind error. */
export function listenTcp(pen: Balancer, bind: net.ListenOptions, opts: TcpListenerOptions): Promise<NetServer> {
  const https = opts.https ?? false;
  const server = opts.createServer
    ? opts.createServer((socket) => pen.accept(socketClient(socket), https))
    : net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ ...bind, backlog: opts.backlog }, () => {
      server.removeListener('error', reject);
      server.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EMFILE' || err.code === 'ENFILE') pen.outOfDescriptors(err.message);
        else debug(`listener: ${err.message}`);
      });
      // plain TCP: take the accepted handles before net wraps them in Sockets
      if (!opts.createServer) (server as unknown as { _handle: ListeningHandle })._handle.onconnection = (err, handle) => {
        if (err !== 0 || handle === undefined) {
          if (outOfDescriptors(err)) pen.outOfDescriptors(uvMessage('accept', err));
          else debug(`listener: ${uvMessage('accept', err)}`);
          return;
        }
        pen.accept(handleClient(handle, pen.settings.tcpNodelay), false);
      };
      resolve(server);
    });
  });
}

