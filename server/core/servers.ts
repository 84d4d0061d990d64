// The server table: regular servers 0..N-1 plus the hidden emergency (-1) and abuse (-2) slots.
import { LIMITS, pastLimit } from '../../shared/limits.ts';
import type { HealthCheck } from '../../shared/health.ts';
import type { Family } from './address.ts';
import { PenError } from './errors.ts';

export const EMERGENCY = -1;
export const ABUSE = -2;
export const NO_SERVER = -3;

export interface Server {
  family: Family;      // 0 = slot created by `server N` without an address yet
  address: string;     // IP text, or the socket path
  port: number;        // Unix-socket servers report 1, as pen does
  maxc: number;        // soft limit (0 = unlimited)
  hard: number;        // hard limit for returning clients
  weight: number;
  prio: number;
  acl: number;
  status: number;      // seconds: when blacklisting started; 0 = never failed
  c: number;           // open connections (counted when the connect completes)
  sx: number;          // bytes sent to it, by closed connections (live ones are added on read)
  rx: number;          // bytes received from it, likewise
  /** `server N health …`: this server's own check; null: the default (`health …`) applies */
  health: HealthCheck | null;
  /** the checks found it down (core/health.ts keeps the rest of its check state) */
  healthDown: boolean;
  /** `server N drain on`: no new picks; open connections carry on */
  drain: boolean;
  /** blacklisted, as last published (core/blacklist.ts): each start and end is announced once */
  announced: boolean;
}

export function emptyServer(): Server {
  return { family: 0, address: '', port: 0, maxc: 0, hard: 0, weight: 0, prio: 0, acl: 0, status: 0, c: 0, sx: 0, rx: 0, health: null, healthDown: false, drain: false, announced: false };
}

export interface ServerTable {
  list: Server[];
  emergency: Server | null;
  abuse: Server | null;
  /** the last server a connection was started to (pen's `current`) */
  current: number;
}

/** How errors name a server: `10.0.0.1:80`, or the socket path. */
export function serverWhere(s: Server): string {
  return s.family === 'unix' ? s.address : `${s.address}:${s.port}`;
}

export function serverAt(t: ServerTable, i: number): Server | null {
  if (i >= 0) return t.list[i] ?? null;
  if (i === EMERGENCY) return t.emergency;
  if (i === ABUSE) return t.abuse;
  return null;
}

/** `server N …` on a slot beyond the end grows the table; it never shrinks. */
export function ensureServer(t: ServerTable, i: number): Server {
  // the commands refuse an index past LIMITS.server first; this guards every other caller
  if (!(Number.isInteger(i) && i >= 0 && i <= LIMITS.server.max)) throw new PenError('PEN_ERR_ARGUMENT', pastLimit('server', i));
  while (t.list.length <= i) t.list.push(emptyServer());
  return t.list[i]!; // the loop made every slot up to the integer i
}

export function isBlacklisted(s: Server, now: number, blacklistTime: number): boolean {
  return now - s.status < blacklistTime;
}

/** Blacklisted or found down by its checks: its sessions move and nothing new goes to it. */
export function isDown(s: Server, now: number, blacklistTime: number): boolean {
  return s.healthDown || isBlacklisted(s, now, blacklistTime);
}

/** Whether a new pick (returning clients included) may go to it: not down and not draining. */
export function isOut(s: Server, now: number, blacklistTime: number): boolean {
  return s.drain || isDown(s, now, blacklistTime);
}

/** Seconds of blacklisting left (0 when not blacklisted). */
export function blacklistLeft(s: Server, now: number, blacklistTime: number): number {
  return Math.max(0, s.status + blacklistTime - now);
}

/** `server N blacklist T`: blacklisted for exactly T seconds from now; 0 clears it. */
export function blacklistFor(s: Server, seconds: number, now: number, blacklistTime: number): void {
  s.status = seconds <= 0 ? 0 : now + seconds - blacklistTime;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
