// Counters → Snapshot: the USR1 statistics as data. Built on demand (a GET, the 1-second stream
// tick, a /metrics scrape), never per packet, from the one-pass statistics model (model.ts), so a
// snapshot costs O(servers + clients + connection slots).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { formatAclEntry } from '../core/acl.ts';
import { settingsValues } from '../../shared/settings.ts';
import type { Balancer } from '../core/balancer.ts';
import { collectStats, type ServerRow } from './model.ts';
import { debugDropped } from '../core/diag.ts';
import { effectiveCheck } from '../core/health.ts';
import { requestLogDropped } from '../core/requestlog.ts';
import { ABUSE, EMERGENCY, blacklistLeft, isBlacklisted, type Server } from '../core/servers.ts';
import type {
  ClientSnapshot, ConnectionSnapshot, HealthSnapshot, ServerHealth, ServerSnapshot, SettingsSnapshot, Snapshot,
} from '../../shared/snapshot.ts';
import type { AclEntryView, AclList } from '../../shared/api.ts';

type ServerState = ServerSnapshot['state'];

/**
 * A server's state as the dashboard shows it: `unset` for a slot without an address,
 * `blacklisted` while its blacklisting lasts, `limit` when its soft limit is reached, else `up`.
 */
export function serverState(s: Server, now: number, blacklistTime: number): ServerState {
  if (s.family === 0) return 'unset';
  if (isBlacklisted(s, now, blacklistTime)) return 'blacklisted';
  if (s.maxc > 0 && s.c >= s.maxc) return 'limit';
  return 'up';
}

// ---- event-loop delay ----

let histogram: IntervalHistogram | null = null;
let windowStart = 0;
let lastP99 = 0;

/**
 * p99 event-loop delay in ms over the last window of at least a second. The monitor starts on
 * the first call (so a pen nobody watches pays nothing) and the window rolls over on the first
 * call after a second has passed.
 */
function eventLoopDelayMs(nowMs: number): number {
  if (!histogram) {
    histogram = monitorEventLoopDelay({ resolution: 20 });
    histogram.enable();
    windowStart = nowMs;
    return 0;
  }
  const p99 = histogram.count > 0 ? histogram.percentile(99) / 1e6 : lastP99;
  if (nowMs - windowStart >= 1000) {
    lastP99 = p99;
    histogram.reset();
    windowStart = nowMs;
  }
  return Math.round(p99 * 1000) / 1000;
}

/** Stop the event-loop monitor (the admin server calls this when it closes). */
export function stopEventLoopMonitor(): void {
  histogram?.disable();
  histogram = null;
}

// ---- the snapshot ----

function rate(now: number, before: number | undefined, seconds: number): number {
  if (before === undefined || seconds <= 0) return 0;
  return Math.max(0, (now - before) / seconds);
}

/** The value settings under their penctl names (the rows of shared/settings.ts). */
export function settingsSnapshot(pen: Balancer): SettingsSnapshot {
  return settingsValues(pen.settings);
}

/** A checked server's check and its state; null when it is not checked. */
export function healthSnapshot(pen: Balancer, s: Server): HealthSnapshot | null {
  const h = pen.health.stateOf(s);
  if (h === null) return null;
  return {
    check: { ...effectiveCheck(s, pen.healthDefault) }, own: s.health !== null, state: h.state,
    lastCheck: h.lastCheck, durationMs: h.lastDurationMs, lastError: h.lastError,
    successes: h.successes, failures: h.failures, checks: h.checks, failuresTotal: h.failuresTotal,
  };
}

/** Server n's own check, the one in force, its state and drain; null when there is no server n. */
export function serverHealthView(pen: Balancer, n: number): ServerHealth | null {
  const s = pen.servers.list[n];
  if (!s) return null;
  return {
    own: s.health ? { ...s.health } : null, check: { ...effectiveCheck(s, pen.healthDefault) },
    status: healthSnapshot(pen, s), drain: s.drain,
  };
}

/**
 * Build a snapshot of `pen` now. Rates (bytes/s) are computed against `previous` over the time
 * between the two; without a previous snapshot (or with one from the same millisecond) they are 0.
 */
export function buildSnapshot(pen: Balancer, previous?: Snapshot | null): Snapshot {
  const timeMs = Date.now();
  const now = pen.now();
  const { settings } = pen;
  const dt = previous ? (timeMs - previous.timeMs) / 1000 : 0;

  const stats = collectStats(pen, now);
  const connections: ConnectionSnapshot[] = stats.connections.map(({ conn: c }) => ({
    index: c.index, state: c.state, client: c.clientIndex, clientAddress: c.clientAddress,
    server: c.server, pendingDown: c.pendingDown(), pendingUp: c.pendingUp(), age: Math.max(0, now - c.t),
  }));

  const prevServers = new Map<number, ServerSnapshot>();
  if (previous) {
    for (const p of previous.servers) prevServers.set(p.index, p);
    if (previous.emergency) prevServers.set(EMERGENCY, previous.emergency);
    if (previous.abuse) prevServers.set(ABUSE, previous.abuse);
  }
  const serverRow = ({ server: s, index, sx, rx }: ServerRow): ServerSnapshot => {
    const before = prevServers.get(index);
    return {
      index, address: s.family === 0 ? '' : s.address, port: s.port,
      state: serverState(s, now, settings.blacklistTime),
      blacklistLeft: s.family === 0 ? 0 : blacklistLeft(s, now, settings.blacklistTime),
      status: s.status, connections: s.c, maxc: s.maxc, hard: s.hard, weight: s.weight, prio: s.prio,
      acl: s.acl, sx, rx, sxRate: rate(sx, before?.sx, dt), rxRate: rate(rx, before?.rx, dt),
      drain: s.drain, health: index >= 0 ? healthSnapshot(pen, s) : null,
    };
  };

  const clients: ClientSnapshot[] = stats.clients.map(({ index, slot, csx, crx }) => ({
    index, address: slot.address, age: Math.max(0, now - slot.last), lastServer: slot.server,
    connects: slot.connects, sent: csx, received: crx,
  }));
  const { sx, rx } = stats;
  return {
    time: Math.floor(timeMs / 1000),
    timeMs,
    pid: process.pid,
    uptime: (timeMs - pen.startedAt) / 1000,
    listen: settings.listen,
    protocol: settings.udp ? 'udp' : 'tcp',
    mode: {
      tracking: !settings.roundrobin, roundrobin: settings.roundrobin, hash: settings.hash,
      weight: settings.weight, prio: settings.prio, stubborn: settings.stubborn,
    },
    current: pen.servers.current,
    servers: stats.servers.map(serverRow),
    emergency: stats.emergency ? serverRow(stats.emergency) : null,
    abuse: stats.abuse ? serverRow(stats.abuse) : null,
    clients,
    clientsMax: pen.clients.size,
    connections,
    connMax: pen.settings.connMax,
    totals: {
      connections: pen.connsUsed, accepted: pen.accepted, dropped: pen.dropped, fdPauses: pen.fdPauses,
      logDropped: requestLogDropped(), syslogDropped: debugDropped(),
      sx, rx, sxRate: rate(sx, previous?.totals.sx, dt), rxRate: rate(rx, previous?.totals.rx, dt),
    },
    eventLoopDelayMs: eventLoopDelayMs(timeMs),
    datapath: { ...pen.datapath },
    settings: settingsSnapshot(pen),
    health: { ...pen.healthDefault },
    peer: { ...pen.peer },
  };
}

/**
 * Keeps the snapshot that rates are measured against, so a GET between two stream ticks does not
 * shrink the next tick's interval to a few milliseconds: the base only moves on once at least
 * `minIntervalMs` has passed.
 */
export function createSampler(pen: Balancer, minIntervalMs = 900): { sample(): Snapshot } {
  let base: Snapshot | null = null;
  return {
    sample() {
      const snap = buildSnapshot(pen, base);
      if (!base || snap.timeMs - base.timeMs >= minIntervalMs) base = snap;
      return snap;
    },
  };
}

/** The ten access lists, entry by entry, with each entry's `write` line. */
export function aclSnapshot(pen: Balancer): AclList[] {
  return pen.acls.map((list, index) => ({
    index,
    entries: list.map((e): AclEntryView => {
      const base = { action: e.permit ? 'permit' as const : 'deny' as const, line: formatAclEntry(index, e) };
      if (e.kind === 'ipv4') return { ...base, kind: 'ipv4', address: e.ip, mask: e.mask };
      if (e.kind === 'ipv6') return { ...base, kind: 'ipv6', address: e.ip, prefix: e.prefix };
      return { ...base, kind: 'country', country: e.country };
    }),
  }));
}
