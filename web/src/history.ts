// Rolling history for the charts: a fixed window of one point per snapshot, totals and per server.
// Plain arrays, mutated in place; the state bumps a version signal so charts redraw once a tick.
import type { Snapshot } from '../../shared/snapshot.ts';

export const HISTORY_POINTS = 180;

export interface ServerSeries {
  conns: number[];
  /** bytes/s both ways */
  traffic: number[];
}

export interface History {
  time: number[];
  conns: number[];
  /** new connections per second, from the accepted counter */
  accepts: number[];
  sxRate: number[];
  rxRate: number[];
  servers: Map<number, ServerSeries>;
  lastAccepted: number | null;
  lastTime: number | null;
}

export function emptyHistory(): History {
  return {
    time: [], conns: [], accepts: [], sxRate: [], rxRate: [], servers: new Map(), lastAccepted: null, lastTime: null,
  };
}

function put(arr: number[], v: number, replace: boolean, max: number): void {
  if (replace && arr.length > 0) arr[arr.length - 1] = v;
  else arr.push(v);
  if (arr.length > max) arr.splice(0, arr.length - max);
}

/**
 * Add one snapshot. Snapshots carry whole seconds, so a second snapshot within the same second
 * (the immediate one after a reconnect) replaces the last point instead of adding a new one.
 */
export function record(h: History, s: Snapshot, max = HISTORY_POINTS): void {
  const t = s.time;
  const replace = h.lastTime !== null && t <= h.lastTime;
  let accepts = h.accepts[h.accepts.length - 1] ?? 0;
  if (!replace) {
    accepts = h.lastAccepted === null || h.lastTime === null
      ? 0
      : Math.max(0, s.totals.accepted - h.lastAccepted) / (t - h.lastTime);
    h.lastAccepted = s.totals.accepted;
    h.lastTime = t;
  }
  put(h.time, replace ? (h.time[h.time.length - 1] ?? t) : t, replace, max);
  put(h.conns, s.totals.connections, replace, max);
  put(h.accepts, accepts, replace, max);
  put(h.sxRate, s.totals.sxRate, replace, max);
  put(h.rxRate, s.totals.rxRate, replace, max);
  const seen = new Set<number>();
  for (const srv of [...s.servers, ...(s.emergency ? [s.emergency] : []), ...(s.abuse ? [s.abuse] : [])]) {
    seen.add(srv.index);
    let series = h.servers.get(srv.index);
    if (!series) {
      series = { conns: [], traffic: [] };
      h.servers.set(srv.index, series);
    }
    put(series.conns, srv.connections, replace, max);
    put(series.traffic, srv.sxRate + srv.rxRate, replace, max);
  }
  for (const k of [...h.servers.keys()]) if (!seen.has(k)) h.servers.delete(k);
}
