// What every native listener (native-tcp.ts, native-udp.ts) shares: one engine per listener,
// sized to the connection table when it opened (the engine's slot is the table's slot: a slot's
// connection is this listener's when `at` finds it there), the
// engine's server list kept in step with the balancer's, and the close records folded back
// into the table in batches. A subclass picks (select, failed) and says what a record means.
import { isIP } from 'node:net';
import { getSystemErrorMap } from 'node:util';
import { socketId, type Connection } from './connection.ts';
import { loopHold } from './datapath.ts';
import { debug } from './diag.ts';
import { REC, type NativeAddon, type NativeEngine, type NativeServer } from './native.ts';
import type { Listener, PairHost } from './pair-host.ts';
import { ABUSE, EMERGENCY, type Server } from './servers.ts';

/** A word of memory shared with the engine; an index past its end (never made here) reads 0. */
export const word = (a: Float64Array, i: number): number => a[i] ?? 0;

/** a server the engine cannot reach (no address yet, port 0, a source of the other family): its connect fails */
const UNREACHABLE: NativeServer = Object.freeze({ path: '/nonexistent/pen-server-without-an-address' });
const UNIX_PATH_MAX = 107;

/** errno as libuv and Node word it: `EADDRINUSE: address already in use`. */
export function errnoText(errno: number): string {
  const e = getSystemErrorMap().get(-errno);
  return e ? `${e[0]}: ${e[1]}` : `errno ${errno}`;
}

/** What the engine is told for one server. */
export function nativeServer(s: Server | null, source: string | null): NativeServer {
  if (s === null || s.family === 0) return UNREACHABLE;
  if (s.family === 'unix') return Buffer.byteLength(s.address) <= UNIX_PATH_MAX ? { path: s.address } : UNREACHABLE;
  if (isIP(s.address) !== s.family || !(s.port >= 1 && s.port <= 65535)) return UNREACHABLE;
  if (source === null) return { address: s.address, port: s.port };
  // a source of the other family fails the connect, as its bind does on the TypeScript path
  return isIP(source) === s.family ? { address: s.address, port: s.port, source } : UNREACHABLE;
}

function sameServer(a: NativeServer, b: NativeServer | null): boolean {
  if (b === null) return false;
  if ('path' in a) return 'path' in b && a.path === b.path;
  return !('path' in b) && a.address === b.address && a.port === b.port && a.source === b.source;
}

export interface NativeListenSpec {
  kind: 'tcp' | 'unix' | 'udp';
  /** numeric address, or the socket path */
  address: string;
  port: number;
  backlog: number;
}

/** The engine's hooks a subclass implements (native.ts NativeHooks, less the records). */
export interface PickHooks {
  select(listener: number, address: string, port: number, length?: number): number;
  failed(slot: number, server: number, errno: number): number;
  /** --threads: forwarding threads besides the JS thread's engine (TCP only) */
  threads?: number;
}

export abstract class NativeListener<C extends Connection> implements Listener {
  readonly eng: NativeEngine;
  readonly live: Float64Array;
  /** the port it is bound to (0 for a Unix socket) */
  port = 0;
  /** the engine's slots: a table grown past them needs a new listener (see stale) */
  readonly slots: number;
  protected id = -1;
  /** connections the engine holds */
  protected count = 0;
  protected open = true;
  private destroying = false;
  /** the server list the engine was last told */
  protected readonly told: { servers: (NativeServer | null)[]; regular: number; source: string | null } = {
    servers: [], regular: -1, source: null,
  };

  constructor(addon: NativeAddon, readonly host: PairHost, hooks: PickHooks) {
    this.slots = host.settings.connMax;
    this.eng = addon.create({
      slots: this.slots, select: hooks.select, failed: hooks.failed, onRecords: (n) => this.onRecords(n),
      ...(hooks.threads === undefined ? {} : { threads: hooks.threads }), holdLoop: loopHold(),
    });
    this.live = this.eng.live;
  }

  /** Whether the connection table has grown past this engine's slots (`conn_max`): it must be reopened. */
  get stale(): boolean {
    return this.host.settings.connMax > this.slots;
  }

  /** Tell the engine what changed in the settings and the servers since it was last told. */
  abstract sync(): void;

  /** conn goes to server s: it takes s at once, also before a TCP connect completes (native-tcp.ts). */
  protected choose(conn: C, s: number): void {
    conn.server = s;
    conn.upId = socketId();
    this.host.chosen(conn, s);
    this.host.take(conn);
  }

  /** Bind the engine's listener; on failure the engine goes and the error reads as Node's. */
  protected bind(spec: NativeListenSpec): void {
    try {
      const bound = this.eng.listen(spec.kind, spec.address, spec.port, spec.backlog);
      this.id = bound.id;
      this.port = bound.port;
    } catch (err) {
      this.eng.destroy();
      const errno = (err as { errno?: number }).errno;
      const where = spec.kind === 'unix' ? spec.address : `${spec.address}:${spec.port}`;
      throw new Error(errno ? `${spec.kind === 'udp' ? 'bind' : 'listen'} ${errnoText(errno)} ${where}` : (err as Error).message, { cause: err });
    }
  }

  /** The engine's list: the regular servers, then the emergency and the abuse server. True when it changed. */
  protected syncServers(): boolean {
    const h = this.host;
    const n = h.serverCount();
    const source = h.settings.source;
    const told = this.told;
    const list: NativeServer[] = [];
    let same = n === told.regular && source === told.source;
    for (let i = 0; i < n + 2; i++) {
      const s = nativeServer(h.server(i < n ? i : i === n ? EMERGENCY : ABUSE), source);
      list.push(s);
      same &&= sameServer(s, told.servers[i] ?? null);
    }
    if (same) return false;
    try {
      this.eng.setServers(list);
    } catch (err) {
      debug(`native data path: servers not updated: ${(err as Error).message}`);
      return false;
    }
    told.servers = list;
    told.regular = n;
    told.source = source;
    return true;
  }

  /** The engine's index of a server index (EMERGENCY and ABUSE follow the regular ones). */
  protected nativeIndex(s: number): number {
    const n = this.told.regular;
    return s >= 0 ? s : s === EMERGENCY ? n : n + 1;
  }

  /** The connection in `slot` this listener's engine holds, or null: good until the next call (it may be reused). */
  protected abstract at(slot: number): C | null;

  /** A record for conn, released after: its final bytes. */
  protected abstract closed(conn: C, r: Float64Array, o: number): void;

  /** Closes of this loop turn: final bytes fold in and each slot is released (its engine slot frees after). */
  private onRecords(n: number): void {
    const r = this.eng.records;
    for (let i = 0; i < n; i++) {
      const o = i * REC.WORDS;
      const conn = this.at(word(r, o + REC.SLOT));
      if (conn === null) continue;
      this.count -= 1;
      this.closed(conn, r, o);
      this.host.release(conn);
    }
    if (!this.open) this.destroyWhenEmpty();
  }

  /** Stop listening; the engine goes once the last connection has closed. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.eng.closeListener(this.id);
    this.destroyWhenEmpty();
  }

  protected destroyWhenEmpty(): void {
    if (this.count > 0 || this.destroying) return;
    this.destroying = true;
    setImmediate(() => this.eng.destroy()); // not from inside an engine callback
  }
}
