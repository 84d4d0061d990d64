// GET /metrics: Prometheus text through prom-client, named in the style of HAProxy's exporter
// (haproxy_server_current_sessions → pen_server_current_sessions, …). Values are set from one
// snapshot per scrape; nothing is counted on the data path.
import { promClient as client } from './packages.ts';
import type { Snapshot } from '../../shared/snapshot.ts';

const STATES = ['up', 'blacklisted', 'limit', 'unset'] as const;
const CHECK_STATES = ['unknown', 'up', 'down'] as const;
const ROLES = ['master', 'backup', 'fault', 'stop', 'unknown'] as const;

export function createMetrics() {
  const register = new client.Registry();
  client.collectDefaultMetrics({ register, prefix: 'pen_' });
  const serverLabels = ['server', 'address'] as const;
  const gauge = (name: string, help: string, labelNames: readonly string[] = []) =>
    new client.Gauge({ name, help, labelNames, registers: [register] });
  const counter = (name: string, help: string, labelNames: readonly string[] = []) =>
    new client.Counter({ name, help, labelNames, registers: [register] });

  const m = {
    serverStatus: gauge('pen_server_status', 'Current state of the server (1 for the state it is in)', [...serverLabels, 'state']),
    serverCurrent: gauge('pen_server_current_sessions', 'Current number of connections to the server', serverLabels),
    serverLimit: gauge('pen_server_limit_sessions', 'Soft connection limit of the server (max; 0 = none)', serverLabels),
    serverHard: gauge('pen_server_hard_limit_sessions', 'Hard connection limit of the server for returning clients (0 = none)', serverLabels),
    serverWeight: gauge('pen_server_weight', 'Weight of the server', serverLabels),
    serverPrio: gauge('pen_server_priority', 'Priority of the server (lower is preferred)', serverLabels),
    serverBlacklist: gauge('pen_server_blacklist_remaining_seconds', 'Seconds of blacklisting left', serverLabels),
    serverDrain: gauge('pen_server_draining', 'Whether the server is draining (1: no new picks)', serverLabels),
    checkStatus: gauge('pen_server_check_status', 'Active health check state of the server (1 for the state it is in); only checked servers', [...serverLabels, 'state']),
    checkDuration: gauge('pen_server_check_duration_seconds', 'How long the last health check took', serverLabels),
    checkFailures: counter('pen_server_check_failures_total', 'Failed health checks since the check was set', serverLabels),
    checkConsecutive: gauge('pen_server_check_consecutive_failures', 'Failed health checks in a row', serverLabels),
    serverIn: counter('pen_server_bytes_in_total', 'Bytes sent to the server (request direction)', serverLabels),
    serverOut: counter('pen_server_bytes_out_total', 'Bytes received from the server (response direction)', serverLabels),
    feCurrent: gauge('pen_frontend_current_sessions', 'Current number of client connections'),
    feLimit: gauge('pen_frontend_limit_sessions', 'Size of the connection table (conn_max)'),
    feTotal: counter('pen_frontend_connections_total', 'Connections accepted since start'),
    feDropped: counter('pen_frontend_dropped_connections_total', 'Connections closed because no server could take them'),
    feIn: counter('pen_frontend_bytes_in_total', 'Bytes sent to servers'),
    feOut: counter('pen_frontend_bytes_out_total', 'Bytes received from servers'),
    logDropped: counter('pen_request_log_dropped_lines_total',
      'Request-log (-l) lines dropped because the file or its reader did not keep up'),
    syslogDropped: counter('pen_syslog_dropped_lines_total',
      'Debug lines dropped because syslog (the logger process) did not keep up'),
    clients: gauge('pen_frontend_tracked_clients', 'Active clients in the client table'),
    clientsMax: gauge('pen_frontend_tracked_clients_limit', 'Size of the client table (clients_max)'),
    loopDelay: gauge('pen_process_event_loop_delay_p99_seconds', 'Event-loop delay, p99 over the last interval'),
    uptime: gauge('pen_process_uptime_seconds', 'Seconds since pen started'),
    role: gauge('pen_role', "This host's VRRP role as keepalived last told it (1 for the role it has)", ['role']),
    peerConnected: gauge('pen_peer_connected', 'Whether this pen is following its --peer now (1) or not (0)'),
    peerLastSync: gauge('pen_peer_last_sync_seconds', 'Seconds since the last update from the peer (-1: never)'),
    peerBehind: gauge('pen_peer_entries_behind', 'Client-table entries the peer had not sent yet at its last report'),
    peerFollowers: gauge('pen_peer_followers', 'Pens following this one now'),
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
        m.serverCurrent.set(labels, s.connections);
        m.serverLimit.set(labels, s.maxc);
        m.serverHard.set(labels, s.hard);
        m.serverWeight.set(labels, s.weight);
        m.serverPrio.set(labels, s.prio);
        m.serverBlacklist.set(labels, s.blacklistLeft);
        m.serverDrain.set(labels, s.drain ? 1 : 0);
        if (s.health) {
          for (const state of CHECK_STATES) m.checkStatus.set({ ...labels, state }, s.health.state === state ? 1 : 0);
          m.checkDuration.set(labels, s.health.durationMs / 1000);
          m.checkFailures.inc(labels, s.health.failuresTotal);
          m.checkConsecutive.set(labels, s.health.failures);
        }
        m.serverIn.inc(labels, s.sx);
        m.serverOut.inc(labels, s.rx);
      }
      m.feCurrent.set(snap.totals.connections);
      m.feLimit.set(snap.connMax);
      m.feTotal.inc(snap.totals.accepted);
      m.feDropped.inc(snap.totals.dropped);
      m.feIn.inc(snap.totals.sx);
      m.feOut.inc(snap.totals.rx);
      m.logDropped.inc(snap.totals.logDropped);
      m.syslogDropped.inc(snap.totals.syslogDropped);
      m.clients.set(snap.clients.length);
      m.clientsMax.set(snap.clientsMax);
      m.loopDelay.set(snap.eventLoopDelayMs / 1000);
      m.uptime.set(snap.uptime);
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
