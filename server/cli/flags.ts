// Every command-line flag pen accepts, one row each: what `pen --help` prints and what pen.1's
// OPTIONS section is made of, so the two cannot drift (test/unit/flags.test.ts holds them, and
// the parser, to this table). A flag that sets a setting is part of that setting's row in
// shared/settings.ts (args.ts parses it from the row); the others are below, with their case in args.ts.
import { SETTINGS, flagRow, type FlagStatus, type SettingRow } from '../../shared/settings.ts';

/**
 * works: does what pen's does. no effect: accepted (and checked) as pen accepts it, but changes
 * nothing here. refused: pen exits with an error saying why. extension: ours, not in C pen.
 */
export type { FlagStatus };

export interface Flag {
  flag: string;
  /** the argument's name; none for a switch */
  arg?: string;
  /** one line, as in pen's usage text */
  what: string;
  status: FlagStatus;
  /** for the man page: defaults, differences from C pen, why it has no effect or is refused */
  note?: string;
}

/** The flags that set no setting: commands, obsolete flags, and ours. */
const OTHER_FLAGS: readonly Flag[] = [
  { flag: '-N', what: 'use hash for initial server selection without save server', status: 'refused', note: "Listed in pen's usage but never implemented there (pen prints its usage)." },
  { flag: '-O', arg: 'option', what: 'use option in penctl format', status: 'works', note: 'Run at its place on the command line; replies go to standard output.' },
  { flag: '-Q', what: 'use kqueue to manage events (BSD)', status: 'no effect', note: "Obsolete in pen too; prints pen's message saying so." },
  { flag: '-o', arg: 'option', what: 'use option in penctl format', status: 'works', note: 'The same as -O.' },
  { flag: '-D', what: 'delayed forward', status: 'no effect', note: "Obsolete in pen too; prints pen's message saying so." },
  { flag: '-S', arg: 'N', what: 'number of servers', status: 'no effect', note: "Obsolete in pen too (the server table grows by itself); prints pen's message." },
  { flag: '-n', what: 'nonblocking sockets', status: 'no effect', note: "Obsolete in pen too; prints pen's message saying so." },
  { flag: '-i', arg: 'name', what: 'install as a Windows service', status: 'no effect', note: 'Prints "Windows only" and exits 0, as pen does on POSIX systems.' },
  { flag: '--admin', arg: '[host:]port', what: 'admin API and dashboard (loopback unless a host is given)', status: 'extension', note: 'REST API, WebSocket stream, Prometheus metrics and the dashboard; see ADMIN API.' },
  { flag: '--admin-token-file', arg: 'file', what: 'bearer tokens for the admin API', status: 'extension', note: 'Lines of "admin TOKEN" or "read TOKEN"; needed for a non-loopback --admin address.' },
  { flag: '--admin-host', arg: 'name[:port]', what: 'another Host name the admin API answers to (repeatable)', status: 'extension', note: 'Requests whose Host header is not the bound address (or, on loopback, localhost, 127.0.0.1 or [::1]) or one of these names get 403: a DNS-rebinding page cannot read the API.' },
  { flag: '--admin-cors', arg: 'origin', what: 'an origin whose pages may call the admin API (repeatable)', status: 'extension', note: 'Without it no CORS headers are sent, and a request that changes something is refused when it carries another page\'s Origin.' },
  { flag: '--admin-file-root', arg: 'dir', what: "where the admin API may name files (default: the -F file's directory)", status: 'extension', note: 'Commands that name a file (write, log, include, web_stats, geoip, ssl_*, listen PATH) are confined to this directory when they come through REST or the dashboard; the control port and -F files keep pen\'s behaviour.' },
  { flag: '--admin-stream-max', arg: 'N', what: 'live-stream (WebSocket) subscribers at once [32]', status: 'extension', note: 'Past it a new subscriber gets 503 with Retry-After. A subscriber that stops reading is sent only the newest snapshot and is dropped when it stays blocked.' },
  { flag: '--drain', arg: 'sec', what: 'on SIGTERM, keep forwarding this long before closing [0]', status: 'extension', note: 'Meanwhile GET /healthz answers 503 and the --health-file says 1, so keepalived moves the virtual address before the listener closes: no client is refused during a planned hand-over. Up to 60, decimals allowed.' },
  { flag: '--health-file', arg: 'file', what: "write 0 (serving) or 1 (stopping) for keepalived's track_file", status: 'extension', note: 'Written (to a temporary file renamed into place) once the listener is open, and again the moment pen starts to stop; see docs/high-availability.md.' },
  { flag: '--peer', arg: 'url', what: "follow the other pen of a pair: its admin API's http(s) URL", status: 'extension', note: "This pen receives the peer's configuration (as `write` lines) and client table as they change, over the peer's admin API, and applies them unless keepalived told it that it holds the address (PUT /role). Reconnects by itself." },
  { flag: '--peer-token-file', arg: 'file', what: "a file holding a read token of the peer's admin API", status: 'extension', note: 'The first line is the token (a line "read TOKEN" or "admin TOKEN", as in --admin-token-file, works too).' },
  { flag: '--threads', arg: 'N', what: 'threads moving bytes on the native data path [1]', status: 'extension', note: "1 (the default) runs everything on Node's loop. With N > 1 a plain TCP or Unix listener on the native data path hands each connection, once connected, to one of N - 1 forwarding threads; accepting, the server choice, client tracking, limits, blacklist and health stay on the main thread, so pen's semantics are unchanged. Other listeners ignore it. 1 to 64; see docs/performance.md." },
  { flag: '--help', what: 'this text', status: 'extension' },
  { flag: '--version', what: 'print the version and exit', status: 'extension' },
];

// In pen's usage order, then the flags its usage leaves out; then any setting's flag not listed
// here (a new row's), in the table's order; then ours.
const PEN_ORDER = [
  '-B', '-C', '-T', '-H', '-U', '-N', '-O', '-P', '-Q', '-W', '-X', '-a',
  '-b', '-c', '-d', '-e', '-f', '-h', '-j', '-F', '-l', '-r', '-s', '-t',
  '-u', '-p', '-x', '-w', '-o', '-E', '-K', '-G', '-A', '-Z', '-R', '-L',
  '-D', '-S', '-n', '-i', '-m', '-q',
];
const OUR_ORDER = [
  '--admin', '--admin-token-file', '--admin-host', '--admin-cors', '--admin-file-root', '--admin-stream-max',
  '--drain', '--health-file', '--peer', '--peer-token-file', '--threads', '--help', '--version',
];
const UNLISTED = (SETTINGS as readonly SettingRow[])
  .flatMap((r) => (r.flag && !PEN_ORDER.includes(r.flag.flag) ? [r.flag.flag] : []));
const ORDER = [...PEN_ORDER, ...UNLISTED, ...OUR_ORDER];

const OTHER = new Map(OTHER_FLAGS.map((f) => [f.flag, f]));

/** Every flag: a setting's comes from its row of shared/settings.ts, the rest from OTHER_FLAGS. */
export const FLAGS: readonly Flag[] = ORDER.map((flag) => {
  const row = flagRow(flag);
  const f = row?.flag ?? OTHER.get(flag);
  if (!f) throw new Error(`${flag}: no row`);
  return {
    flag: f.flag, ...(f.arg ? { arg: f.arg } : {}), what: f.what, status: f.status, ...(f.note ? { note: f.note } : {}),
  };
});

/** What the help text adds after a flag that does not simply work. */
export const STATUS_MARK: Record<FlagStatus, string> = {
  works: '',
  'no effect': ' (accepted, no effect here)',
  refused: ' (refused here)',
  extension: '',
};

/** `-B host:port` or `--admin [host:]port`. */
export function flagWithArg(f: Flag): string {
  return f.arg ? `${f.flag} ${f.arg}` : f.flag;
}
