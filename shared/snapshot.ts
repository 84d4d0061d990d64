// The live statistics snapshot: what USR1 prints, as data. One schema gives the TypeScript type,
// the REST validation/OpenAPI document and what the dashboard reads. No Node APIs here.
import { Type, type Static } from '@sinclair/typebox';
import { HealthCheckSchema } from './health.ts';
import { SettingsSnapshotSchema } from './settings.ts';

export const ServerStateSchema = Type.Union([
  Type.Literal('up'), Type.Literal('blacklisted'), Type.Literal('limit'), Type.Literal('unset'),
]);

export const HealthSnapshotSchema = Type.Object({
  check: HealthCheckSchema,
  own: Type.Boolean({ description: 'the server has its own check (`server N health …`) rather than the default' }),
  state: Type.Union([Type.Literal('unknown'), Type.Literal('up'), Type.Literal('down')], { description: 'unknown: not yet judged (the server is used meanwhile)' }),
  lastCheck: Type.Number({ description: 'ms since the epoch when the last check finished; 0: none yet' }),
  durationMs: Type.Number({ description: 'how long the last check took' }),
  lastError: Type.Union([Type.String(), Type.Null()], { description: 'why the last check failed; null when it passed' }),
  successes: Type.Integer({ description: 'consecutive passed checks' }),
  failures: Type.Integer({ description: 'consecutive failed checks' }),
  checks: Type.Number({ description: 'checks run since the check was set' }),
  failuresTotal: Type.Number({ description: 'failed checks since the check was set' }),
});

/** GET/PUT/DELETE /servers/:n/health: a server's own check, the one in force, and its state */
export const ServerHealthSchema = Type.Object({
  own: Type.Union([HealthCheckSchema, Type.Null()], { description: 'the check set with `server N health …`; null: the default applies' }),
  check: HealthCheckSchema,
  status: Type.Union([HealthSnapshotSchema, Type.Null()], { description: 'null while the server is not checked' }),
  drain: Type.Boolean(),
});
export type ServerHealth = Static<typeof ServerHealthSchema>;

export const ServerSnapshotSchema = Type.Object({
  index: Type.Integer({ description: 'server slot; -1 emergency, -2 abuse' }),
  address: Type.String(),
  port: Type.Integer(),
  state: ServerStateSchema,
  blacklistLeft: Type.Integer({ description: 'seconds of blacklisting left' }),
  status: Type.Integer({ description: "pen's raw status value (blacklist start time)" }),
  connections: Type.Integer(),
  maxc: Type.Integer(),
  hard: Type.Integer(),
  weight: Type.Integer(),
  prio: Type.Integer(),
  acl: Type.Integer(),
  sx: Type.Number({ description: 'bytes sent to the server' }),
  rx: Type.Number({ description: 'bytes received from the server' }),
  sxRate: Type.Number({ description: 'bytes/s sent to the server over the last interval' }),
  rxRate: Type.Number({ description: 'bytes/s received from the server over the last interval' }),
  drain: Type.Boolean({ description: '`server N drain on`: no new picks, open connections carry on' }),
  health: Type.Union([HealthSnapshotSchema, Type.Null()], { description: 'the active check and its state; null when the server is not checked' }),
});

export const ClientSnapshotSchema = Type.Object({
  index: Type.Integer(),
  address: Type.String(),
  age: Type.Integer({ description: 'seconds since the last connection' }),
  lastServer: Type.Integer(),
  connects: Type.Integer(),
  sent: Type.Number(),
  received: Type.Number(),
});

export const ConnectionSnapshotSchema = Type.Object({
  index: Type.Integer(),
  state: Type.Integer({ description: "pen's state bits: 1 connecting, 2 connected, 4 server EOF, 8 client EOF" }),
  client: Type.Integer(),
  clientAddress: Type.String(),
  server: Type.Integer(),
  pendingDown: Type.Integer(),
  pendingUp: Type.Integer(),
  age: Type.Integer(),
});

export { SettingsSnapshotSchema };

export const RoleSchema = Type.Union([
  Type.Literal('master'), Type.Literal('backup'), Type.Literal('fault'), Type.Literal('stop'), Type.Literal('unknown'),
], { description: "this host's VRRP role, as keepalived's notify script last told it (PUT /role); unknown until then" });

/** The pair (docs/high-availability.md): the pen this one follows (--peer) and the pens following this one. */
export const PeerSnapshotSchema = Type.Object({
  role: RoleSchema,
  url: Type.Union([Type.String(), Type.Null()], { description: 'the admin API this pen follows (--peer); null without one' }),
  connected: Type.Boolean({ description: "whether this pen is receiving its peer's state now" }),
  lastSync: Type.Union([Type.Number(), Type.Null()], { description: 'ms since the epoch of the last update received from the peer' }),
  behind: Type.Integer({ description: 'client-table entries the peer had not sent yet at its last report' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'why the link to the peer is down, when it is' }),
  applying: Type.Boolean({ description: "whether received state is applied (false while this host is master: it is the source)" }),
  followers: Type.Integer({ description: 'pens following this one now (open GET /peer streams)' }),
});

export const SnapshotSchema = Type.Object({
  time: Type.Integer({ description: 'unix seconds' }),
  timeMs: Type.Number({ description: 'milliseconds since the epoch when the snapshot was taken (rates are per second between two of these)' }),
  pid: Type.Integer(),
  uptime: Type.Number(),
  listen: Type.Union([Type.String(), Type.Null()]),
  protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  mode: Type.Object({
    tracking: Type.Boolean({ description: 'client tracking in use, i.e. not roundrobin' }), roundrobin: Type.Boolean(), hash: Type.Boolean(),
    weight: Type.Boolean(), prio: Type.Boolean(), stubborn: Type.Boolean(),
  }),
  current: Type.Integer(),
  servers: Type.Array(ServerSnapshotSchema),
  emergency: Type.Union([ServerSnapshotSchema, Type.Null()]),
  abuse: Type.Union([ServerSnapshotSchema, Type.Null()]),
  clients: Type.Array(ClientSnapshotSchema),
  clientsMax: Type.Integer(),
  connections: Type.Array(ConnectionSnapshotSchema),
  connMax: Type.Integer(),
  totals: Type.Object({
    connections: Type.Integer({ description: 'open connections now' }),
    accepted: Type.Number({ description: 'connections accepted since start' }),
    dropped: Type.Number({ description: 'connections closed because no server could take them (and UDP datagrams dropped)' }),
    fdPauses: Type.Number({ description: 'times pen ran out of file descriptors and paused new connections until some closed' }),
    logDropped: Type.Number({ description: '-l lines dropped: the file, its disk or its reader did not keep up' }),
    syslogDropped: Type.Number({ description: 'debug lines a daemon dropped: syslog (its logger) did not keep up' }),
    sx: Type.Number(), rx: Type.Number(), sxRate: Type.Number(), rxRate: Type.Number(),
  }),
  eventLoopDelayMs: Type.Number({ description: 'event-loop delay, p99 over the last interval' }),
  datapath: Type.Object({
    path: Type.Union([Type.Literal('native'), Type.Literal('portable')], { description: 'native: the addon owns the sockets; portable: the TypeScript path' }),
    reason: Type.String({ description: 'why this path (PEN_DATAPATH, the addon missing, or a setting that needs the TypeScript path)' }),
  }, { description: "the listener's data path" }),
  settings: SettingsSnapshotSchema,
  health: HealthCheckSchema,
  peer: Type.Optional(PeerSnapshotSchema),
});

export type ServerSnapshot = Static<typeof ServerSnapshotSchema>;
export type HealthSnapshot = Static<typeof HealthSnapshotSchema>;
export type ClientSnapshot = Static<typeof ClientSnapshotSchema>;
export type ConnectionSnapshot = Static<typeof ConnectionSnapshotSchema>;
export type SettingsSnapshot = Static<typeof SettingsSnapshotSchema>;
export type Snapshot = Static<typeof SnapshotSchema>;
export type PeerSnapshot = Static<typeof PeerSnapshotSchema>;
export type Role = Static<typeof RoleSchema>;

/** Every event the core publishes, each on its own diagnostics channel (server/core/events.ts). */
export const PEN_EVENT_TYPES = ['blacklisted', 'back', 'limit', 'config', 'down', 'up', 'drained', 'peer-up', 'peer-down'] as const;
export type PenEventType = (typeof PEN_EVENT_TYPES)[number];

export const PenEventSchema = Type.Object({
  type: Type.Union(PEN_EVENT_TYPES.map((t) => Type.Literal(t))),
  time: Type.Integer(),
  server: Type.Optional(Type.Integer()),
  message: Type.String(),
});
export type PenEvent = Static<typeof PenEventSchema>;
