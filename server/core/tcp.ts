// TCP: the listener and the connection pair. Forwarding is full duplex with backpressure both
// ways (client → server by pipe, server → client through onread into a reused buffer), and
// half-close propagated unless tcp_fastclose says otherwise.
import net, { type Server as NetServer, type Socket } from 'node:net';
import { CS_CLOSED_DOWN, CS_CLOSED_UP, CS_CONNECTED, CS_CONNECTING, socketId, type Connection } from './connection.ts';
import { insertForwardedHeaders } from './http.ts';
import { plainIp } from './address.ts';
import { debug } from './diag.ts';
import { NO_SERVER, serverAt } from './servers.ts';
import type { Balancer } from './balancer.ts';

const DUMMY_REPLY = 'HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Type: text/html\r\n\r\nUlric was here.';

/** How much one read from a server may take (Node's own default read size). */
const READ_SIZE = 64 * 1024;
/**
 * Server sockets read into this shared buffer, and what they read is copied out at once, until
 * one read fills it: only then does the connection get a buffer of its own. So idle and
 * short-lived connections hold none (a 64 KiB buffer per connection made V8 collect garbage
 * every ~130 ms under `Connection: close` load, for the external memory alone).
 */
const SHARED_READ = Buffer.allocUnsafeSlow(READ_SIZE);

export class TcpConnection implements Connection {
  index = -1;
  state = CS_CONNECTING;
  clientIndex: number;
  clientAddress: string;
  initial = NO_SERVER;
  server = NO_SERVER;
  counted = false;
  t: number;
  downId = socketId();
  upId = -1;
  private upstream: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempts = 0;
  private closed = false;
  /** the server socket reads into this, not into a fresh buffer per chunk (see fromServer) */
  private upBuffer: Buffer | null = null;
  private upWaiting = false;
  // Per-connection callbacks are assigned here rather than declared as arrow-function fields or
  // named consts: tsx (esbuild keepNames) wraps those in __name(), which redefines each closure's
  // `name` and costs ~300 B of heap and ~300 ns per closure per connection.
  private readonly closeNow: () => void;
  private readonly readBuffer: () => Buffer;
  private readonly fromServer: (n: number, buf: Buffer) => boolean;
  private readonly clientWritten: () => void;

  constructor(private readonly pen: Balancer, readonly client: Socket, clientIndex: number, readonly https: boolean) {
    this.clientIndex = clientIndex;
    this.clientAddress = plainIp(client.remoteAddress ?? 'unix');
    this.t = pen.now();
    this.closeNow = () => this.close();
    this.readBuffer = () => this.upBuffer ?? SHARED_READ;
    this.fromServer = (n, buf) => this.writeToClient(n, buf);
    this.clientWritten = () => this.resumeServer();
    client.on('error', this.closeNow);
    client.on('close', this.closeNow);
  }

  pendingDown(): number {
    return this.client.writableLength;
  }

  pendingUp(): number {
    return this.upstream?.writableLength ?? 0;
  }

  bytes() {
    const up = this.upstream;
    return {
      sx: up ? up.bytesWritten : 0, rx: up ? up.bytesRead : 0,
      csx: this.client.bytesWritten, crx: this.client.bytesRead,
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
    const server = serverAt(this.pen.servers, s)!;
    this.server = s;
    this.pen.noteChosen(this.clientIndex, s);
    this.state = CS_CONNECTING;
    const onread = { buffer: this.readBuffer, callback: this.fromServer };
    const opts: net.NetConnectOpts = server.family === 'unix'
      ? { path: server.address, allowHalfOpen: true, onread }
      : { host: server.address, port: server.port, allowHalfOpen: true, noDelay: this.pen.settings.tcpNodelay,
          keepAlive: this.pen.settings.keepalive, localAddress: this.pen.settings.source ?? undefined, onread };
    const up = net.connect(opts);
    this.upstream = up;
    this.upId = socketId();
    up.once('error', (err) => this.connectFailure(up, s, `connect failure: ${err.message}`));
    this.timer = setTimeout(() => this.connectFailure(up, s, 'connect timeout'), this.pen.settings.timeout * 1000);
    up.once('connect', () => {
      this.clearTimer();
      up.removeAllListeners('error');
      this.connected(up, s);
    });
  }

  /** The connect to s failed or timed out: blacklist it and fail over, as pen does. */
  private connectFailure(up: Socket, s: number, why: string): void {
    if (this.upstream !== up || this.closed) return;
    this.clearTimer();
    up.removeAllListeners();
    up.on('error', () => {});
    up.destroy();
    this.upstream = null;
    this.upId = -1;
    this.pen.connectFailed(s, why);
    const next = this.pen.failoverNext(s, this.initial, this.pen.clientInfo(this.clientIndex, this.client));
    if (next === NO_SERVER || ++this.attempts > this.pen.servers.list.length + 2) {
      this.pen.noteDropped();
      return this.close();
    }
    this.connectTo(next);
  }

  private connected(up: Socket, s: number): void {
    const server = serverAt(this.pen.servers, s);
    if (server) server.c += 1;
    this.counted = true;
    this.state = CS_CONNECTED;
    this.t = this.pen.now();
    const client = this.client;
    const pen = this.pen;
    up.on('error', this.closeNow);
    up.on('close', this.closeNow);
    if (pen.settings.idleTimeout > 0) client.setTimeout(pen.settings.idleTimeout * 1000, this.closeNow);

    // server → client goes through fromServer (the socket's onread); EOF still ends the stream
    up.on('end', () => this.ended(CS_CLOSED_UP));

    const rewrite = pen.settings.http;
    const log = pen.requestLog;
    if (!rewrite && !log && pen.settings.debug < 3) {
      client.pipe(up, { end: false });
    } else {
      const serverIp = server?.address ?? '';
      client.on('data', (chunk: Buffer) => {
        const out = rewrite ? insertForwardedHeaders(chunk, this.clientAddress, this.https) : chunk;
        pen.requestLog?.write(this.clientAddress, serverIp, out);
        if (pen.settings.debug >= 3) pen.dump(this.index, out);
        if (!up.write(out)) client.pause();
      });
      up.on('drain', () => client.resume());
    }
    client.on('end', () => this.ended(CS_CLOSED_DOWN));
    client.resume();
  }

  /**
   * Server → client, pen's way: read into one buffer per connection and write it on. While that
   * write is queued it still points into the buffer, so the server is not read again until the
   * write is done (as pen stops reading until its remainder drains). Saves allocating and
   * collecting a 64 KiB buffer per chunk, up to half the proxy's CPU time in bulk transfers.
   */
  private writeToClient(n: number, buf: Buffer): boolean {
    const client = this.client;
    if (buf === SHARED_READ) {
      // a copy: nothing may keep pointing into the shared buffer; wait only for backpressure
      if (n === READ_SIZE) this.upBuffer = Buffer.allocUnsafeSlow(READ_SIZE);
      if (client.write(Buffer.from(buf.subarray(0, n)), this.clientWritten)) return true;
    } else {
      client.write(buf.subarray(0, n), this.clientWritten);
      if (client.writableLength === 0) return true;
    }
    this.upWaiting = true;
    return false;
  }

  private resumeServer(): void {
    if (!this.upWaiting) return;
    this.upWaiting = false;
    if (!this.closed) this.upstream?.resume();
  }

  /** EOF from one side: propagate the half-close, or close both at once per tcp_fastclose. */
  private ended(side: number): void {
    this.state |= side;
    const fast = this.pen.settings.tcpFastclose;
    const fastClose = fast === 'both' || (side === CS_CLOSED_UP ? fast === 'up' : fast === 'down');
    const other = side === CS_CLOSED_DOWN ? this.upstream : this.client;
    // end() flushes what is queued first; when both directions are done the sockets close themselves
    other?.end();
    if (fastClose) {
      (side === CS_CLOSED_DOWN ? this.client : this.upstream)?.end();
      other?.once('finish', this.closeNow);
    }
  }

  private serveDummy(): void {
    this.state = CS_CONNECTED;
    this.client.on('data', () => {
      this.client.end(DUMMY_REPLY);
    });
    this.client.resume();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    this.client.destroy();
    this.upstream?.destroy();
    this.pen.release(this);
  }
}

export interface TcpListenerOptions {
  backlog: number;
  createServer?: (onConnection: (s: Socket) => void) => NetServer;
  https?: boolean;
}

/** Open the TCP (or TLS) listener; resolves once bound, rejects with the bind error. */
export function listenTcp(pen: Balancer, bind: net.ListenOptions, opts: TcpListenerOptions): Promise<NetServer> {
  const onConnection = (socket: Socket) => pen.accept(socket, opts.https ?? false);
  const server = opts.createServer
    ? opts.createServer(onConnection)
    : net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: pen.settings.tcpNodelay }, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ ...bind, backlog: opts.backlog }, () => {
      server.removeListener('error', reject);
      server.on('error', (err) => debug(`listener: ${err.message}`));
      resolve(server);
    });
  });
}
