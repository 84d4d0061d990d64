// GET /metrics: Prometheus text through prom-client, named in the style of HAProxy's exporter
// (haproxy_server_current_sessions → pen_server_current_sessions, …). Values are set from one
// snapshot per scrape; nothing is counted on the data path.
import { promClient as client } from './packages.ts';
import type { Snapshot } from '../../shared/snapshot.ts';
import { SERVER_FIELDS, TOTAL_FIELDS, type Prom } from '../stats/fields.ts';

type Labels = Record<string, string>;

const STATES = ['up', 'blacklisted', 'limit', 'unset'] as const;
const CHECK_STATES = ['unknown', 'up', 'down'] as const;
const ROLES = ['master', 'backup', 'fault', 'stop', 'unknown'] as const;
const DATAPATHS = ['native', 'portable'] as const;

export function createMetrics() {
  const register = new client.Registry();
  client.collectDefaultMetrics({ register, prefix: 'pen_' });
  const serverLabels = ['server', 'address'] as const;
  const gauge = (name: string, help: string, labelNames: readonly string[] = []) =>
    new client.Gauge({ name, help, labelNames, registers: [register] });
  const counter = (name: string, help: string, labelNames: readonly string[] = []) =>
    new client.Counter({ name, help, labelNames, registers: [register] });

  /** A metric from the field table, as the setter of its value (a counter is reset per scrape, then raised to it). */
  const metric = (p: Prom, labelNames: readonly string[] = []): ((value: number, labels?: Labels) => void) => {
    if (p.kind === 'gauge') {
      const g = gauge(p.name, p.help, labelNames);
      return (value, labels = {}) => g.set(labels, value);
    }
    const c = counter(p.name, p.help, labelNames);
    return (value, labels = {}) => c.inc(labels, value);
  };
  // from the field table (stats/fields.ts): the per-server numbers pen also prints, and the totals
  const serverFields = SERVER_FIELDS.flatMap((f) =>
    (f.prom ? [{ key: f.key, set: metric(f.prom, serverLabels) }] : []));
  const totals = TOTAL_FIELDS.map((f) => ({ value: f.value, set: metric(f.prom) }));

  const m = {
    serverStatus: gauge('pen_server_status', 'Current state of the server (1 for the state it is in)', [...serverLabels, 'state']),
    serverBlacklist: gauge('pen_server_blacklist_remaining_seconds', 'Seconds of blacklisting left', serverLabels),
    serverDrain: gauge('pen_server_draining', 'Whether the server is draining (1: no new picks)', serverLabels),
    checkStatus: gauge('pen_server_check_status', 'Active health check state of the server (1 for the state it is in); only checked servers', [...serverLabels, 'state']),
    checkDuration: gauge('pen_server_check_duration_seconds', 'How long the last health check took', serverLabels),
    checkFailures: counter('pen_server_check_failures_total', 'Failed health checks since the check was set', serverLabels),
    checkConsecutive: gauge('pen_server_check_consecutive_failures', 'Failed health checks in a row', serverLabels),
    role: gauge('pen_role', "This host's VRRP role as keepalived last told it (1 for the role it has)", ['role']),
    peerConnected: gauge('pen_peer_connected', 'Whether this pen is following its --peer now (1) or not (0)'),
    peerLastSync: gauge('pen_peer_last_sync_seconds', 'Seconds since the last update from the peer (-1: never)'),
    peerBehind: gauge('pen_peer_entries_behind', 'Client-table entries the peer had not sent yet at its last report'),
    peerFollowers: gauge('pen_peer_followers', 'Pens following this one now'),
    datapath: gauge('pen_datapath_info', "The listener's data path (1 for the one in use): native (the addon) or portable (TypeScript)", ['path']),
  };

  return {
    contentType: register.contentType,
    /** The Prometheus text for this snapshot. */
    async render(snap: Snapshot): Promise<string> {
      register.resetMetrics();
      const rows = [...snap.servers];
      if (snap.emergency) rows.push(snap.emergency);
      if (snap.abuse) rows.push(snap.abuse);
      for (const s of rows) {
        const server = s.index === -1 ? 'emergency' : s.index === -2 ? 'abuse' : String(s.index);
        const labels = { server, address: s.address ? `${s.address}:${s.port}` : '' };
        for (const state of STATES) m.serverStatus.set({ ...labels, state }, s.state === state ? 1 : 0);
        for (const f of serverFields) f.set(s[f.key] as number, labels);
        m.serverBlacklist.set(labels, s.blacklistLeft);
        m.serverDrain.set(labels, s.drain ? 1 : 0);
        if (s.health) {
          for (const state of CHECK_STATES) m.checkStatus.set({ ...labels, state }, s.health.state === state ? 1 : 0);
          m.checkDuration.set(labels, s.health.durationMs / 1000);
          m.checkFailures.inc(labels, s.health.failuresTotal);
          m.checkConsecutive.set(labels, s.health.failures);
        }
      }
      for (const t of totals) t.set(t.value(snap));
      for (const path of DATAPATHS) m.datapath.set({ path }, snap.datapath.path === path ? 1 : 0);
      if (snap.peer) {
        for (const role of ROLES) m.role.set({ role }, snap.peer.role === role ? 1 : 0);
        m.peerConnected.set(snap.peer.connected ? 1 : 0);
        m.peerLastSync.set(snap.peer.lastSync === null ? -1 : Math.max(0, (snap.timeMs - snap.peer.lastSync) / 1000));
        m.peerBehind.set(snap.peer.behind);
        m.peerFollowers.set(snap.peer.followers);
      }
      return register.metrics();
    },
  };
}
