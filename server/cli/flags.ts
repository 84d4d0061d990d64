// Every command-line flag pen accepts, one row each: what `pen --help` prints and what pen.1's
// OPTIONS section is made of, so the two cannot drift (test/unit/flags.test.ts holds them, and
// the parser, to this table). A new flag is one row here plus its case in args.ts.

/**
 * works: does what pen's does. no effect: accepted (and checked) as pen accepts it, but changes
 * nothing here. refused: pen exits with an error saying why. extension: ours, not in C pen.
 */
export type FlagStatus = 'works' | 'no effect' | 'refused' | 'extension';

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

// In pen's usage order, then the flags its usage leaves out, then ours.
export const FLAGS: readonly Flag[] = [
  { flag: '-B', arg: 'host:port', what: 'abuse server for naughty clients', status: 'works', note: 'Clients denied by the client access list go here. Parsed like a server spec.' },
  { flag: '-C', arg: '[addr:]port', what: 'control port', status: 'works', note: 'TCP, or a Unix socket when the value contains a slash. Not opened when running as root without -u, as in pen.' },
  { flag: '-T', arg: 'sec', what: 'tracking time in seconds (0 = forever) [0]', status: 'works' },
  { flag: '-H', what: 'add X-Forwarded-For header in http requests', status: 'works', note: 'Also X-Forwarded-Proto.' },
  { flag: '-U', what: 'use udp protocol support', status: 'works' },
  { flag: '-N', what: 'use hash for initial server selection without save server', status: 'refused', note: "Listed in pen's usage but never implemented there (pen prints its usage)." },
  { flag: '-O', arg: 'option', what: 'use option in penctl format', status: 'works', note: 'Run at its place on the command line; replies go to standard output.' },
  { flag: '-P', what: 'use poll() rather than select()', status: 'no effect', note: "Node's event loop (epoll) is used whatever is chosen." },
  { flag: '-Q', what: 'use kqueue to manage events (BSD)', status: 'no effect', note: "Obsolete in pen too; prints pen's message saying so." },
  { flag: '-W', what: 'use weight for server selection', status: 'works' },
  { flag: '-X', what: "enable 'exit' command for control port", status: 'works' },
  { flag: '-a', what: 'debugging dumps in ascii format', status: 'works' },
  { flag: '-b', arg: 'sec', what: 'blacklist time in seconds [30]', status: 'works', note: '0 turns blacklisting off.' },
  { flag: '-c', arg: 'N', what: 'max number of clients [2048]', status: 'works' },
  { flag: '-d', what: 'debugging on (repeat -d for more)', status: 'works' },
  { flag: '-e', arg: 'host:port', what: 'emergency server of last resort', status: 'works' },
  { flag: '-f', what: 'stay in foreground', status: 'works', note: 'Messages go to standard error. Without -f the parent exits 0 only once the daemon is listening, and with its error otherwise.' },
  { flag: '-h', what: 'use hash for initial server selection', status: 'works', note: 'Not help: that is --help.' },
  { flag: '-j', arg: 'dir', what: 'run in chroot', status: 'refused', note: "Node.js programs cannot chroot; use a container or systemd's RootDirectory=." },
  { flag: '-F', arg: 'file', what: 'name of configuration file', status: 'works', note: 'penctl commands, one a line, run after the options and again on SIGHUP.' },
  { flag: '-l', arg: 'file', what: 'logging on', status: 'works', note: 'The request log; host:port sends it over UDP (to penlogd). Reopened on SIGHUP.' },
  { flag: '-r', what: 'bypass client tracking in server selection', status: 'works' },
  { flag: '-s', what: "stubborn selection, i.e. don't fail over", status: 'works' },
  { flag: '-t', arg: 'sec', what: 'connect timeout in seconds [3]', status: 'works', note: 'At least 1.' },
  { flag: '-u', arg: 'user', what: 'run as alternative user', status: 'works', note: 'setgid and setuid after the sockets are open.' },
  { flag: '-p', arg: 'file', what: 'write pid to file', status: 'works', note: 'Removed on a clean exit.' },
  { flag: '-x', arg: 'N', what: 'max number of simultaneous connections [500]', status: 'works' },
  { flag: '-w', arg: 'file', what: 'save statistics in HTML format in a file', status: 'works', note: 'Written on SIGUSR1 and on the status command.' },
  { flag: '-o', arg: 'option', what: 'use option in penctl format', status: 'works', note: 'The same as -O.' },
  { flag: '-E', arg: 'certfile', what: 'use the given certificate in PEM format', status: 'works', note: 'Terminates TLS on the listener.' },
  { flag: '-K', arg: 'keyfile', what: 'use the given key in PEM format (may be contained in cert)', status: 'works' },
  { flag: '-G', arg: 'cacertfile', what: "file containing the CA's certificate", status: 'works' },
  { flag: '-A', arg: 'cacertdir', what: 'directory containing CA certificates in hashed format', status: 'works' },
  { flag: '-Z', what: 'use SSL compatibility mode', status: 'works', note: 'SSL_OP_ALL.' },
  { flag: '-R', what: 'require valid peer certificate', status: 'works' },
  { flag: '-L', arg: 'protocol', what: 'ssl23 (default), ssl2, ssl3 or tls1', status: 'no effect', note: "Checked as pen checks it; Node negotiates TLS 1.2 or 1.3 whatever is given (use ssl_option to narrow it)." },
  { flag: '-D', what: 'delayed forward', status: 'no effect', note: "Obsolete in pen too; prints pen's message saying so." },
  { flag: '-S', arg: 'N', what: 'number of servers', status: 'no effect', note: "Obsolete in pen too (the server table grows by itself); prints pen's message." },
  { flag: '-n', what: 'nonblocking sockets', status: 'no effect', note: "Obsolete in pen too; prints pen's message saying so." },
  { flag: '-i', arg: 'name', what: 'install as a Windows service', status: 'no effect', note: 'Prints "Windows only" and exits 0, as pen does on POSIX systems.' },
  { flag: '-m', arg: 'N', what: 'accept up to N connections at a time [100]', status: 'no effect', note: "Checked (below 1 is bumped to 1, as in pen); Node's listener decides how many it accepts per wake-up." },
  { flag: '-q', arg: 'N', what: 'listen queue (backlog) [500]', status: 'works', note: 'Below 50 is bumped to 50, as in pen.' },
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
  { flag: '--help', what: 'this text', status: 'extension' },
  { flag: '--version', what: 'print the version and exit', status: 'extension' },
];

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
