// The balancer: owns the state (settings, servers, clients, ACLs, connection table) and the
// listener, and wires selection to the transports. No admin code in here: control/, stats/ and
// admin/ read this state and change it through control/.
import { EventEmitter } from 'node:events';
import { existsSync, unlinkSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import { emptyAcls, type AclTable, type CountryLookup } from './acl.ts';
import { parseListen, plainIp, resolveHost, type ListenSpec } from './address.ts';
import { ClientTable, clientKey } from './clients.ts';
import type { Connection } from './connection.ts';
import { debug } from './diag.ts';
import { PenError } from './errors.ts';
import { openDefaultGeoip } from './geoip.ts';
import type { RequestLog } from './requestlog.ts';
import { canTry, chooseInitial, failoverNext, type ClientInfo, type SelectState } from './select.ts';
import { ABUSE, EMERGENCY, NO_SERVER, nowSeconds, serverAt, type ServerTable } from './servers.ts';
import { defaultSettings, type Settings } from './settings.ts';
import { SWEEP_MS, TcpConnection, listenTcp, sweep, type ClientEnd } from './tcp.ts';
import type { PeerSnapshot, PenEvent } from '../../shared/snapshot.ts';
import { HEALTH_OFF, type HealthCheck } from '../../shared/health.ts';
import { HealthChecker } from './health.ts';

/** Something that accepts clients: a TCP/TLS server or a UDP socket. */
export interface Listener {
  close(): void;
}

export class Balancer extends EventEmitter implements SelectState {
  settings: Settings = defaultSettings();
  servers: ServerTable = { list: [], emergency: null, abuse: null, current: NO_SERVER };
  clients = new ClientTable(this.settings.clientsMax);
  acls: AclTable = emptyAcls();
  rrCursor = 0;
  /** `health …`: the check every server gets unless `server N health …` gives it its own */
  healthDefault: HealthCheck = { ...HEALTH_OFF };
  readonly health = new HealthChecker(this);
  /**
   * The connection table up to the highest slot used so far; the slots from conns.length up to
   * settings.connMax (the table's size) are free, so `-x`/`conn_max` cost nothing until used.
   */
  conns: (Connection | null)[] = [];
  connsLast = 0;
  connsUsed = 0;
  accepted = 0;
  dropped = 0;
  requestLog: RequestLog | null = null;
  listener: Listener | null = null;
  listenSpec: ListenSpec | null = null;
  readonly startedAt = Date.now();
  /** between SIGTERM and closing (--drain): still forwarding, but telling VRRP to move the address */
  draining = false;
  /** the pair: this host's VRRP role and the peer link (control/peer.ts and admin/peer.ts keep it) */
  peer: PeerSnapshot = { role: 'unknown', url: null, connected: false, lastSync: null, behind: 0, error: null, applying: true, followers: 0 };
  /** clients accepted while the connection table was full wait here, as in pen's backlog */
  private waiting: { client: ClientEnd; https: boolean }[] = [];
  /** times pen ran out of file descriptors (EMFILE/ENFILE on accept or connect) and paused */
  fdPauses = 0;
  /** out of file descriptors: connects wait in fdWaiters until connections close */
  fdPaused = false;
  private fdWaiters: TcpConnection[] = [];
  private fdRetrying = false;
  /** connect and idle timeouts' check, running while a listener is open */
  private timeoutSweep: NodeJS.Timeout | null = null;

  /** the database `geoip FILE` opened (settings.geoip names it) */
  private geoipLookup: CountryLookup | null = null;
  /** the default database, looked for once by loadDefaultGeoip(); undefined until then */
  private defaultGeoip: CountryLookup | null | undefined;

  /** The country lookup for ACLs: the configured database, else the default file if found. Reads no file. */
  get country(): CountryLookup | undefined {
    if (this.settings.geoip !== null) return this.geoipLookup ?? undefined;
    return this.defaultGeoip ?? undefined;
  }

  /** Look for the default database, once: when the listener opens, or for a country ACL command before that. */
  async loadDefaultGeoip(): Promise<void> {
    if (this.defaultGeoip === undefined) this.defaultGeoip = await openDefaultGeoip();
  }

  /** `geoip FILE` / `no geoip`: file and lookup change together (null, null: back to the default). */
  setGeoip(file: string | null, lookup: CountryLookup | null): void {
    this.settings.geoip = file;
    this.geoipLookup = lookup;
  }

  now(): number {
    return nowSeconds();
  }

  // ---- selection, with the clock filled in ----

  clientInfo(clientIndex: number, socket: { remoteAddress?: string; remotePort?: number }): ClientInfo {
    return {
      ip: socket.remoteAddress ? plainIp(socket.remoteAddress) : null,
      port: socket.remotePort ?? 0,
      lastServer: this.clients.slots[clientIndex]?.server ?? NO_SERVER,
    };
  }

  chooseInitial(client: ClientInfo): number {
    return chooseInitial(this, client, this.now());
  }

  canTry(s: number, client: ClientInfo): boolean {
    return canTry(this, s, client, this.now());
  }

  failoverNext(failed: number, initial: number, client: ClientInfo): number {
    return failoverNext(this, failed, initial, client, this.now());
  }

  /** A connect to s has started: remember it for the client (sticky) and as `current`. */
  noteChosen(clientIndex: number, s: number): void {
    const slot = this.clients.slots[clientIndex];
    if (slot) slot.server = s;
    this.servers.current = s;
    const server = serverAt(this.servers, s);
    if (server && server.maxc > 0 && server.c + 1 >= server.maxc) {
      this.emitEvent({ type: 'limit', server: s, message: `server ${s} reached its limit of ${server.maxc}` });
    }
  }

  /** A refused or timed-out connect blacklists the server (the man page's behaviour, pen HEAD). */
  connectFailed(s: number, why: string): void {
    const server = serverAt(this.servers, s);
    if (!server) return;
    debug(`blacklisting server ${s} because of ${why}`);
    server.status = this.now();
    this.emitEvent({ type: 'blacklisted', server: s, message: `server ${s} blacklisted: ${why}` });
  }

  /**
   * EMFILE/ENFILE: the balancer is out of descriptors, which is no server's fault. A pair whose
   * server socket could not be opened waits (conn) and is retried, oldest first, whenever a
   * connection closes and on every sweep; -t bounds the wait. (libuv itself closes what waits
   * in the listen queue when accept finds no descriptor, so pen cannot leave those waiting.)
   */
  outOfDescriptors(why: string, conn?: TcpConnection): void {
    if (conn) this.fdWaiters.push(conn);
    if (this.fdPaused) return;
    this.fdPaused = true;
    this.fdPauses += 1;
    if (this.settings.debug >= 1) debug(`out of file descriptors (${why}): new connections wait until some close`);
  }

  /** Retry the connects waiting for a descriptor until one still finds none. */
  retryDescriptors(): void {
    if (this.fdRetrying) return;
    this.fdRetrying = true;
    const waiting = this.fdWaiters;
    this.fdWaiters = [];
    for (let k = 0; k < waiting.length; k++) {
      waiting[k].retryConnect();
      if (this.fdWaiters.length > 0) {
        // still none: the rest keep their places behind it
        for (let j = k + 1; j < waiting.length; j++) this.fdWaiters.push(waiting[j]);
        break;
      }
    }
    this.fdRetrying = false;
    this.descriptorsBack();
  }

  /** A server socket opened while paused: descriptors are back, once no connect waits for one. */
  descriptorsBack(): void {
    if (!this.fdPaused || this.fdRetrying || this.fdWaiters.length > 0) return;
    this.fdPaused = false;
    if (this.settings.debug >= 1) debug('file descriptors available again');
  }

  /** A connection or session to s has let go of it: a draining server with none left is drained. */
  noteReleased(s: number): void {
    const server = serverAt(this.servers, s);
    if (server && server.drain && server.c === 0) {
      this.emitEvent({ type: 'drained', server: s, message: `server ${s} is drained: its last connection closed` });
    }
  }

  noteDropped(): void {
    this.dropped += 1;
  }

  emitEvent(e: Omit<PenEvent, 'time'>): void {
    this.emit('event', { ...e, time: this.now() } as PenEvent);
  }

  dump(index: number, chunk: Buffer): void {
    const body = this.settings.ascii
      ? chunk.toString('latin1').replace(/[^\x20-\x7e\n]/g, '.')
      : Array.from(chunk, (b) => b.toString(16).padStart(2, '0') + ' ').join('');
    process.stderr.write(`${index}: ${body}\n`);
  }

  // ---- the connection table ----

  /** Find a free slot, searching from the last one allocated, as pen does; -1 when full. */
  private allocSlot(): number {
    const n = this.settings.connMax;
    for (let k = 0; k < n; k++) {
      const i = (this.connsLast + k) % n;
      // the first slot past the used part is free (the search reaches it before any later one)
      if (i >= this.conns.length) this.conns.push(null);
      if (this.conns[i] === null) {
        this.connsLast = i;
        return i;
      }
    }
    return -1;
  }

  /** `conn_max N`: the table only grows (its slots are made when first used). */
  growConnections(n: number): void {
    this.settings.connMax = Math.max(this.settings.connMax, n);
  }

  /** A new client from the listener. */
  accept(client: ClientEnd, https: boolean): void {
    const i = this.allocSlot();
    if (i < 0) {
      if (this.waiting.length >= this.settings.listenQueue) client.close();
      else this.waiting.push({ client, https });
      return;
    }
    this.accepted += 1;
    const ip = client.remoteAddress ? plainIp(client.remoteAddress) : 'unix';
    const family = client.remoteAddress ? 'ip' : 'unix';
    const clientIndex = this.clients.store(clientKey(family, ip), ip, client.remotePort, this.now(), this.settings.trackingTime);
    const conn = new TcpConnection(this, client, ip, clientIndex, https);
    conn.index = i;
    this.conns[i] = conn;
    this.connsUsed += 1;
    conn.start();
  }

  /** Install a connection made elsewhere (UDP sessions); returns its slot or -1 when full. */
  install(conn: Connection): number {
    const i = this.allocSlot();
    if (i < 0) return -1;
    conn.index = i;
    this.conns[i] = conn;
    this.connsUsed += 1;
    this.accepted += 1;
    return i;
  }

  /** A connection has closed: fold its bytes into the totals and free its slot. */
  release(conn: Connection): void {
    if (conn.index < 0 || this.conns[conn.index] !== conn) return;
    const b = conn.bytes();
    const server = serverAt(this.servers, conn.server);
    if (server) {
      server.sx += b.sx;
      server.rx += b.rx;
      if (conn.counted) server.c = Math.max(0, server.c - 1);
      if (conn.counted) this.noteReleased(conn.server);
    }
    const client = this.clients.slots[conn.clientIndex];
    if (client) {
      client.csx += b.csx;
      client.crx += b.crx;
    }
    this.closedBytes.sx += b.sx;
    this.closedBytes.rx += b.rx;
    this.lastOccupant[conn.index] = { client: conn.clientIndex, server: conn.server };
    this.conns[conn.index] = null;
    this.connsUsed -= 1;
    let next = this.waiting.shift();
    while (next?.client.closed) next = this.waiting.shift();
    if (next) this.accept(next.client, next.https);
    // a closed pair gave back its descriptors
    if (this.fdPaused) this.retryDescriptors();
  }

  /** a freed slot's last client and server, which pen's `connection N` still shows */
  lastOccupant: { client: number; server: number }[] = [];

  /** bytes of connections that have closed (live ones are read from their sockets) */
  closedBytes = { sx: 0, rx: 0 };

  /** Close connection slot i, as `close N` does; false when the slot is not in use. */
  closeConnection(i: number): boolean {
    const c = this.conns[i];
    if (!c) return false;
    c.close();
    return true;
  }

  // ---- listening ----

  /** Open (or replace) the listener on `text`; resolves once bound. */
  async listen(text: string): Promise<void> {
    const spec = parseListen(text, this.settings.udp ? 'udp' : 'tcp');
    await this.loadDefaultGeoip(); // here, so that no pick opens it
    if (spec.family === 0) {
      const r = await resolveHost(spec.host);
      spec.host = r.address;
      spec.family = r.family;
    }
    const old = this.listener;
    this.listener = null;
    old?.close();
    if (spec.family === 'unix' && existsSync(spec.host)) unlinkSync(spec.host);
    this.listener = await this.openListener(spec);
    this.listenSpec = spec;
    if (this.timeoutSweep === null) {
      this.timeoutSweep = setInterval(() => sweep(this), SWEEP_MS);
      this.timeoutSweep.unref();
    }
    this.settings.listen = text;
  }

  private async openListener(spec: ListenSpec): Promise<Listener> {
    try {
      if (this.settings.udp) {
        const { listenUdp } = await import('./udp.ts');
        return await listenUdp(this, spec);
      }
      const bind = spec.family === 'unix' ? { path: spec.host } : { host: spec.host, port: spec.port };
      let createServer;
      if (this.settings.ssl.cert) {
        const { tlsServerFactory } = await import('./tls.ts');
        createServer = tlsServerFactory(this);
      }
      const server: NetServer = await listenTcp(this, bind, {
        backlog: this.settings.listenQueue, createServer, https: createServer !== undefined,
      });
      return { close: () => server.close() };
    } catch (err) {
      if (err instanceof PenError) throw err;
      throw new PenError('PEN_ERR_IO', `can't bind local address ${spec.text}: ${(err as Error).message}`);
    }
  }

  /** The default backend port: the listen port (0 for a Unix listener). */
  defaultPort(): number {
    return this.listenSpec?.port ?? 0;
  }

  /** SIGTERM / `exit`: stop listening and close every connection. */
  shutdown(): void {
    this.listener?.close();
    this.listener = null;
    this.health.stop();
    if (this.timeoutSweep !== null) clearInterval(this.timeoutSweep);
    this.timeoutSweep = null;
    for (const w of this.waiting) w.client.close();
    this.waiting = [];
    this.fdWaiters = [];
    for (const c of this.conns) c?.close();
    this.requestLog?.close();
    if (this.listenSpec?.family === 'unix' && existsSync(this.listenSpec.host)) {
      try { unlinkSync(this.listenSpec.host); } catch { /* already gone */ }
    }
  }
}

export { ABUSE, EMERGENCY, NO_SERVER };
