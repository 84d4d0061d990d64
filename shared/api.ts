// The admin API's request and response bodies. One typebox definition gives the server's
// validation, the TypeScript types on both sides and the OpenAPI document. No Node APIs here:
// the dashboard imports this file.
import { Type, type Static } from '@sinclair/typebox';
import {
  ClientSnapshotSchema, ConnectionSnapshotSchema, PenEventSchema, ServerSnapshotSchema,
  SettingsSnapshotSchema, SnapshotSchema,
} from './snapshot.ts';
import { LIMITS, type LimitName } from './limits.ts';
import type { CommandName } from './commands.ts';
import { Word } from './settings.ts';

/** An integer within its row of shared/limits.ts: the same bound as the flag and the command. */
const Bounded = (name: LimitName, opts: { description?: string } = {}) =>
  Type.Integer({ minimum: LIMITS[name].min, maximum: LIMITS[name].max, ...opts });

export { WORD_PATTERN } from './settings.ts';

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
// each switch and its `no` form are registry commands (a compile error names the one that is not)
const MODE_COMMANDS_EXIST: readonly CommandName[] = MODE_FLAGS.flatMap((f) => [f, `no ${f}` as const]);
void MODE_COMMANDS_EXIST;

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

// ---- settings (the rows of shared/settings.ts) ----

export { settingsPatchSchema } from './settings.ts';

export const SettingsSchema = SettingsSnapshotSchema;

export const SettingsPatchReplySchema = Type.Object({
  settings: SettingsSnapshotSchema,
  replies: Type.Record(Type.String(), Type.String(), { description: 'each command\'s reply, by field' }),
  outcomes: Type.Record(Type.String(), Type.Object({ changed: Type.Boolean() }, { additionalProperties: true }), {
    description: 'what each command did, by field: `changed`, and the setting and its value afterwards (`{ changed: true, setting: "blacklist", value: 30 }`)',
  }),
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
  command: Type.String({ description: 'the penctl line it stands for' }),
  reply: Type.String({ description: "exactly the control port's reply" }),
  outcome: Type.Optional(Type.Object({ changed: Type.Boolean() }, {
    additionalProperties: true,
    description: 'what the command did: `changed`, and its own data (`close`: `{ changed: true, connection: 3, inRange: true, closed: true }`)',
  })),
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
