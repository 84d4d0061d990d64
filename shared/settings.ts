// THE settings table: one row per setting of pen. From these rows come the commands that set and
// report a setting (server/control/settings.ts), the lines `write` saves (server/control/config.ts,
// in pen's order), the snapshot's `settings` and the PATCH /settings schema (below), the command-line
// flag and its range rule (server/cli/args.ts), the flag lines of `--help` and pen.1
// (server/cli/flags.ts) and the README's flags table; its field and default in Settings
// (server/core/settings.ts) and its penctl help (shared/commands.ts) too. A new setting is one row
// here (test/unit/settings-one-edit.test.ts adds rows to a copy of this file and nothing else).
// No Node APIs: the dashboard imports this file.
import {
  Type, type TBoolean, type TInteger, type TLiteral, type TNull, type TObject, type TSchema, type TString, type TUnion,
} from '@sinclair/typebox';
import { LIMITS, pastMax, type Limit, type LimitName } from './limits.ts';

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
  /**
   * without a limit: C's atoi, any int. The limit is a bound of shared/limits.ts where other code
   * reads the same bound (conn_max, clients_max) or the limits test walks it on every surface (all
   * of today's rows); a new row's own bound may be written here instead, as a Limit, so that adding
   * the setting stays one edit. Either way the README's bounds table lists it.
   */
  | { readonly type: 'int'; readonly limit?: LimitName | Limit; readonly low: Low; readonly why?: string; readonly announce?: true }
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

/** penctl's help for a command (shared/commands.ts): one line, and what differs from C pen */
export interface Help {
  readonly summary: string;
  readonly note?: string;
}

export type CommandHelp =
  | Help & {
    /** the argument grammar, in penctl(1)'s notation, where the kind's (GRAMMAR in commands.ts) is not it */
    readonly grammar?: string;
    /** `no NAME`'s summary: a switch, or a file that can be unset */
    readonly no?: string;
  }
  /** a command per value (`poll`) */
  | { readonly each: Readonly<Record<string, Help>> };

/** A setting's value as Settings holds it, by its kind. */
export type ValueOf<K> = K extends { type: 'int' } ? number
  : K extends { type: 'bool' } ? boolean
    : K extends { type: 'enum'; values: readonly (infer V)[] } ? V
      : K extends { type: 'list' } ? string[]
        : string | null;

export interface SettingRow {
  /** the penctl command that sets and reports it; for a flag-only setting, the name it goes by */
  readonly name: string;
  /** the Settings field, dotted for ssl.* */
  readonly key: string;
  readonly kind: Kind;
  /** pen's value at start-up (server/core/settings.ts builds the defaults from these) */
  readonly default: number | boolean | string | null | readonly string[];
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
  /** the help of the commands a `table` row makes (an `own` row's spec is written in shared/commands.ts) */
  readonly help?: CommandHelp;
  /**
   * What the command does without its word (by default: report the value). clears: sets it to
   * none; refuse: an error line, where C pen crashes; quiet: nothing, and the message to debug(), as pen does
   */
  readonly bare?: 'clears' | { readonly refuse: string } | { readonly quiet: string };
  /** its word names a file: through REST it must be inside the file root (server/admin/files.ts) */
  readonly file?: true;
  /** r: in the snapshot's settings; rw: PATCH /settings sets it too */
  readonly rest?: 'r' | 'rw';
  readonly description?: string;
}

const int = (limit: LimitName | Limit, low: Low, extra: { why?: string; announce?: true } = {}) => ({ type: 'int', limit, low, ...extra }) as const;
const bool = { type: 'bool' } as const;
const text = { type: 'text', nullable: false } as const;
const nullable = { type: 'text', nullable: true } as const;
const EVENT_LOOP = "Node's event loop is used whatever is chosen";
const FASTCLOSE = ['off', 'up', 'down', 'both'] as const;
const SSL_OPTIONS = ['no_sslv2', 'no_sslv3', 'no_tlsv1', 'no_tlsv1.1', 'no_tlsv1.2', 'cipher_server_preference'] as const;

// In `write` order: pen's lines first (config.ts places the ACLs and servers among them), then the
// lines C pen does not save, then what has no line of its own.
export const SETTINGS = [
  { name: 'geoip', key: 'geoip', kind: nullable, default: null, file: true, reply: 'value-or-empty', write: 'set', support: 'yes', command: 'own' },
  { name: 'ascii', key: 'ascii', kind: bool, default: false, flag: { flag: '-a', what: 'debugging dumps in ascii format', status: 'works' }, help: { summary: 'data dumps (debug 3) in ASCII', no: 'data dumps in hex' }, reply: 'none', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'blacklist', key: 'blacklistTime', kind: int('blacklist', 'keep'), default: 30, flag: { flag: '-b', arg: 'sec', what: 'blacklist time in seconds [30]', status: 'works', note: '0 turns blacklisting off.' }, help: { summary: 'report or set the blacklist time in seconds' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'seconds a failed server stays blacklisted (-b)' },
  { name: 'client_acl', key: 'clientAcl', kind: int('client_acl', 'reset'), default: 0, help: { summary: 'report or set the access list checked for clients (denied: abuse server)' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'control_acl', key: 'controlAcl', kind: int('control_acl', 'reset'), default: 0, help: { summary: 'report or set the access list checked for the control port' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'debug', key: 'debug', kind: int('debug', 'keep'), default: 0, flag: { flag: '-d', what: 'debugging on (repeat -d for more)', status: 'works' }, help: { summary: 'report or set the debug level' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'debug level (-d)' },
  { name: 'hash', key: 'hash', kind: bool, default: false, flag: { flag: '-h', what: 'use hash for initial server selection', status: 'works', note: 'Not help: that is --help.' }, help: { summary: 'hash the client address for the initial server choice (-h)', no: 'no hash selection' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  { name: 'http', key: 'http', kind: bool, default: false, flag: { flag: '-H', what: 'add X-Forwarded-For header in http requests', status: 'works', note: 'Also X-Forwarded-Proto.' }, help: { summary: 'add X-Forwarded-For and X-Forwarded-Proto headers (-H)', no: 'no header insertion' }, reply: 'none', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'X-Forwarded-For insertion (-H)' },
  { name: 'log', key: 'logFile', kind: nullable, default: null, flag: { flag: '-l', arg: 'file', what: 'logging on', status: 'works', note: 'The request log; host:port sends it over UDP (to penlogd). Reopened on SIGHUP.', stores: 'the file is opened after privileges are dropped, and one that cannot be opened stops pen; the `log` command opens it at once and carries on without it' }, reply: 'value-or-empty', write: 'nullable', support: 'yes', command: 'own', rest: 'rw', description: 'the -l log target' },
  { name: 'roundrobin', key: 'roundrobin', kind: bool, default: false, flag: { flag: '-r', what: 'bypass client tracking in server selection', status: 'works' }, help: { summary: 'bypass client tracking (-r)', no: 'use client tracking' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  { name: 'stubborn', key: 'stubborn', kind: bool, default: false, flag: { flag: '-s', what: "stubborn selection, i.e. don't fail over", status: 'works' }, help: { summary: 'never fail over from the chosen server (-s)', no: 'fail over' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  { name: 'tcp_fastclose', key: 'tcpFastclose', kind: { type: 'enum', values: FASTCLOSE, other: 'off' }, default: 'off', help: { grammar: 'up|down|both|off', summary: 'close both sides as soon as one side closes' }, reply: 'none', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'tcp_nodelay', key: 'tcpNodelay', kind: bool, default: false, help: { summary: 'TCP_NODELAY on sockets created from now on', no: 'no TCP_NODELAY' }, reply: 'none', write: 'always', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'timeout', key: 'timeout', kind: int('timeout', 'refuse', { why: 'connect timeout must be at least 1 second' }), default: 3, flag: { flag: '-t', arg: 'sec', what: 'connect timeout in seconds [3]', status: 'works', note: 'At least 1.' }, help: { summary: 'report or set the connect timeout in seconds', note: 'Values below 1 get an error line and change nothing, as -t refuses them (C pen stores them, and every connect then times out at once)' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'connect timeout in seconds (-t)' },
  { name: 'tracking', key: 'trackingTime', kind: int('tracking', 'keep'), default: 0, flag: { flag: '-T', arg: 'sec', what: 'tracking time in seconds (0 = forever) [0]', status: 'works' }, help: { summary: 'report or set the client tracking time in seconds (-T)' }, reply: 'value', write: 'always', support: 'yes', command: 'table', rest: 'rw', description: 'client tracking time in seconds, 0 = forever (-T)' },
  { name: 'web_stats', key: 'webStats', kind: nullable, default: null, flag: { flag: '-w', arg: 'file', what: 'save statistics in HTML format in a file', status: 'works', note: 'Written on SIGUSR1. The status command renders the same page without writing the file, which pen writes first.' }, help: { summary: 'report or set the HTML status file (-w)', no: 'no HTML status file' }, file: true, reply: 'value-or-empty', write: 'nullable', support: 'yes', command: 'table', rest: 'rw', description: 'the -w file' },
  { name: 'weight', key: 'weight', kind: bool, default: false, flag: { flag: '-W', what: 'use weight for server selection', status: 'works' }, help: { summary: 'weighted server selection (-W)', no: 'no weighted selection' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  { name: 'prio', key: 'prio', kind: bool, default: false, help: { summary: 'choose the available server with the lowest prio', no: 'no priority selection' }, reply: 'none', write: 'always', support: 'yes', command: 'table' },
  // not saved by C pen's `write`; saved here when they differ from the defaults
  { name: 'clients_max', key: 'clientsMax', kind: int('clients_max', 'ignore'), default: 2048, flag: { flag: '-c', arg: 'N', what: 'max number of clients [2048]', status: 'works', note: 'At least 1 (pen ignores a smaller value).', stores: 'the flag sizes the table exactly at start-up; the command can only grow it' }, help: { summary: 'report or grow the client table' }, reply: 'value', write: 'changed', support: 'yes', command: 'table', rest: 'rw', description: 'grows the client table; it never shrinks' },
  { name: 'conn_max', key: 'connMax', kind: int('conn_max', 'ignore'), default: 500, flag: { flag: '-x', arg: 'N', what: 'max number of simultaneous connections [500]', status: 'works', note: 'At least 1 (pen ignores a smaller value).', stores: 'the flag sizes the table exactly at start-up; the command can only grow it' }, help: { summary: 'report or grow the connection table' }, reply: 'value', write: 'changed', support: 'yes', command: 'table', rest: 'rw', description: 'grows the connection table; it never shrinks' },
  { name: 'idle_timeout', key: 'idleTimeout', kind: int('idle_timeout', 'clamp'), default: 0, help: { summary: 'report or set the idle timeout in seconds (0 = off)' }, reply: (n: number) => `Idle timeout: ${n} seconds\n`, write: 'changed', support: 'yes', command: 'table', rest: 'rw', description: 'seconds; 0 = off' },
  { name: 'pending_max', key: 'pendingMax', kind: int('pending_max', 'clamp'), default: 100, help: { grammar: 'N', summary: 'maximum concurrent pending backend connects', note: 'Stored and saved; Node does not cap pending connects' }, reply: 'none', write: 'changed', support: 'no-op', command: 'table', rest: 'rw' },
  // -1 means none; pen's reply has no newline
  { name: 'tarpit_acl', key: 'tarpitAcl', kind: int('tarpit_acl', 'reset'), default: -1, help: { summary: 'report or set the tarpit access list (DSR only)', note: 'Stored and reported; tarpitting needs DSR' }, reply: (n: number) => `tarpit_acl = ${n}`, write: 'changed', support: 'no-op', command: 'table', rest: 'rw' },
  // no idle connections are kept here, so the current count is always 0
  { name: 'idlers', key: 'idlers', kind: int('idlers', 'keep'), default: 0, help: { summary: 'report or set the number of idle backend connections wanted', note: 'The wanted number is stored and reported; no idle connections are opened (C pen crashes for N>0)' }, reply: (n: number) => `Idlers: 0/${n}\n`, write: 'changed', support: 'no-op', command: 'table', rest: 'r' },
  { name: 'keepalive', key: 'keepalive', kind: bool, default: false, help: { summary: 'SO_KEEPALIVE on backend sockets', no: 'no SO_KEEPALIVE on backend sockets' }, reply: 'none', write: 'on', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'transparent', key: 'transparent', kind: bool, default: false, help: { summary: 'connect to servers from the client address', note: "IP_TRANSPARENT is not available to Node; connects are made from pen's address, as C pen does when it lacks the privilege", no: "connect from pen's own address" }, reply: 'none', write: 'on', support: 'no-op', command: 'table', rest: 'rw' },
  { name: 'dummy', key: 'dummy', kind: bool, default: false, help: { summary: 'answer every request with a fixed page instead of forwarding', no: 'forward to the servers again' }, reply: 'none', write: 'on', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'peek', key: 'peek', kind: bool, default: false, help: { summary: "pen's unfinished peek feature", no: 'turn peek off' }, reply: 'none', write: 'on', support: 'no-op', command: 'table', rest: 'rw' },
  { name: 'abort_on_error', key: 'abortOnError', kind: bool, default: false, help: { summary: 'fatal errors call abort() (core dump) instead of exit(1)', note: 'Stored; fatal errors always exit(1) here', no: 'fatal errors exit(1)' }, reply: 'none', write: 'on', support: 'no-op', command: 'table', rest: 'rw' },
  { name: 'source', key: 'source', kind: text, default: null, reply: 'none', write: 'set', support: 'yes', command: 'own', rest: 'rw' },
  { name: 'ssl_ciphers', key: 'ssl.ciphers', kind: text, default: null, bare: 'clears', help: { grammar: '[LIST]', summary: 'TLS cipher list (start-up)' }, reply: 'none', write: 'set', support: 'yes', command: 'table' },
  { name: 'ssl_option', key: 'ssl.options', kind: { type: 'list', values: SSL_OPTIONS }, default: [], bare: { quiet: 'Missing option' }, help: { grammar: 'OPT', summary: SSL_OPTIONS.join('|') }, reply: 'none', write: 'each', support: 'yes', command: 'table' },
  // the TLS files are read when named (server/control/settings.ts), off the handshakes
  { name: 'ssl_sni_path', key: 'ssl.sniPath', kind: text, default: null, bare: { quiet: 'Missing ssl_sni_path' }, help: { grammar: 'DIR', summary: 'directory of per-SNI-name keys and certificates' }, file: true, reply: 'none', write: 'set', support: 'yes', command: 'table' },
  { name: 'ssl_ocsp_response', key: 'ssl.ocspResponse', kind: text, default: null, bare: { refuse: 'expected a file name' }, help: { grammar: 'FILE', summary: 'stapled OCSP response file', note: 'Without FILE: an error line (C pen crashes)' }, file: true, reply: 'none', write: 'set', support: 'yes', command: 'table' },
  { name: 'ssl_client_renegotiation_interval', key: 'ssl.renegotiationInterval', kind: { type: 'int', low: 'keep' }, default: 3600, bare: { refuse: 'expected a number of seconds' }, help: { grammar: 'S', summary: 'minimum seconds between client renegotiations', note: 'Without S: an error line (C pen crashes)' }, reply: 'none', write: 'changed', support: 'yes', command: 'table' },
  // no line of their own: the `# pen` line (config.ts), or nothing
  { name: 'listen', key: 'listen', kind: text, default: null, reply: 'value-or-empty', write: 'never', support: 'yes', command: 'own', rest: 'rw', description: 'replaces the listener' },
  { name: 'control', key: 'control', kind: text, default: null, flag: { flag: '-C', arg: '[addr:]port', what: 'control port', status: 'works', note: 'TCP, or a Unix socket when the value contains a slash. Not opened when running as root without -u, as in pen.', stores: 'the port is opened once, at start-up; the `control` command only reports it' }, reply: 'value', write: 'never', support: 'yes', command: 'own', rest: 'r', description: 'the -C address as given' },
  { name: 'udp', key: 'udp', kind: bool, default: false, flag: { flag: '-U', what: 'use udp protocol support', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'foreground', key: 'foreground', kind: bool, default: false, flag: { flag: '-f', what: 'stay in foreground', status: 'works', note: 'Messages go to standard error. Without -f the parent exits 0 only once the daemon is listening, and with its error otherwise.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'exit_enabled', key: 'exitEnabled', kind: bool, default: false, flag: { flag: '-X', what: "enable 'exit' command for control port", status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'emergency', key: 'emergency', kind: text, default: null, flag: { flag: '-e', arg: 'host:port', what: 'emergency server of last resort', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'abuse', key: 'abuse', kind: text, default: null, flag: { flag: '-B', arg: 'host:port', what: 'abuse server for naughty clients', status: 'works', note: 'Clients denied by the client access list go here. Parsed like a server spec.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'chroot', key: 'chroot', kind: text, default: null, flag: { flag: '-j', arg: 'dir', what: 'run in chroot', status: 'refused', note: "Node.js programs cannot chroot; use a container or systemd's RootDirectory=." }, reply: 'none', write: 'never', support: 'refused', command: 'none' },
  { name: 'pid_file', key: 'pidFile', kind: text, default: null, flag: { flag: '-p', arg: 'file', what: 'write pid to file', status: 'works', note: 'Removed on a clean exit.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'user', key: 'user', kind: text, default: null, flag: { flag: '-u', arg: 'user', what: 'run as alternative user', status: 'works', note: 'setgid and setuid after the sockets are open.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'config_file', key: 'configFile', kind: text, default: null, flag: { flag: '-F', arg: 'file', what: 'name of configuration file', status: 'works', note: 'penctl commands, one a line, run after the options and again on SIGHUP.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'listen_queue', key: 'listenQueue', kind: int('listen_queue', 'clamp', { announce: true }), default: 500, flag: { flag: '-q', arg: 'N', what: 'listen queue (backlog) [500]', status: 'works', note: 'Below 50 is bumped to 50, as in pen.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'multi_accept', key: 'multiAccept', kind: int('multi_accept', 'clamp', { announce: true }), default: 1, flag: { flag: '-m', arg: 'N', what: 'accept up to N connections at a time [1]', status: 'works', note: "Native path: a listener accepts up to N clients per wake-up, the rest on the next (below 1 is bumped to 1, as in pen). The default is 1, where pen's is 100: one accept per wake-up saves the accept that would only say EAGAIN. The portable path ignores it: Node's listener decides." }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'event_backend', key: 'eventBackend', kind: { type: 'enum', values: ['epoll', 'poll', 'select', 'kqueue'], each: true }, default: 'epoll', flag: { flag: '-P', sets: 'poll', what: 'use poll() rather than select()', status: 'no effect', note: "Node's event loop (epoll) is used whatever is chosen." }, help: { each: { epoll: { summary: 'use epoll (start-up only)', note: EVENT_LOOP }, poll: { summary: 'use poll() (start-up only)', note: EVENT_LOOP }, select: { summary: 'use select() (start-up only)', note: `${EVENT_LOOP}; -x above 507 is not refused` }, kqueue: { summary: 'use kqueue (BSD; start-up only)', note: EVENT_LOOP } } }, reply: 'none', write: 'never', support: 'no-op', command: 'table' },
  { name: 'ssl_cert', key: 'ssl.cert', kind: text, default: null, flag: { flag: '-E', arg: 'certfile', what: 'use the given certificate in PEM format', status: 'works', note: 'Terminates TLS on the listener.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_key', key: 'ssl.key', kind: text, default: null, flag: { flag: '-K', arg: 'keyfile', what: 'use the given key in PEM format (may be contained in cert)', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_ca_file', key: 'ssl.caFile', kind: text, default: null, flag: { flag: '-G', arg: 'cacertfile', what: "file containing the CA's certificate", status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_ca_dir', key: 'ssl.caDir', kind: text, default: null, flag: { flag: '-A', arg: 'cacertdir', what: 'directory containing CA certificates in hashed format', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_compat', key: 'ssl.compat', kind: bool, default: false, flag: { flag: '-Z', what: 'use SSL compatibility mode', status: 'works', note: 'SSL_OP_ALL.' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_require_cert', key: 'ssl.requireClientCert', kind: bool, default: false, flag: { flag: '-R', what: 'require valid peer certificate', status: 'works' }, reply: 'none', write: 'never', support: 'yes', command: 'none' },
  { name: 'ssl_protocol', key: 'ssl.protocol', kind: { type: 'enum', values: ['ssl23', 'ssl2', 'ssl3', 'tls1'] }, default: 'ssl23', flag: { flag: '-L', arg: 'protocol', what: 'ssl23 (default), ssl2, ssl3 or tls1', status: 'no effect', note: 'Checked as pen checks it; Node negotiates TLS 1.2 or 1.3 whatever is given (use ssl_option to narrow it).' }, reply: 'none', write: 'never', support: 'no-op', command: 'none' },
] as const satisfies readonly SettingRow[];

export type Setting = (typeof SETTINGS)[number];
export type SettingName = Setting['name'];

// ---- the Settings object: a field per row, under its key (`ssl.ciphers` is `ssl: { ciphers }`) ----

type Nested<R> = R extends { key: `${string}.${string}` } ? R : never;
type Top<R> = Exclude<R, Nested<R>>;
type Inner<K> = K extends `${string}.${infer F}` ? F : never;
type Outer<K> = K extends `${infer O}.${string}` ? O : never;
type Flat<T> = { [K in keyof T]: T[K] };
/** The Settings object of a table of rows: each row's key with its kind's value. */
export type SettingsOf<R extends SettingRow> = Flat<{ [T in Top<R> as T['key']]: ValueOf<T['kind']> } & {
  [O in Outer<Nested<R>['key']>]: { [N in Nested<R> as N['key'] extends `${O}.${string}` ? Inner<N['key']> : never]: ValueOf<N['kind']> }
}>;

/** A row whose default is not of its kind fails the compile here, naming the row. */
type BadDefault<R> = R extends { name: infer N; kind: infer K; default: infer D }
  ? (D extends (ValueOf<K> extends string[] ? readonly string[] : ValueOf<K>) ? never : N) : never;
const defaultsMatch: [BadDefault<Setting>] extends [never] ? true : BadDefault<Setting> = true;
void defaultsMatch;

/** Every setting at its default: a fresh object (a list is copied), built from the rows. */
export function settingDefaults(rows: readonly SettingRow[] = SETTINGS): object {
  const out: Record<string, unknown> = {};
  for (const r of rows) {
    const [outer, inner] = r.key.split('.');
    const value = Array.isArray(r.default) ? [...r.default] : r.default;
    if (inner === undefined) out[r.key] = value;
    else ((out[outer as string] ??= {}) as Record<string, unknown>)[inner] = value;
  }
  return out;
}

/** The commands the `table` rows make: `NAME`, `no NAME` for a switch or a file, a command per value. */
type TableRow = Extract<Setting, { command: 'table' }>;
type EachRow = Extract<TableRow, { kind: { each: true } }>;
type Negatable = Extract<TableRow, { kind: { type: 'bool' } } | { kind: { nullable: true } }>;
export type TableCommand = Exclude<TableRow['name'], EachRow['name']> | `no ${Negatable['name']}` | EachRow['kind']['values'][number];

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

/** A number row's bound and the name its error line gives: its bound's in shared/limits.ts, or its own. */
export function boundOf(row: SettingRow): { name: string; limit: Limit } | null {
  if (row.kind.type !== 'int') throw new Error(`${row.name} is not a number setting`);
  const { limit } = row.kind;
  if (limit === undefined) return null;
  return typeof limit === 'string' ? { name: limit, limit: LIMITS[limit] } : { name: row.name, limit };
}

export function checkNumber(row: SettingRow, n: number, text: string, from: Source = 'command'): Checked {
  const bound = boundOf(row);
  if (row.kind.type !== 'int') throw new Error(`${row.name} is not a number setting`);
  const { low, why } = row.kind;
  if (bound === null) return { ok: true, value: n | 0 };
  const { min, max } = bound.limit;
  if (low === 'reset') {
    const wrapped = n | 0; // pen's int, wrapped as C wraps it
    return { ok: true, value: wrapped < min || wrapped > max ? 0 : wrapped };
  }
  if (n > max) return { ok: false, error: pastMax(bound.name, max, text), reason: pastMax(bound.name, max, text) };
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
  const bound = k.type === 'int' ? boundOf(r)?.limit : undefined;
  if (bound) return Type.Integer({ minimum: bound.min, maximum: bound.max, ...described(r) });
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
