// The balancer: owns the state (settings, servers, clients, ACLs, connection table) and the
// listener, and wires them to the transports through the one connection lifecycle (lifecycle.ts),
// which is all a transport sees of it. No admin code in here: control/, stats/ and admin/ read
// this state and change it through control/.
import { existsSync, unlinkSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import { emptyAcls, type AclTable, type CountryLookup } from './acl.ts';
import { parseListen, resolveHost, type ListenSpec } from './address.ts';
import { settleBlacklists } from './blacklist.ts';
import { ClientTable } from './clients.ts';
import { ConnTable, SWEEP_MS } from './conn-table.ts';
import type { Connection, SlotHolder } from './connection.ts';
import { chooseDatapath, forcedDatapath, loopHold, nativeUnsupported, type Datapath } from './datapath.ts';
import { debug } from './diag.ts';
import { PenError } from './errors.ts';
import { FdWait } from './fd-wait.ts';
import { CHANNELS, publish, type EventMessage } from './events.ts';
import { openDefaultGeoip } from './geoip.ts';
import { createPairHost, type LifecycleState } from './lifecycle.ts';
import { loadNative } from './native.ts';
import { NativeListener } from './native-listener.ts';
import { NativeTcpListener } from './native-tcp.ts';
import { NativeUdpListener } from './native-udp.ts';
import type { DropWhy, Listener, PairHost } from './pair-host.ts';
import type { RequestLog } from './requestlog.ts';
import { ABUSE, EMERGENCY, NO_SERVER, nowSeconds, serverAt, type ServerTable } from './servers.ts';
import { defaultSettings, type Settings } from './settings.ts';
import { listenTcp } from './tcp.ts';
import { tlsServerFactory } from './tls.ts';
import { listenUdp } from './udp.ts';
import type { PeerSnapshot } from '../../shared/snapshot.ts';
import { HEALTH_OFF, type HealthCheck } from '../../shared/health.ts';
import { HealthChecker } from './health.ts';

export class Balancer implements LifecycleState {
  settings: Settings = defaultSettings();
  servers: ServerTable = { list: [], emergency: null, abuse: null, current: NO_SERVER };
  clients = new ClientTable(this.settings.clientsMax);
  acls: AclTable = emptyAcls();
  rrCursor = 0;
  /** `health …`: the check every server gets unless `server N health …` gives it its own */
  healthDefault: HealthCheck = { ...HEALTH_OFF };
  readonly health = new HealthChecker(this);
  readonly table = new ConnTable(this.settings);
  readonly fd = new FdWait(() => this.settings.debug);
  /** bytes of connections that have closed (live ones are read from their sockets) */
  closedBytes = { sx: 0, rx: 0 };
  accepted = 0;
  dropped = 0;
  /** `dropped`, by reason */
  droppedBy: Record<DropWhy, number> = { nosrv: 0, full: 0, acl: 0, nofd: 0 };
  requestLog: RequestLog | null = null;
  listener: Listener | null = null;
  listenSpec: ListenSpec | null = null;
  /** which data path the listener is on, and why (datapath.ts) */
  datapath: Datapath = { path: 'portable', reason: 'not listening' };
  readonly startedAt = Date.now();
  /** between SIGTERM and closing (--drain): still forwarding, but telling VRRP to move the address */
  draining = false;
  /** the pair: this host's VRRP role and the peer link (control/peer.ts and admin/peer.ts keep it) */
  peer: PeerSnapshot = { role: 'unknown', url: null, connected: false, lastSync: null, behind: 0, error: null, applying: true, followers: 0 };
  /** what the transports see of the balancer */
  readonly host: PairHost = createPairHost(this);
  /** connect and idle timeouts' check, running while a listener is open */
  private timeoutSweep: NodeJS.Timeout | null = null;
  /** a native listener being replaced (keepDatapath): no second replacement meanwhile */
  private relistening: Promise<void> | null = null;
  /** shutdown() ran: a listener that finishes opening afterwards is closed at once */
  private stopped = false;
  /** commands that changed something, heard while a native listener is open (keepDatapath) */
  private readonly onConfig = (m: unknown): void => {
    if ((m as EventMessage).source === this) this.keepDatapath();
  };
  /** a server blacklisted, back, down or up: a native UDP engine sends a known client's datagrams elsewhere at once */
  private readonly onServerState = (m: unknown): void => {
    if ((m as EventMessage).source === this && this.listener instanceof NativeUdpListener) this.listener.syncDown();
  };

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

  /** A connection or session to s has let go of it: a draining server with none left is drained. */
  noteReleased(s: number): void {
    const server = serverAt(this.servers, s);
    if (server && server.drain && server.c === 0) {
      publish(this, 'drained', `server ${s} is drained: its last connection closed`, s);
    }
  }

  // ---- the connection table (conn-table.ts), as control/ and stats/ read it ----

  /** the table's slots: a connection, the holder of one (read it with connAt), or null */
  get conns(): (Connection | SlotHolder | null)[] {
    return this.table.conns;
  }

  set conns(c: (Connection | SlotHolder | null)[]) {
    this.table.conns = c;
  }

  /** The connection in slot i (a view, for a holder's), or null. */
  connAt(i: number): Connection | null {
    return this.table.at(i);
  }

  get connsUsed(): number {
    return this.table.used;
  }

  set connsUsed(n: number) {
    this.table.used = n;
  }

  get connsLast(): number {
    return this.table.last;
  }

  /** a freed slot's last client and server, which pen's `connection N` still shows */
  get lastOccupant(): { client: number; server: number }[] {
    return this.table.lastOccupant;
  }

  get fdPaused(): boolean {
    return this.fd.paused;
  }

  get fdPauses(): number {
    return this.fd.pauses;
  }

  /** `conn_max N`: the table only grows (its slots are made when first used). */
  growConnections(n: number): boolean {
    if (n <= this.settings.connMax) return false;
    this.settings.connMax = n;
    return true;
  }

  /** Install a connection made elsewhere; returns its slot or -1 when full. */
  install(conn: Connection): number {
    return this.host.alloc(conn);
  }

  /** Close connection slot i, as `close N` does; false when the slot is not in use. */
  closeConnection(i: number): boolean {
    return this.table.close(i);
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
    await this.replaceListener(spec);
    if (this.timeoutSweep === null) {
      this.timeoutSweep = setInterval(() => this.sweep(), SWEEP_MS);
      this.timeoutSweep.unref();
    }
    this.settings.listen = text;
  }

  /** Close the listener (its connections carry on) and open one on spec. */
  private async replaceListener(spec: ListenSpec): Promise<void> {
    const old = this.listener;
    this.listener = null;
    old?.close();
    this.subscribeNative(false);
    if (spec.family === 'unix' && existsSync(spec.host)) unlinkSync(spec.host);
    const opened = await this.openListener(spec);
    // shut down while it opened: close it rather than leave a listener nobody owns
    if (this.stopped) return opened.close();
    this.listener = opened;
    this.listenSpec = spec;
    if (this.listener instanceof NativeListener) this.subscribeNative(true);
  }

  /** What a native listener hears of: commands, and (UDP) servers going down and coming back. */
  private subscribeNative(on: boolean): void {
    const config = CHANNELS.config;
    if (on) config.subscribe(this.onConfig);
    else config.unsubscribe(this.onConfig);
    for (const ch of [CHANNELS.blacklisted, CHANNELS.back, CHANNELS.down, CHANNELS.up]) {
      if (on) ch.subscribe(this.onServerState);
      else ch.unsubscribe(this.onServerState);
    }
  }

  /**
   * After a command (and on every sweep, before the listener's own): a native listener follows
   * the settings and servers (its one sync per sweep), or,
   * when a setting now needs the TypeScript path (`http`, `log`, …) or `conn_max` outgrew its
   * engine, is replaced at once, so new connections get the behaviour; its open connections carry
   * on to their end. Back on the TypeScript path the listener stays there until the next `listen`.
   */
  private keepDatapath(): void {
    const l = this.listener;
    if (!(l instanceof NativeListener) || this.relistening !== null || this.listenSpec === null) return;
    const why = nativeUnsupported(this.settings) ?? (l.stale ? `conn_max ${this.settings.connMax} is past the ${l.slots} slots of the native engine` : null);
    if (why === null) return l.sync();
    if (this.settings.debug >= 1) debug(`datapath: reopening the listener: ${why}`);
    this.relistening = this.replaceListener(this.listenSpec)
      .catch((err: Error) => debug(`can't reopen the listener on ${this.settings.listen}: ${err.message}`))
      .finally(() => { this.relistening = null; });
  }

  /**
   * Resolves once a listener being replaced for a command (keepDatapath) listens again: the
   * command's reply waits for it, so a client that connects after the reply gets the new
   * behaviour rather than the moment between the two listeners.
   */
  settled(): Promise<void> {
    return this.relistening ?? Promise.resolve();
  }

  /**
   * Every SWEEP_MS: connects waiting for a descriptor are retried, then every connection's
   * timeouts and blacklist's end.
   */
  private sweep(): void {
    this.keepDatapath();
    this.listener?.sweep?.();
    if (this.fd.paused) this.fd.retry();
    this.table.sweep(this.now());
    settleBlacklists(this);
  }

  /** The data path for a new listener (datapath.ts); a forced native path that cannot load is an error. */
  private pickDatapath(loaded: ReturnType<typeof loadNative>): Datapath {
    try {
      loopHold();   // a bad PEN_LOOP_HOLD is a start-up error too
      return chooseDatapath(this.settings, 'error' in loaded ? loaded.error : null, forcedDatapath());
    } catch (err) {
      throw new PenError('PEN_ERR_UNSUPPORTED', (err as Error).message);
    }
  }

  private async openListener(spec: ListenSpec): Promise<Listener> {
    const loaded = loadNative();
    this.datapath = this.pickDatapath(loaded);
    if (this.settings.debug >= 1) debug(`datapath: ${this.datapath.path} for ${spec.text} (${this.datapath.reason})`);
    try {
      const udp = this.settings.udp;
      if (udp && this.datapath.path === 'native' && 'engine' in loaded && spec.family !== 'unix') {
        return new NativeUdpListener(loaded.engine, this.host, { address: spec.host, port: spec.port });
      }
      if (!udp && this.datapath.path === 'native' && 'engine' in loaded) {
        const unix = spec.family === 'unix';
        return new NativeTcpListener(loaded.engine, this.host, {
          kind: unix ? 'unix' : 'tcp', address: spec.host, port: unix ? 0 : spec.port, backlog: this.settings.listenQueue,
        });
      }
      if (udp) return await listenUdp(this.host, spec);
      const bind = spec.family === 'unix' ? { path: spec.host } : { host: spec.host, port: spec.port };
      const createServer = this.settings.ssl.cert ? tlsServerFactory(this.settings) : undefined;
      const server: NetServer = await listenTcp(this.host, bind, {
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
    this.stopped = true;
    this.listener?.close();
    this.listener = null;
    this.subscribeNative(false);
    this.health.stop();
    if (this.timeoutSweep !== null) clearInterval(this.timeoutSweep);
    this.timeoutSweep = null;
    this.fd.clear();
    this.table.closeAll();
    this.requestLog?.close();
    if (this.listenSpec?.family === 'unix' && existsSync(this.listenSpec.host)) {
      try { unlinkSync(this.listenSpec.host); } catch { /* already gone */ }
    }
  }
}

export { ABUSE, EMERGENCY, NO_SERVER };
export type { Listener };
