// THE settings table: one row per setting of pen. From these rows come the commands that set and
// report a setting (server/control/settings.ts), the lines `write` saves (server/control/config.ts,
// in pen's order), the snapshot's `settings` and the PATCH /settings schema (below), the command-line
// flag and its range rule (server/cli/args.ts), the flag lines of `--help` and pen.1
// (server/cli/flags.ts) and the README's flags table. A new setting is one row here.
// No Node APIs: the dashboard imports this file.
import {
  Type, type TBoolean, type TInteger, type TLiteral, type TNull, type TObject, type TSchema, type TString, type TUnion,
} from '@sinclair/typebox';
import { LIMITS, pastLimit, type LimitName } from './limits.ts';

export type Support = 'yes' | 'no-op' | 'refused';
/** The flag table's words for the same idea (pen.1 and --help use them). */
export type FlagStatus = 'works' | 'no effect' | 'refused' | 'extension';

/**
 * What a number below the row's least does. The flag, the command (port, -o/-O, -F, include) and
 * REST's schema share the row's range; below it the flag and the command share this rule, which is
 * pen's where pen has one. REST refuses anything outside the range.
 * keep: stored as given (pen's atoi); clamp: raised to the least; refuse: an error, nothing changes;
 * ignore: the command changes nothing (pen's tables only grow), the flag is an error (a start-up
 * value that would change nothing is a mistake: pen exits non-zero with one line);
 * reset: 0 (pen's ACL numbers, either side).
 */
export type Low = 'keep' | 'clamp' | 'refuse' | 'ignore' | 'reset';

export type Kind =
  /** without a limit: C's atoi, any int */
  | { readonly type: 'int'; readonly limit?: LimitName; readonly low: Low; readonly why?: string; readonly announce?: true }
  | { readonly type: 'bool' }
  /**
   * each: every value is a command of its own that sets it (`poll`), not `NAME VALUE`;
   * other: what a word pen does not know sets (pen reads `tcp_fastclose sideways` as off)
   */
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly each?: true; readonly other?: string }
  | { readonly type: 'text'; readonly nullable: boolean }
  /** `NAME V` adds V once; a V that is not one of `values` is ignored, as pen ignores it */
  | { readonly type: 'list'; readonly values: readonly string[] };

/** pen's reply to `NAME` or `NAME VALUE` */
export type Reply = 'value' | 'none' | 'value-or-empty' | ((v: number) => string);

/**
 * The line `write` saves. always: `NAME VALUE` or `[no ]NAME`; nullable: `NAME VALUE` or `no NAME`;
 * changed: `NAME VALUE` when not the default; on: `NAME` when on; set: `NAME VALUE` when set;
 * each: `NAME V` per item; never: not a line of its own (the `# pen` line, or no command at all).
 */
export type Write = 'always' | 'nullable' | 'changed' | 'on' | 'set' | 'each' | 'never';

export interface FlagHelp {
  readonly flag: string;
  /** the argument's name; none for a switch (a bool: on; an int: one more; an enum: `sets`) */
  readonly arg?: string;
  readonly sets?: string;
  /** one line, as in pen's usage text */
  readonly what: string;
  readonly status: FlagStatus;
  readonly note?: string;
  /**
   * Why the flag stores its value at start-up rather than running the row's command (which a flag
   * of a row with a command otherwise does: `-b 30` is the `blacklist 30` step).
   */
  readonly stores?: string;
}

export interface SettingRow {
  /** the penctl command that sets and reports it; for a flag-only setting, the name it goes by */
  readonly name: string;
  /** the Settings field, dotted for ssl.* */
  readonly key: string;
  readonly kind: Kind;
  readonly flag?: FlagHelp;
  readonly reply: Reply;
  readonly write: Write;
  readonly support: Support;
  /**
   * table: the command is made from this row (server/control/settings.ts); own: an entry of its
   * own, for a command that opens a file or socket, resolves a name or only reports before it
   * stores anything (log, listen, geoip, source, control); none: a flag only
   */
  readonly command: 'table' | 'own' | 'none';
  /**
   * What the command does without its word (by default: report the value). clears: sets it to
   * none; refuse: an error line, where C pen crashes; quiet: nothing, and the message to debug(), as pen does
   */
  readonly bare?: 'clears' | { readonly refuse: string } | { readonly quiet: string };
  /** r: in the snapshot's settings; rw: PATCH /settings sets it too */
  readonly rest?: 'r' | 'rw';
  readonly description?: string;
}

const int = (limit: LimitName, low: Low, extra: { why?: string; announce?: true } = {}) => ({ type: 'int', limit, low, ...extra }) as const;
const bool = { type: 'bool' } as const;
const text = { type: 'text', nullable: false } as const;
const nullable = { type: 'text', nullable: true } as const;
const FASTCLOSE = ['off', 'up', 'down', 'both'] as const;
const SSL_OPTIONS = ['no_sslv2', 'no_sslv3', 'no_tlsv1', 'no_tlsv1.1', 'no_tlsv1.2', 'cipher_server_preference'] as const;

// In `write` order: pen's lines first (config.ts places the ACLs and servers among them), then the
// lines C pen does not save, then what has no line of its own.
export const SETTINGS = [
  { name: 'geoip', key: 'geoip', kind: nullable, reply: 'value-or-empty', write: 'set', support: 'yes', command: 'own' },
  { name: 'ascii', key: 'ascii', kind: bool, flag: { flag: '-a', what: 'debugging dumps in ascii format', status: 'works' }, reply: 'none', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'blacklist', key: 'blacklistTime', kind: int('blacklist', 'keep'), flag: { flag: '-b', arg: 'sec', what: 'blacklist time in seconds [30]', status: 'works', note: '0 turns blacklisting off.' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'seconds a failed server stays blacklisted (-b)' },
  { name: 'client_acl', key: 'clientAcl', kind: int('client_acl', 'reset'), reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'control_acl', key: 'controlAcl', kind: int('control_acl', 'reset'), reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'debug', key: 'debug', kind: int('debug', 'keep'), flag: { flag: '-d', what: 'debugging on (repeat -d for more)', status: 'works' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'debug level (-d)' },
  { name: 'hash', key: 'hash', kind: bool, flag: { flag: '-h', what: 'use hash for initial server selection', status: 'works', note: 'Not help: that is --help.' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  { name: 'http', key: 'http', kind: bool, flag: { flag: '-H', what: 'add X-Forwarded-For header in http requests', status: 'works', note: 'Also X-Forwarded-Proto.' }, reply: 'none', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'X-Forwarded-For insertion (-H)' },
  { name: 'log', key: 'logFile', kind: nullable, flag: { flag: '-l', arg: 'file', what: 'logging on', status: 'works', note: 'The request log; host:port sends it over UDP (to penlogd). Reopened on SIGHUP.', stores: 'the file is opened after privileges are dropped, and one that cannot be opened stops pen; the `log` command opens it at once and carries on without it' }, reply: 'value-or-empty', write: 'nullable', support: 'yes', command: 'own', rest: 'rw', description: 'the -l log target' },
  { name: 'roundrobin', key: 'roundrobin', kind: bool, flag: { flag: '-r', what: 'bypass client tracking in server selection', status: 'works' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  { name: 'stubborn', key: 'stubborn', kind: bool, flag: { flag: '-s', what: "stubborn selection, i.e. don't fail over", status: 'works' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  { name: 'tcp_fastclose', key: 'tcpFastclose', kind: { type: 'enum', values: FASTCLOSE, other: 'off' }, reply: 'none', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'tcp_nodelay', key: 'tcpNodelay', kind: bool, reply: 'none', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'timeout', key: 'timeout', kind: int('timeout', 'refuse', { why: 'connect timeout must be at least 1 second' }), flag: { flag: '-t', arg: 'sec', what: 'connect timeout in seconds [3]', status: 'works', note: 'At least 1.' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'connect timeout in seconds (-t)' },
  { name: 'tracking', key: 'trackingTime', kind: int('tracking', 'keep'), flag: { flag: '-T', arg: 'sec', what: 'tracking time in seconds (0 = forever) [0]', status: 'works' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'client tracking time in seconds, 0 = forever (-T)' },
  { name: 'web_stats', key: 'webStats', kind: nullable, flag: { flag: '-w', arg: 'file', what: 'save statistics in HTML format in a file', status: 'works', note: 'Written on SIGUSR1 and on the status command.' }, reply: 'value-or-empty', write: 'nullable', support: 'yes', command: 'table', rest: 'rw', description: 'the -w file' },
  { name: 'weight', key: 'weight', kind: bool, flag: { flag: '-W', what: 'use weight for server selection', status: 'works' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  { name: 'prio', key: 'prio', kind: bool, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  // not saved by C pen's `write`; saved here when they differ from the defaults
  { name: 'clients_max', key: 'clientsMax', kind: int('clients_max', 'ignore'), flag: { flag: '-c', arg: 'N', what: 'max number of clients [2048]', status: 'works', note: 'At least 1 (pen ignores a smaller value).', stores: 'the flag sizes the table exactly at start-up; the command can only grow it' }, reply: 'value', write: 'changed', support: 'yes', command: 'table', rest: 'rw', description: 'grows the client table; it never shrinks' },
  { name: 'conn_max', key: 'connMax', kind: int('conn_max', 'ignore'), flag: { flag: '-x', arg: 'N', what: 'max number of simultaneous connections [500]', status: 'works', note: 'At least 1 (pen ignores a smaller value).', stores: 'the flag sizes the table exactly at start-up; the command can only grow it' }, reply: 'value', write: 'changed', support: 'yes', command: 'table', rest: 'rw', description: 'grows the connection table; it never shrinks' },
  { name: 'idle_timeout', key: 'idleTimeout', kind: int('idle_timeout', 'clamp'), reply: (n: number) => `Idle timeout: ${n} seconds\n`, write: 'changed', support: 'yes', command: 'table', rest: 'rw', description: 'seconds; 0 = off' },
  { name: 'pending_max', key: 'pendingMax', kind: int('pending_max', 'clamp'), reply: 'none', write: 'changed', support: 'no-op', command: 'table', rest: 'rw' },
  // -1 means none; pen's reply has no newline
  { name: 'tarpit_acl', key: 'tarpitAcl', kind: int('tarpit_acl', 'reset'), reply: (n: number) => `tarpit_acl = ${n}`, write: 'changed', support: 'no-op', command: 'table', rest: 'rw' },
  // no idle connections are kept here, so the current count is always 0
  { name: 'idlers', key: 'idlers', kind: int('idlers', 'keep'), reply: (n: number) => `Idlers: 0/${n}\n`, write: 'changed', support: 'no-op', command: 'table', rest: 'r' },
  { name: 'keepalive', key: 'keepalive', kind: bool, reply: 'none', write: 'on', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'transparent', key: 'transparent', kind: bool, reply: 'none', write: 'on', support: 'no-op', command: 'table', rest: 'rw' },
  { name: 'dummy', key: 'dummy', kind: bool, reply: 'none', write: 'on', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'peek', key: 'peek', kind: bool, reply: 'none', write: 'on', support: 'no-op', command: 'table', rest: 'rw' },
  { name: 'abort_on_error', key: 'abortOnError', kind: bool, reply: 'none', write: 'on', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'source', key: 'source', kind: text, reply: 'none', write: 'set', support: 'yes', command: 'own', rest: 'rw' },
  { name: 'ssl_ciphers', key: 'ssl.ciphers', kind: text, bare: 'clears', reply: 'none', write: 'set', support: 'yes', command: 'table' },
  { name: 'ssl_option', key: 'ssl.options', kind: { type: 'list', values: SSL_OPTIONS }, bare: { quiet: 'Missing option' }, reply: 'none', write: 'each', support: 'yes', command: 'table' },
  // the TLS files are read when named (server/control/settings.ts), off the handshakes
  { name: 'ssl_sni_path', key: 'ssl.sniPath', kind: text, bare: { quiet: 'Missing ssl_sni_path' }, reply: 'none', write: 'set', support: 'yes', command: 'table' },
  { name: 'ssl_ocsp_response', key: 'ssl.ocspResponse', kind: text, bare: { refuse: 'expected a file name' }, reply: 'none', write: 'set', support: 'yes', command: 'table' },
  { name: 'ssl_client_renegotiation_interval', key: 'ssl.renegotiationInterval', kind: { type: 'int', low: 'keep' }, bare: { refuse: 'expected a number of seconds' }, reply: 'none', write: 'changed', support: 'yes', command: 'table' },
  // no line of their own: the `# pen` line (config.ts), or nothing
  { name: 'listen', key: 'listen', kind: text, reply: 'value-or-empty', write: 'never', support: 'yes', command: 'own', rest: 'rw', description: 'replaces the listener' },
  { name: 'control', key: 'control', kind: text, flag: { flag: '-C', arg: '[addr:]port', what: 'control port', status: 'works', note: 'TCP, or a Unix socket when the value contains a slash. Not opened when running as root without -u, as in pen.', stores: 'the port is opened once, at start-up; the `control` command only reports it' }, reply: 'value', write: 'never', support: 'yes', command: 'own', rest: 'r', description: 'the -C address as given' },
  { name: 'udp', key: 'udp', kind: bool, flag: { flag: '-U', what: 'use udp protocol support', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'foreground', key: 'foreground', kind: bool, flag: { flag: '-f', what: 'stay in foreground', status: 'works', note: 'Messages go to standard error. Without -f the parent exits 0 only once the daemon is listening, and with its error otherwise.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'exit_enabled', key: 'exitEnabled', kind: bool, flag: { flag: '-X', what: "enable 'exit' command for control port", status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'emergency', key: 'emergency', kind: text, flag: { flag: '-e', arg: 'host:port', what: 'emergency server of last resort', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'abuse', key: 'abuse', kind: text, flag: { flag: '-B', arg: 'host:port', what: 'abuse server for naughty clients', status: 'works', note: 'Clients denied by the client access list go here. Parsed like a server spec.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'chroot', key: 'chroot', kind: text, flag: { flag: '-j', arg: 'dir', what: 'run in chroot', status: 'refused', note: "Node.js programs cannot chroot; use a container or systemd's RootDirectory=." }, reply: 'none', write: 'never', support: 'refused', command: 'none' },
  { name: 'pid_file', key: 'pidFile', kind: text, flag: { flag: '-p', arg: 'file', what: 'write pid to file', status: 'works', note: 'Removed on a clean exit.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'user', key: 'user', kind: text, flag: { flag: '-u', arg: 'user', what: 'run as alternative user', status: 'works', note: 'setgid and setuid after the sockets are open.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'config_file', key: 'configFile', kind: text, flag: { flag: '-F', arg: 'file', what: 'name of configuration file', status: 'works', note: 'penctl commands, one a line, run after the options and again on SIGHUP.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'listen_queue', key: 'listenQueue', kind: int('listen_queue', 'clamp', { announce: true }), flag: { flag: '-q', arg: 'N', what: 'listen queue (backlog) [500]', status: 'works', note: 'Below 50 is bumped to 50, as in pen.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'multi_accept', key: 'multiAccept', kind: int('multi_accept', 'clamp', { announce: true }), flag: { flag: '-m', arg: 'N', what: 'accept up to N connections at a time [1]', status: 'works', note: "Native path: a listener accepts up to N clients per wake-up, the rest on the next (below 1 is bumped to 1, as in pen). The default is 1, where pen's is 100: one accept per wake-up saves the accept that would only say EAGAIN. The portable path ignores it: Node's listener decides." }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'event_backend', key: 'eventBackend', kind: { type: 'enum', values: ['epoll', 'poll', 'select', 'kqueue'], each: true }, flag: { flag: '-P', sets: 'poll', what: 'use poll() rather than select()', status: 'no effect', note: "Node's event loop (epoll) is used whatever is chosen." }, reply: 'none', write: 'never', support: 'no-op', command: 'table' },
  { name: 'ssl_cert', key: 'ssl.cert', kind: text, flag: { flag: '-E', arg: 'certfile', what: 'use the given certificate in PEM format', status: 'works', note: 'Terminates TLS on the listener.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_key', key: 'ssl.key', kind: text, flag: { flag: '-K', arg: 'keyfile', what: 'use the given key in PEM format (may be contained in cert)', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_ca_file', key: 'ssl.caFile', kind: text, flag: { flag: '-G', arg: 'cacertfile', what: "file containing the CA's certificate", status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_ca_dir', key: 'ssl.caDir', kind: text, flag: { flag: '-A', arg: 'cacertdir', what: 'directory containing CA certificates in hashed format', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_compat', key: 'ssl.compat', kind: bool, flag: { flag: '-Z', what: 'use SSL compatibility mode', status: 'works', note: 'SSL_OP_ALL.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_require_cert', key: 'ssl.requireClientCert', kind: bool, flag: { flag: '-R', what: 'require valid peer certificate', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_protocol', key: 'ssl.protocol', kind: { type: 'enum', values: ['ssl23', 'ssl2', 'ssl3', 'tls1'] }, flag: { flag: '-L', arg: 'protocol', what: 'ssl23 (default), ssl2, ssl3 or tls1', status: 'no effect', note: 'Checked as pen checks it; Node negotiates TLS 1.2 or 1.3 whatever is given (use ssl_option to narrow it).' }, reply: 'none', write: 'never', support: 'no-op', command: 'none' },
] as const satisfies readonly SettingRow[];

export type Setting = (typeof SETTINGS)[number];
export type SettingName = Setting['name'];

const BY_NAME = new Map<string, SettingRow>(SETTINGS.map((r) => [r.name, r]));
const BY_FLAG = new Map<string, SettingRow>(SETTINGS.flatMap((r): [string, SettingRow][] => ('flag' in r ? [[r.flag.flag, r]] : [])));

export function settingRow(name: SettingName): SettingRow {
  return BY_NAME.get(name) as SettingRow;
}

/**
 * The command a setting's flag runs at start-up, through the registry (`-b 30` is `blacklist 30`,
 * `-P` is `poll`); null: the flag stores its value (a row with no command, or `stores` says why).
 */
export function flagCommand(row: SettingRow): string | null {
  if (!row.flag || row.command === 'none' || row.flag.stores) return null;
  return row.kind.type === 'enum' && row.kind.each ? row.flag.sets ?? null : row.name;
}

/** The row a command-line flag (`-b`) sets, if it sets one. */
export function flagRow(flag: string): SettingRow | undefined {
  return BY_FLAG.get(flag);
}

// ---- one range rule, for the flag and the command ----

/** C's atoi without its int truncation, so `99999999999` is seen as too big rather than wrapped; garbage is 0. */
export function atoiWide(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Where a number comes from: a command-line flag or a command (port, -o/-O, -F, include, HUP). */
export type Source = 'flag' | 'command';

/** What a number comes to under its row: the value to store, nothing to change, or why it is refused. */
export type Checked =
  | { ok: true; value: number | null; bumped?: string }
  /** error names the setting (`timeout: …`); reason is the same without the name, for a flag's message */
  | { ok: false; error: string; reason: string };

export function checkNumber(row: SettingRow, n: number, text: string, from: Source = 'command'): Checked {
  if (row.kind.type !== 'int') throw new Error(`${row.name} is not a number setting`);
  const { limit, low, why } = row.kind;
  if (limit === undefined) return { ok: true, value: n | 0 };
  const { min, max } = LIMITS[limit];
  if (low === 'reset') {
    const wrapped = n | 0; // pen's int, wrapped as C wraps it
    return { ok: true, value: wrapped < min || wrapped > max ? 0 : wrapped };
  }
  if (n > max) return { ok: false, error: pastLimit(limit, text), reason: pastLimit(limit, text) };
  if (n >= min) return { ok: true, value: n };
  switch (low) {
    case 'keep': return { ok: true, value: Math.max(n, -2147483648) };
    case 'clamp': return { ok: true, value: min, ...(row.kind.announce ? { bumped: `${row.name} bumped to ${min}` } : {}) };
    case 'ignore': {
      if (from === 'command') return { ok: true, value: null };
      const reason = `'${text}' must be at least ${min}`;
      return { ok: false, error: `${row.name}: ${reason}`, reason };
    }
    case 'refuse': {
      const reason = `${why ?? `${row.name} must be at least ${min}`}, got '${text}'`;
      return { ok: false, error: `${row.name}: ${reason}`, reason };
    }
  }
}

// ---- the snapshot and PATCH /settings ----

type RestRow = Extract<Setting, { rest: 'r' | 'rw' }>;
type PatchRow = Extract<Setting, { rest: 'rw' }>;
type ValueOf<K> = K extends { type: 'int' } ? number
  : K extends { type: 'bool' } ? boolean
    : K extends { type: 'enum'; values: readonly (infer V)[] } ? V
      : string | null;
export type SettingsValues = { [R in RestRow as R['name']]: ValueOf<R['kind']> };
export type SettingsPatchValues = Partial<{ [R in PatchRow as R['name']]: R['kind'] extends { nullable: true } ? string | null : ValueOf<R['kind']> }>;

export const REST_SETTINGS: readonly SettingRow[] = SETTINGS.filter((r) => 'rest' in r);
export const PATCH_SETTINGS: readonly SettingRow[] = REST_SETTINGS.filter((r) => r.rest === 'rw');

/** A setting's value as a Settings object holds it (`ssl.ciphers` is dotted). */
export function readKey(settings: object, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], settings);
}

export function writeKey(settings: object, key: string, value: unknown): void {
  const path = key.split('.');
  const last = path.pop() as string;
  const target = path.reduce<Record<string, unknown>>(
    (o, k) => o[k] as Record<string, unknown>, settings as Record<string, unknown>);
  target[last] = value;
}

/** The snapshot's settings, under their penctl names. */
export function settingsValues(settings: object): SettingsValues {
  return Object.fromEntries(REST_SETTINGS.map((r) => [r.name, readKey(settings, r.key) ?? null])) as SettingsValues;
}

/** One penctl word: no spaces or control characters, so a value can never smuggle in a second command. */
export const WORD_PATTERN = '^[^\\s\\x00-\\x1f\\x7f]+$';
export const Word = (opts: { description?: string; maxLength?: number } = {}) =>
  Type.String({ pattern: WORD_PATTERN, minLength: 1, maxLength: opts.maxLength ?? 1024, ...opts });

const described = (r: SettingRow) => (r.description ? { description: r.description } : {});

/** How the snapshot shows a row. */
function valueSchema(r: SettingRow): TSchema {
  const k = r.kind;
  if (k.type === 'int') return Type.Integer(described(r));
  if (k.type === 'bool') return Type.Boolean(described(r));
  if (k.type === 'enum') return Type.Union(k.values.map((v) => Type.Literal(v)), described(r));
  return Type.Union([Type.String(), Type.Null()], described(r));
}

/** What PATCH /settings takes for a row: the row's range for a number; `null` runs `no NAME`. */
export function patchSchema(r: SettingRow): TSchema {
  const k = r.kind;
  if (k.type === 'int' && k.limit) return Type.Integer({ minimum: LIMITS[k.limit].min, maximum: LIMITS[k.limit].max, ...described(r) });
  if (k.type === 'text') {
    const word = Word({ maxLength: r.name === 'source' ? 255 : 4000, ...described(r) });
    return k.nullable ? Type.Union([word, Type.Null()]) : word;
  }
  return valueSchema(r);
}

type SchemaOf<K> = K extends { type: 'int' } ? TInteger
  : K extends { type: 'bool' } ? TBoolean
    : K extends { type: 'enum'; values: readonly (infer V extends string)[] } ? TUnion<TLiteral<V>[]>
      : TUnion<[TString, TNull]>;
type SnapshotProps = { [R in RestRow as R['name']]: SchemaOf<R['kind']> };

/** The value settings, named after the penctl command that reports and sets each one. */
export const SettingsSnapshotSchema = Type.Object(
  Object.fromEntries(REST_SETTINGS.map((r) => [r.name, valueSchema(r)])),
) as unknown as TObject<SnapshotProps>;

/** The PATCH /settings body: any of the settable rows, at least one (every row's command exists). */
export function settingsPatchSchema(): TObject {
  return Type.Object(
    Object.fromEntries(PATCH_SETTINGS.map((r) => [r.name, Type.Optional(patchSchema(r))])),
    { additionalProperties: false, minProperties: 1 },
  );
}

/** The penctl line that sets a row to `value`: `blacklist 30`, `no http`, `no web_stats`. */
export function settingLine(name: string, value: unknown): string {
  if (typeof value === 'boolean') return value ? name : `no ${name}`;
  return value === null ? `no ${name}` : `${name} ${String(value)}`;
}
