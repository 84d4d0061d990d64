// Which data path serves a listener: the native addon (native/, native-tcp.ts, native-udp.ts) or
// the TypeScript one (tcp.ts, tls.ts, udp.ts). The addon only moves bytes, so every setting that
// needs to see or change them (TLS, -H, -l, the hex dump, -D; udp.ts passes datagrams through the
// same taps) or a TCP socket option it does not set stays on the TypeScript path.
// PEN_DATAPATH=native|portable forces one; unset, native is used where it can be.
import type { Settings } from './settings.ts';

export type DatapathName = 'native' | 'portable';
export interface Datapath {
  path: DatapathName;
  reason: string;
}

export const DATAPATH_ENV = 'PEN_DATAPATH';

/** What a setting that keeps a listener on the TypeScript path reads as in the reason. */
const NEEDS_PORTABLE: { on: (s: Settings) => boolean; what: string }[] = [
  { on: (s) => s.ssl.cert !== null, what: 'TLS (-E)' },
  { on: (s) => s.http, what: 'X-Forwarded-For (-H, http)' },
  { on: (s) => s.logFile !== null, what: 'the request log (-l, log)' },
  { on: (s) => s.debug >= 3, what: 'the data dump (debug 3)' },
  { on: (s) => s.dummy, what: 'the dummy server (-D)' },
  // TCP socket options: nothing to set on UDP sockets (udp.ts sets neither)
  { on: (s) => !s.udp && s.tcpNodelay, what: 'tcp_nodelay' },
  { on: (s) => !s.udp && s.keepalive, what: 'keepalive' },
];

/** The first setting in force that the native path cannot serve, or null. */
export function nativeUnsupported(s: Settings): string | null {
  for (const n of NEEDS_PORTABLE) if (n.on(s)) return n.what;
  return null;
}

/** PEN_DATAPATH's value: null when unset (or empty); a clear error for anything else. */
export function forcedDatapath(env: NodeJS.ProcessEnv = process.env): DatapathName | null {
  const v = env[DATAPATH_ENV];
  if (v === undefined || v === '') return null;
  if (v === 'native' || v === 'portable') return v;
  throw new Error(`${DATAPATH_ENV}=${v}: must be native or portable`);
}

export const LOOP_HOLD_ENV = 'PEN_LOOP_HOLD';

/** PEN_LOOP_HOLD: 0 stops the native engine holding Node's loop (native/hold.c), for comparison. */
export function loopHold(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[LOOP_HOLD_ENV];
  if (v === undefined || v === '' || v === '1') return true;
  if (v === '0') return false;
  throw new Error(`${LOOP_HOLD_ENV}=${v}: must be 0 or 1`);
}

/**
 * The path for a listener with these settings. `addonError` is why the addon did not load (null
 * when it did). A forced native path that cannot load throws: that is a start-up error.
 */
export function chooseDatapath(s: Settings, addonError: string | null, forced: DatapathName | null): Datapath {
  if (forced === 'portable') return { path: 'portable', reason: `${DATAPATH_ENV}=portable` };
  if (addonError !== null) {
    if (forced === 'native') throw new Error(`${DATAPATH_ENV}=native, but ${addonError}`);
    return { path: 'portable', reason: addonError };
  }
  const unsupported = nativeUnsupported(s);
  if (unsupported !== null) return { path: 'portable', reason: `${unsupported} needs the TypeScript path` };
  return { path: 'native', reason: forced === 'native' ? `${DATAPATH_ENV}=native` : 'the native addon is loaded' };
}
