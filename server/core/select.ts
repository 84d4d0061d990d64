// Server selection as pen does it: pure functions over plain state, no sockets.
// pick.ts puts them together into the one pick sequence TCP and UDP use.
import { aclPermits, type AclTable, type CountryLookup } from './acl.ts';
import { ABUSE, EMERGENCY, NO_SERVER, isOut, serverAt, type Server, type ServerTable } from './servers.ts';
import type { Settings } from './settings.ts';

export interface SelectState {
  servers: ServerTable;
  settings: Settings;
  acls: AclTable;
  rrCursor: number; // global round-robin cursor, advanced before use
  country?: CountryLookup; // for `country` ACL entries; absent without a GeoIP database
}

export interface ClientInfo {
  ip: string | null;   // null for Unix-socket clients
  port: number;
  lastServer: number;  // the client table's remembered server
}

/** Blacklisted, health-down and draining servers are skipped alike (servers.ts: isOut). */
function unavailable(s: Server, index: number, now: number, blacklistTime: number): boolean {
  if (isOut(s, now, blacklistTime)) return true;
  // a C quirk kept for compatibility: an IPv4 0.0.0.0 server is skipped, except slot 0
  return index !== 0 && s.family === 4 && s.address === '0.0.0.0';
}

/** Round robin: advance the shared cursor to the next server that is not unavailable. */
export function roundRobin(st: SelectState, now: number): number {
  const list = st.servers.list;
  const n = list.length;
  let i = st.rrCursor;
  for (let tries = 0; tries < n; tries++) {
    i = (i + 1) % n;
    if (!unavailable(list[i]!, i, now, st.settings.blacklistTime)) { // i = (…) % n: inside the list
      st.rrCursor = i;
      return i;
    }
  }
  return NO_SERVER;
}

/** -h: little-endian IPv4 bytes (XOR the byte-swapped source port with -r); IPv6: last byte. */
export function hashIndex(st: SelectState, client: ClientInfo): number {
  const n = st.servers.list.length;
  if (n === 0) return NO_SERVER;
  let h = 0;
  const ip = client.ip;
  if (ip !== null && ip.includes('.') && !ip.includes(':')) {
    const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = ip.split('.').map(Number);
    h = (b0 + b1 * 0x100 + b2 * 0x10000 + b3 * 0x1000000) >>> 0;
    if (st.settings.roundrobin) h = (h ^ (((client.port & 0xff) << 8) | (client.port >> 8))) >>> 0;
  } else if (ip !== null && ip.startsWith('::ffff:') && ip.includes('.')) {
    return hashIndex(st, { ...client, ip: ip.slice(7) });
  } else if (ip !== null) {
    const groups = ip.split(':');
    const last = groups[groups.length - 1] || '0';
    h = parseInt(last, 16) & 0xff;
    if (st.settings.roundrobin) h = (h ^ (((client.port & 0xff) << 8) | (client.port >> 8))) >>> 0;
  }
  return h % n;
}

/** -W: smallest 256*c/weight among available servers with weight > 0; ties go to the lowest index. */
export function byWeight(st: SelectState, now: number): number {
  let best = NO_SERVER;
  let bestLoad = Infinity;
  st.servers.list.forEach((s, i) => {
    if (s.weight === 0 || unavailable(s, i, now, st.settings.blacklistTime)) return;
    const load = Math.floor((256 * s.c) / s.weight);
    if (load < bestLoad) {
      bestLoad = load;
      best = i;
    }
  });
  return best;
}

/** prio: the lowest prio value among available servers; ties go to the lowest index. */
export function byPrio(st: SelectState, now: number): number {
  let best = NO_SERVER;
  let bestPrio = Infinity;
  st.servers.list.forEach((s, i) => {
    if (unavailable(s, i, now, st.settings.blacklistTime)) return;
    if (best === NO_SERVER || s.prio < bestPrio) {
      bestPrio = s.prio;
      best = i;
    }
  });
  return best;
}

/** pen's initial choice: abuse for denied clients, then sticky, then prio > weight > hash > rr. */
export function chooseInitial(st: SelectState, client: ClientInfo, now: number): number {
  if (!aclPermits(st.acls, st.settings.clientAcl, client.ip, st.country)) return st.servers.abuse ? ABUSE : NO_SERVER;
  if (!st.settings.roundrobin && client.lastServer >= 0 && client.lastServer < st.servers.list.length) {
    return client.lastServer;
  }
  if (st.settings.prio) return byPrio(st, now);
  if (st.settings.weight) return byWeight(st, now);
  if (st.settings.hash) return hashIndex(st, client);
  return roundRobin(st, now);
}

/** What try_server's checks say of a server: it may be tried, or why not. */
export const TRY_OK = 0;
export const TRY_NOSRV = 1;  // no such server, no address or port, blacklisted, health-down or draining
export const TRY_FULL = 2;   // at its soft limit (or, for the client it last served, its hard limit)
export const TRY_ACL = 3;    // its ACL denies the client
export type TryVerdict = typeof TRY_OK | typeof TRY_NOSRV | typeof TRY_FULL | typeof TRY_ACL;

/** try_server's checks before a connect, in pen's order: address, blacklist, soft/hard limits, server ACL. */
export function tryVerdict(st: SelectState, index: number, client: ClientInfo, now: number): TryVerdict {
  const s = serverAt(st.servers, index);
  if (s === null || s.family === 0) return TRY_NOSRV;
  if (s.port === 0) return TRY_NOSRV;
  if (isOut(s, now, st.settings.blacklistTime)) return TRY_NOSRV;
  if (s.maxc !== 0 && s.c >= s.maxc && (client.lastServer !== index || s.c >= s.hard)) return TRY_FULL;
  return aclPermits(st.acls, s.acl, client.ip, st.country) ? TRY_OK : TRY_ACL;
}

export function canTry(st: SelectState, index: number, client: ClientInfo, now: number): boolean {
  return tryVerdict(st, index, client, now) === TRY_OK;
}

/**
 * The next server to try after `failed` did not work out, or NO_SERVER to close the client.
 * Scans from the server after the failed one up to and including the initial choice, then
 * falls back to the emergency server. Stubborn mode and abuse/emergency never fail over.
 */
export function failoverNext(
  st: SelectState, failed: number, initial: number, client: ClientInfo, now: number,
): number {
  if (st.settings.stubborn) return NO_SERVER;
  if (failed === ABUSE || failed === EMERGENCY) return NO_SERVER;
  const n = st.servers.list.length;
  if (n >= 2 && failed >= 0) {
    for (let k = 1; k <= n; k++) {
      const i = (failed + k) % n;
      if (canTry(st, i, client, now)) return i;
      if (i === initial) break;
    }
  }
  return canTry(st, EMERGENCY, client, now) ? EMERGENCY : NO_SERVER;
}
