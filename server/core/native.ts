// The native data path (native/*.c, built by node-gyp into build/Release/pen_native.node): a
// typed face for the addon and a loader that says why it could not load. The addon owns the
// sockets of its listeners, connections and UDP sessions; JS picks (select, failed) and learns
// of closes through records in shared memory. See docs in native/engine.h for fd ownership.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** words of one close record in `records` (R_* in native/engine.h) */
export const REC = {
  KIND: 0, SLOT: 1, SERVER: 2, LISTENER: 3, BYTES_UP: 4, BYTES_DOWN: 5, WHY: 6, ERRNO: 7, PKTS_UP: 8, PKTS_DOWN: 9,
  WORDS: 10,
} as const;
/** words per slot in `live` (L_* in native/engine.h) */
export const LIVE = { BYTES_UP: 0, BYTES_DOWN: 1, SERVER: 2, STATE: 3, WORDS: 4 } as const;
/** words per slot in `packets`: a UDP session's datagrams each way (P_* in native/engine.h) */
export const PACKETS = { UP: 0, DOWN: 1, WORDS: 2 } as const;
export const RECORD_KIND = { TCP_CLOSED: 1, UDP_CLOSED: 2 } as const;
/** R_WHY: why a connection or session closed */
export const CLOSE_WHY = ['eof', 'error', 'idle', 'connect-failed', 'closed', 'shutdown'] as const;
/** L_STATE bits */
export const STATE = {
  FREE: 0, CONNECTING: 1, CONNECTED: 2, EOF_CLIENT: 4, EOF_SERVER: 8, UDP: 16, CLOSED: 32,
} as const;
const PICK_SLOT_MUL = 65536;
const LAYOUT_VERSION = 2;

/** What select returns to accept a connection into `slot`, connecting to `server`. */
export function pick(slot: number, server: number): number {
  return slot * PICK_SLOT_MUL + server;
}

export type NativeServer = { address: string; port: number; source?: string } | { path: string };
export type FastCloseMode = 'off' | 'up' | 'down' | 'both';

export interface NativeHooks {
  /** the table size (-x plus UDP sessions): slots are 0..slots-1 */
  slots: number;
  /**
   * a new connection (or new UDP client) on `listener`: pick(slot, server), or -1 to refuse;
   * `length` is a new UDP client's first datagram's (undefined for TCP)
   */
  select(listener: number, address: string, port: number, length?: number): number;
  /**
   * a connect to `server` failed (errno; ETIMEDOUT for the connect timeout), or a UDP session's
   * server refused a datagram (ECONNREFUSED) or is down (0, see setDown): next server or -1
   */
  failed(slot: number, server: number, errno: number): number;
  /** records[0 .. n*REC.WORDS) hold n close records; their slots are free once this returns */
  onRecords(n: number): void;
  /** --threads: forwarding threads in all (1, the default: Node's loop only; at most layout.maxThreads) */
  threads?: number;
  /** hold Node's loop between batches that run no JavaScript (native/hold.c; default true) */
  holdLoop?: boolean;
}

export interface NativeConnInfo {
  kind: 'tcp' | 'udp';
  listener: number;
  address: string;
  port: number;
  state: number;
  server: number;
  bytesUp: number;
  bytesDown: number;
  pendingUp: number;
  pendingDown: number;
  idleMs: number;
  attempts?: number;
}

export interface NativeStats {
  allocs: number; allocBytes: number; fds: number; conns: number; sessions: number; listeners: number;
  pendingBufs: number; slotsTaken: number; recordsPending: number; accepted: number; acceptErrors: number;
  closed: number; connectFailed: number; refused: number; slotBusy: number; udpIn: number; udpOut: number;
  udpDropped: number; sessionsCreated: number; sessionsClosed: number; jsCalls: number; batches: number;
  /** epoll events naming a registration that is gone (closed earlier in the batch, or its fd
   *  still open in another process): ignored */
  staleEvents: number;
  /** native/hold.c: holds of Node's loop, and the batches the engine ran inside them */
  holds: number; heldBatches: number;
  /** wake-ups that did not hold because recent holds served too few batches to pay for themselves */
  holdsSkipped: number;
  /** held batches that called JavaScript (it started no libuv watcher, so the hold went on) */
  heldJs: number;
}

export interface NativeEngine {
  /** close records, REC.WORDS doubles each (shared with the addon) */
  readonly records: Float64Array;
  /** per-slot live counters, LIVE.WORDS doubles each (shared with the addon, read on demand) */
  readonly live: Float64Array;
  /** per-slot UDP datagram counters, PACKETS.WORDS doubles each (shared with the addon) */
  readonly packets: Float64Array;
  setServers(servers: NativeServer[]): void;
  setFastclose(mode: FastCloseMode): void;
  /** a TCP/Unix listener accepts up to n clients per wake-up (pen's -m); 1 until told */
  setMultiAccept(n: number): void;
  /** down[i]: server i is down, so a known UDP client's next datagram asks failed(slot, i, 0) where to go */
  setDown(down: boolean[]): void;
  /** close the least recently active UDP session without a record, its slot free at once: the slot, or -1 */
  recycle(): number;
  /** milliseconds; 0 switches one off */
  setTimeouts(connectMs: number, idleMs: number, udpIdleMs: number): void;
  listen(kind: 'tcp' | 'udp' | 'unix', addressOrPath: string, port: number, backlog: number): { id: number; port: number };
  closeListener(id: number): void;
  /** stop (true) or resume (false) accepting on a TCP/Unix listener; resuming also retries accepts an error stopped */
  pauseListener(id: number, paused: boolean): void;
  /** close a connection or UDP session; its record follows on the next loop turn */
  close(slot: number): boolean;
  info(slot: number): NativeConnInfo | null;
  list(): number[];
  stats(): NativeStats;
  /** close every fd the engine owns; no record is delivered. Not from inside a hook. */
  destroy(): void;
}

export interface NativeAddon {
  create(hooks: NativeHooks): NativeEngine;
  layout: {
    version: number; recWords: number; liveWords: number; packetWords: number; pickSlotMul: number;
    /** bytes a held TCP connection touches in the engine's per-slot tables (bench/memattr.ts) */
    tcpSlotBytes: number;
    maxServers: number; maxListeners: number; maxSlots: number; maxThreads: number;
  };
}

/** The package root: the nearest directory up from this module (server/core or dist/…) with our package.json. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'pen-ts') return dir;
      } catch { /* not ours */ }
    }
    dir = dirname(dir);
  }
  return null;
}

let cached: { engine: NativeAddon } | { error: string } | null = null;

/**
 * Load the addon: build/Release/pen_native.node under the package root, or the file named by
 * PEN_NATIVE_ADDON (the ASan build). Never throws: { error } says why it is not available.
 */
export function loadNative(): { engine: NativeAddon } | { error: string } {
  if (cached) return cached;
  if (process.platform !== 'linux') return (cached = { error: `the native data path is Linux-only (this is ${process.platform})` });
  const root = packageRoot();
  const file = process.env.PEN_NATIVE_ADDON || (root ? join(root, 'build', 'Release', 'pen_native.node') : null);
  if (!file) return (cached = { error: 'native data path: package root not found' });
  if (!existsSync(file)) return (cached = { error: `native data path not built (${file} missing; run npm run build:native)` });
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    return (cached = { error: `native data path cannot load (${file}): ${(err as Error).message.split('\n')[0]}` });
  }
  const l = addon.layout;
  if (!l || l.version !== LAYOUT_VERSION || l.recWords !== REC.WORDS || l.liveWords !== LIVE.WORDS
    || l.packetWords !== PACKETS.WORDS || l.pickSlotMul !== PICK_SLOT_MUL) {
    return (cached = { error: `native data path: ${file} has layout ${JSON.stringify(l)}, this build expects version ${LAYOUT_VERSION} (rebuild it)` });
  }
  return (cached = { engine: addon });
}

/** --threads, set once at start-up (pen.ts): what a native TCP listener asks the engine for */
let threads = 1;
export function setNativeThreads(n: number): void { threads = n; }
export function nativeThreads(): number { return threads; }
