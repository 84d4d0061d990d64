// One field table for the statistics: each number once, with what every report calls it: pen's
// HTML header (the `status` page and the -w file), its word in penctl's `servers` reply, and its
// Prometheus name and help. The renderers (html.ts, text.ts, admin/metrics.ts) walk these rows;
// the orders are pen's, so its byte layout comes out of the table.
import type { ConnectionSnapshot, ServerSnapshot, Snapshot } from '../../shared/snapshot.ts';
import { penAddress, type ClientRow, type LiveConnection, type ServerRow } from './model.ts';

export interface Prom {
  name: string;
  help: string;
  kind: 'gauge' | 'counter';
}

interface Field<Row, Key> {
  /** its name in the JSON snapshot's row */
  key: Key;
  /** pen's column header on the HTML page */
  html: string;
  value(row: Row): string | number;
  /** penctl `servers`: pen's word before the value */
  penctl?: string;
  prom?: Prom;
}

const gauge = (name: string, help: string): Prom => ({ name, help, kind: 'gauge' });
const counter = (name: string, help: string): Prom => ({ name, help, kind: 'counter' });

type ServerKey = keyof ServerSnapshot;

/** In the HTML page's column order. */
export const SERVER_FIELDS: readonly Field<ServerRow, ServerKey>[] = [
  { key: 'index', html: 'server', value: (r) => r.index },
  { key: 'address', html: 'address', penctl: 'addr', value: (r) => penAddress(r.server) },
  { key: 'status', html: 'status', value: (r) => r.server.status },
  { key: 'port', html: 'port', penctl: 'port', value: (r) => r.server.port },
  { key: 'connections', html: 'connections', penctl: 'conn', value: (r) => r.server.c,
    prom: gauge('pen_server_current_sessions', 'Current number of connections to the server') },
  { key: 'maxc', html: 'max soft', penctl: 'max', value: (r) => r.server.maxc,
    prom: gauge('pen_server_limit_sessions', 'Soft connection limit of the server (max; 0 = none)') },
  { key: 'hard', html: 'max hard', penctl: 'hard', value: (r) => r.server.hard,
    prom: gauge('pen_server_hard_limit_sessions', 'Hard connection limit of the server for returning clients (0 = none)') },
  { key: 'sx', html: 'sent', penctl: 'sx', value: (r) => r.sx,
    prom: counter('pen_server_bytes_in_total', 'Bytes sent to the server (request direction)') },
  { key: 'rx', html: 'received', penctl: 'rx', value: (r) => r.rx,
    prom: counter('pen_server_bytes_out_total', 'Bytes received from the server (response direction)') },
  { key: 'weight', html: 'weight', penctl: 'weight', value: (r) => r.server.weight,
    prom: gauge('pen_server_weight', 'Weight of the server') },
  { key: 'prio', html: 'prio', penctl: 'prio', value: (r) => r.server.prio,
    prom: gauge('pen_server_priority', 'Priority of the server (lower is preferred)') },
];

/** pen's `servers` reply puts weight and prio before the byte counts. */
export const PENCTL_SERVER_ORDER: readonly ServerKey[] = ['address', 'port', 'connections', 'maxc', 'hard', 'weight', 'prio', 'sx', 'rx'];

export const CLIENT_FIELDS: readonly Field<{ row: ClientRow; now: number }, string>[] = [
  { key: 'index', html: 'client', value: ({ row }) => row.index },
  { key: 'address', html: 'address', value: ({ row }) => row.slot.address },
  { key: 'age', html: 'age(secs)', value: ({ row, now }) => now - row.slot.last },
  { key: 'lastServer', html: 'last server', value: ({ row }) => row.slot.server },
  { key: 'connects', html: 'connects', value: ({ row }) => row.slot.connects },
  { key: 'sent', html: 'sent', value: ({ row }) => row.csx },
  { key: 'received', html: 'received', value: ({ row }) => row.crx },
];

export const CONNECTION_FIELDS: readonly Field<LiveConnection, keyof ConnectionSnapshot | 'downfd' | 'upfd'>[] = [
  { key: 'index', html: 'connection', value: ({ conn }) => conn.index },
  { key: 'downfd', html: 'downfd', value: ({ conn }) => conn.downId },
  { key: 'upfd', html: 'upfd', value: ({ conn }) => conn.upId },
  { key: 'pendingDown', html: 'pending data down', value: ({ conn }) => conn.pendingDown() },
  { key: 'pendingUp', html: 'pending data up', value: ({ conn }) => conn.pendingUp() },
  { key: 'client', html: 'client', value: ({ conn }) => conn.clientIndex },
  { key: 'server', html: 'server', value: ({ conn }) => conn.server },
];

/** The frontend's totals, as /metrics names them, read from the snapshot. */
export const TOTAL_FIELDS: readonly { prom: Prom; value(s: Snapshot): number }[] = [
  { prom: gauge('pen_frontend_current_sessions', 'Current number of client connections'), value: (s) => s.totals.connections },
  { prom: gauge('pen_frontend_limit_sessions', 'Size of the connection table (conn_max)'), value: (s) => s.connMax },
  { prom: counter('pen_frontend_connections_total', 'Connections accepted since start'), value: (s) => s.totals.accepted },
  { prom: counter('pen_frontend_dropped_connections_total', 'Connections closed because no server could take them'), value: (s) => s.totals.dropped },
  { prom: counter('pen_frontend_bytes_in_total', 'Bytes sent to servers'), value: (s) => s.totals.sx },
  { prom: counter('pen_frontend_bytes_out_total', 'Bytes received from servers'), value: (s) => s.totals.rx },
  { prom: counter('pen_request_log_dropped_lines_total', 'Request-log (-l) lines dropped because the file or its reader did not keep up'), value: (s) => s.totals.logDropped },
  { prom: counter('pen_syslog_dropped_lines_total', 'Debug lines dropped because syslog (the logger process) did not keep up'), value: (s) => s.totals.syslogDropped },
  { prom: gauge('pen_frontend_tracked_clients', 'Active clients in the client table'), value: (s) => s.clients.length },
  { prom: gauge('pen_frontend_tracked_clients_limit', 'Size of the client table (clients_max)'), value: (s) => s.clientsMax },
  { prom: gauge('pen_process_event_loop_delay_p99_seconds', 'Event-loop delay, p99 over the last interval'), value: (s) => s.eventLoopDelayMs / 1000 },
  { prom: gauge('pen_process_uptime_seconds', 'Seconds since pen started'), value: (s) => s.uptime },
];
