// The admin API's request and response bodies. One typebox definition gives the server's
// validation, the TypeScript types on both sides and the OpenAPI document. No Node APIs here:
// the dashboard imports this file.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  ClientSnapshotSchema, ConnectionSnapshotSchema, PenEventSchema, ServerSnapshotSchema,
  SettingsSnapshotSchema, SnapshotSchema,
} from './snapshot.ts';
import { LIMITS, type LimitName } from './limits.ts';

/** An integer within its row of shared/limits.ts: the same bound as the flag and the command. */
const Bounded = (name: LimitName, opts: { description?: string } = {}) =>
  Type.Integer({ minimum: LIMITS[name].min, maximum: LIMITS[name].max, ...opts });

/** One penctl word: no spaces or control characters, so a value can never smuggle in a second command. */
export const WORD_PATTERN = '^[^\\s\\x00-\\x1f\\x7f]+$';
const Word = (opts: { description?: string; maxLength?: number } = {}) =>
  Type.String({ pattern: WORD_PATTERN, minLength: 1, maxLength: opts.maxLength ?? 1024, ...opts });

const IPV4 = '^(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})$';
const IPV6_WITH_LEN = '^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(/\\d{1,3})?$';

// ---- errors ----

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String({ description: 'the parameter or body field that was rejected' })),
  code: Type.Optional(Type.String({ description: "the registry's error code (PEN_ERR_…) when a command failed" })),
  reply: Type.Optional(Type.String({ description: 'what the penctl port answered to the same command (often nothing)' })),
});
export type ApiError = Static<typeof ErrorSchema>;

// ---- servers ----

export const ServerParamsSchema = Type.Object({
  n: Bounded('server', { description: 'server slot' }),
});

export const ServerPatchSchema = Type.Object({
  address: Type.Optional(Word({ description: 'IP address, host name or Unix socket path', maxLength: 255 })),
  port: Type.Optional(Bounded('server port')),
  max: Type.Optional(Bounded('server max', { description: 'soft connection limit, 0 = none' })),
  hard: Type.Optional(Bounded('server hard', { description: 'hard connection limit for returning clients, 0 = none' })),
  weight: Type.Optional(Bounded('server weight')),
  prio: Type.Optional(Bounded('server prio')),
  acl: Type.Optional(Bounded('server acl')),
}, { additionalProperties: false, minProperties: 1 });
export type ServerPatch = Static<typeof ServerPatchSchema>;

/** The order `server N …` takes the keys in: address first, so a bad address changes nothing. */
export const SERVER_PATCH_KEYS = ['address', 'port', 'max', 'hard', 'weight', 'prio', 'acl'] as const;

export const ServerNewSchema = Type.Object({
  address: Word({ description: 'IP address, host name or Unix socket path', maxLength: 255 }),
  port: Type.Optional(Bounded('server port')),
  max: Type.Optional(Bounded('server max')),
  hard: Type.Optional(Bounded('server hard')),
  weight: Type.Optional(Bounded('server weight')),
  prio: Type.Optional(Bounded('server prio')),
  acl: Type.Optional(Bounded('server acl')),
}, { additionalProperties: false });

export const BlacklistSchema = Type.Object({
  seconds: Bounded('server blacklist', { description: 'seconds of blacklisting (left)' }),
}, { additionalProperties: false });
export type Blacklist = Static<typeof BlacklistSchema>;

export const ServerListSchema = Type.Array(ServerSnapshotSchema);

// ---- mode ----

export const MODE_FLAGS = ['roundrobin', 'hash', 'weight', 'prio', 'stubborn'] as const;
export type ModeFlag = (typeof MODE_FLAGS)[number];

export const ModeSchema = Type.Object({
  roundrobin: Type.Boolean(), hash: Type.Boolean(), weight: Type.Boolean(),
  prio: Type.Boolean(), stubborn: Type.Boolean(),
  text: Type.String({ description: "the `mode` command's reply" }),
});
export type Mode = Static<typeof ModeSchema>;

export const ModePatchSchema = Type.Object({
  roundrobin: Type.Optional(Type.Boolean()), hash: Type.Optional(Type.Boolean()),
  weight: Type.Optional(Type.Boolean()), prio: Type.Optional(Type.Boolean()),
  stubborn: Type.Optional(Type.Boolean()),
}, { additionalProperties: false, minProperties: 1 });
export type ModePatch = Static<typeof ModePatchSchema>;

// ---- settings ----

export type SettingKind = 'integer' | 'boolean' | 'string' | 'fastclose';

/**
 * The settings PATCH /settings can change, each with the command that sets it. A boolean `false`
 * becomes `no NAME`; a string `null` becomes `no NAME`. Settings whose command the registry does
 * not have are left out of the route at start-up.
 */
export const SETTING_COMMANDS: Readonly<Record<string, { command: string; kind: SettingKind; nullable?: boolean; schema: TSchema }>> = {
  blacklist: { command: 'blacklist', kind: 'integer', schema: Bounded('blacklist') },
  timeout: { command: 'timeout', kind: 'integer', schema: Bounded('timeout') },
  tracking: { command: 'tracking', kind: 'integer', schema: Bounded('tracking') },
  debug: { command: 'debug', kind: 'integer', schema: Bounded('debug') },
  client_acl: { command: 'client_acl', kind: 'integer', schema: Bounded('client_acl') },
  control_acl: { command: 'control_acl', kind: 'integer', schema: Bounded('control_acl') },
  tarpit_acl: { command: 'tarpit_acl', kind: 'integer', schema: Bounded('tarpit_acl') },
  idle_timeout: { command: 'idle_timeout', kind: 'integer', schema: Bounded('idle_timeout') },
  pending_max: { command: 'pending_max', kind: 'integer', schema: Bounded('pending_max') },
  clients_max: { command: 'clients_max', kind: 'integer', schema: Bounded('clients_max', { description: 'grows the client table; it never shrinks' }) },
  conn_max: { command: 'conn_max', kind: 'integer', schema: Bounded('conn_max', { description: 'grows the connection table; it never shrinks' }) },
  tcp_fastclose: { command: 'tcp_fastclose', kind: 'fastclose', schema: Type.Union([Type.Literal('off'), Type.Literal('up'), Type.Literal('down'), Type.Literal('both')]) },
  http: { command: 'http', kind: 'boolean', schema: Type.Boolean() },
  ascii: { command: 'ascii', kind: 'boolean', schema: Type.Boolean() },
  keepalive: { command: 'keepalive', kind: 'boolean', schema: Type.Boolean() },
  tcp_nodelay: { command: 'tcp_nodelay', kind: 'boolean', schema: Type.Boolean() },
  transparent: { command: 'transparent', kind: 'boolean', schema: Type.Boolean() },
  dummy: { command: 'dummy', kind: 'boolean', schema: Type.Boolean() },
  peek: { command: 'peek', kind: 'boolean', schema: Type.Boolean() },
  abort_on_error: { command: 'abort_on_error', kind: 'boolean', schema: Type.Boolean() },
  web_stats: { command: 'web_stats', kind: 'string', nullable: true, schema: Type.Union([Word({ maxLength: 4000 }), Type.Null()]) },
  log: { command: 'log', kind: 'string', nullable: true, schema: Type.Union([Word({ maxLength: 4000 }), Type.Null()]) },
  source: { command: 'source', kind: 'string', schema: Word({ maxLength: 255 }) },
  listen: { command: 'listen', kind: 'string', schema: Word({ maxLength: 4000, description: 'replaces the listener' }) },
};

/** The penctl line that sets one setting, e.g. `no http` or `blacklist 30`. */
export function settingLine(field: string, value: unknown): string {
  const spec = SETTING_COMMANDS[field];
  if (!spec) throw new Error(`unknown setting ${field}`);
  if (spec.kind === 'boolean') return value ? spec.command : `no ${spec.command}`;
  if (value === null) return `no ${spec.command}`;
  return `${spec.command} ${String(value)}`;
}

/** The PATCH /settings body for the settings whose commands exist. */
export function settingsPatchSchema(available: (command: string) => boolean) {
  const props: Record<string, TSchema> = {};
  for (const [field, spec] of Object.entries(SETTING_COMMANDS)) {
    if (available(spec.command)) props[field] = Type.Optional(spec.schema);
  }
  return Type.Object(props, { additionalProperties: false, minProperties: 1 });
}

export const SettingsSchema = SettingsSnapshotSchema;

export const SettingsPatchReplySchema = Type.Object({
  settings: SettingsSnapshotSchema,
  replies: Type.Record(Type.String(), Type.String(), { description: 'each command\'s reply, by field' }),
});

// ---- clients and connections ----

export const ClientListSchema = Type.Array(ClientSnapshotSchema);
export const ConnectionListSchema = Type.Array(ConnectionSnapshotSchema);
export const ConnectionParamsSchema = Type.Object({
  n: Type.Integer({ minimum: 0, maximum: LIMITS.conn_max.max - 1, description: 'connection slot' }),
});

// ---- ACLs ----

export const AclParamsSchema = Type.Object({
  n: Bounded('acl', { description: 'access list number' }),
});

export const AclEntrySchema = Type.Object({
  action: Type.Union([Type.Literal('permit'), Type.Literal('deny')]),
  kind: Type.Union([Type.Literal('ipv4'), Type.Literal('ipv6'), Type.Literal('country')]),
  address: Type.Optional(Type.String()),
  mask: Type.Optional(Type.String({ description: 'IPv4 netmask' })),
  prefix: Type.Optional(Type.Integer({ description: 'IPv6 prefix length' })),
  country: Type.Optional(Type.String()),
  line: Type.String({ description: 'the entry as `write` saves it' }),
});
export type AclEntryView = Static<typeof AclEntrySchema>;

export const AclListSchema = Type.Object({
  index: Type.Integer(),
  entries: Type.Array(AclEntrySchema),
});
export type AclList = Static<typeof AclListSchema>;

export const AclAddSchema = Type.Object({
  action: Type.Union([Type.Literal('permit'), Type.Literal('deny')]),
  address: Type.Optional(Type.String({
    pattern: `${IPV4}|${IPV6_WITH_LEN}`, maxLength: 64,
    description: 'IPv4 address, or IPv6 address with an optional /len',
  })),
  mask: Type.Optional(Type.Union([
    Type.String({ pattern: IPV4, description: 'IPv4 netmask, e.g. 255.255.255.0' }),
    Type.Integer({ minimum: 0, maximum: 128, description: 'prefix length' }),
  ])),
  country: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2}$', description: 'two-letter country code (GeoIP)' })),
}, { additionalProperties: false });
export type AclAdd = Static<typeof AclAddSchema>;

// ---- commands, penctl, write ----

/** The path segment of a command's REST mirror: `no roundrobin` → `no-roundrobin`. */
export function commandSlug(name: string): string {
  return name.replace(/ /g, '-');
}

export const CommandArgsSchema = Type.Object({
  args: Type.Optional(Type.Array(Word(), { maxItems: 32, description: 'the words after the command name' })),
}, { additionalProperties: false });
export type CommandArgs = Static<typeof CommandArgsSchema>;

export const CommandQuerySchema = Type.Object({
  args: Type.Optional(Type.Union([Word(), Type.Array(Word(), { maxItems: 32 })], { description: 'repeat for several words' })),
}, { additionalProperties: false });

export const CommandReplySchema = Type.Object({
  command: Type.String({ description: 'the penctl line that was run' }),
  reply: Type.String({ description: "exactly the control port's reply" }),
});
export type CommandReply = Static<typeof CommandReplySchema>;

export const CommandInfoSchema = Type.Object({
  name: Type.String(), grammar: Type.String(),
  scope: Type.Union([Type.Literal('read'), Type.Literal('admin')]),
  summary: Type.String(),
  support: Type.Union([Type.Literal('yes'), Type.Literal('no-op'), Type.Literal('refused')]),
  note: Type.Optional(Type.String()),
  path: Type.String({ description: 'its REST mirror' }),
  methods: Type.Array(Type.String()),
});
export type CommandInfo = Static<typeof CommandInfoSchema>;

export const PenctlBodySchema = Type.String({ maxLength: 4095, description: 'one penctl command line' });

export const WriteSchema = Type.Object({
  file: Type.Optional(Word({ maxLength: 4000, description: 'defaults to the -F file' })),
}, { additionalProperties: false });

export const WhoAmISchema = Type.Object({
  scope: Type.Union([Type.Literal('read'), Type.Literal('admin'), Type.Null()], { description: 'null: a token is needed and none was sent' }),
  auth: Type.Boolean({ description: 'false when no tokens are configured (loopback only): everyone is admin' }),
});
export type WhoAmI = Static<typeof WhoAmISchema>;

// ---- the live stream (GET /stream, WebSocket) ----

export const StreamMessageSchema = Type.Union([
  Type.Object({ type: Type.Literal('snapshot'), snapshot: SnapshotSchema }),
  Type.Object({ type: Type.Literal('event'), event: PenEventSchema }),
]);
export type StreamMessage = Static<typeof StreamMessageSchema>;
