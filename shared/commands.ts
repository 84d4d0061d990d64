// The command specs: name, grammar, scope and summary of every penctl command. Handlers live in
// server/control/commands.ts; the penctl port, -o/-O, -F, HUP, REST and the dashboard all go
// through them. No Node APIs here: the dashboard imports this file.

export type CommandScope = 'read' | 'admin';

/**
 * How far a command works here: `yes` as in pen; `no-op` accepted and answered as pen answers
 * it on Linux, without effect in this implementation; `refused` answered with a one-line error.
 */
export type CommandSupport = 'yes' | 'no-op' | 'refused';

export interface CommandSpec {
  /** the words that select it, e.g. "blacklist" or "no acl" */
  name: string;
  /** the argument grammar after the name, in penctl(1)'s notation */
  grammar: string;
  /** read: never changes anything; admin: may change state (even if it also reports) */
  scope: CommandScope;
  summary: string;
  support: CommandSupport;
  /** what differs from C pen, if anything */
  note?: string;
}

function spec<N extends string>(name: N, grammar: string, scope: CommandScope, summary: string, support: CommandSupport = 'yes', note?: string) {
  return { name, grammar, scope, summary, support, ...(note ? { note } : {}) };
}

const LIST = [
  spec('abort_on_error', '', 'admin', 'fatal errors call abort() (core dump) instead of exit(1)', 'no-op', 'Stored; fatal errors always exit(1) here'),
  spec('no abort_on_error', '', 'admin', 'fatal errors exit(1)', 'no-op'),
  spec('acl', 'N permit|deny ADDR [MASK] | N permit|deny IPV6[/LEN] | N permit|deny country CC', 'admin',
    'append an entry to access list N (0-9)', 'yes', '`country` needs a GeoIP database (`geoip FILE`, or /usr/share/GeoIP/GeoLite2-Country.mmdb if it exists); without one: an error line'),
  spec('no acl', 'N', 'admin', 'empty access list N', 'yes', 'Without N: an error line (C pen crashes)'),
  spec('ascii', '', 'admin', 'data dumps (debug 3) in ASCII'),
  spec('no ascii', '', 'admin', 'data dumps in hex'),
  spec('blacklist', '[N]', 'admin', 'report or set the blacklist time in seconds'),
  spec('client_acl', '[N]', 'admin', 'report or set the access list checked for clients (denied: abuse server)'),
  spec('clients_max', '[N]', 'admin', 'report or grow the client table'),
  spec('close', '[N]', 'admin', 'forcibly close connection N'),
  spec('conn_max', '[N]', 'admin', 'report or grow the connection table'),
  spec('connection', '[N]', 'read', 'show connection slot N', 'yes', 'downfd/upfd are socket ids, not file descriptors'),
  spec('control', '', 'read', 'report the control port address'),
  spec('control_acl', '[N]', 'admin', 'report or set the access list checked for the control port'),
  spec('debug', '[N]', 'admin', 'report or set the debug level'),
  spec('dsr_if', 'IF', 'admin', 'Direct Server Return interface', 'refused', 'Needs raw packet sockets, which Node does not offer'),
  spec('dsr_ip', 'IP', 'admin', 'Direct Server Return address', 'refused', 'Needs raw packet sockets, which Node does not offer'),
  spec('dummy', '', 'admin', 'answer every request with a fixed page instead of forwarding'),
  spec('no dummy', '', 'admin', 'forward to the servers again'),
  spec('epoll', '', 'admin', 'use epoll (start-up only)', 'no-op', "Node's event loop is used whatever is chosen"),
  spec('poll', '', 'admin', 'use poll() (start-up only)', 'no-op', "Node's event loop is used whatever is chosen"),
  spec('select', '', 'admin', 'use select() (start-up only)', 'no-op', "Node's event loop is used whatever is chosen; -x above 507 is not refused"),
  spec('kqueue', '', 'admin', 'use kqueue (BSD; start-up only)', 'no-op', "Node's event loop is used whatever is chosen"),
  spec('exit', '', 'admin', 'stop pen (needs -X)'),
  spec('geoip', '[FILE]', 'admin', 'report or open the GeoIP database (.mmdb) used by `country` ACL entries', 'yes',
    'Our extension: pen uses the database it was compiled with. Without a file, /usr/share/GeoIP/GeoLite2-Country.mmdb is used if it exists; a file that does not open gets an error line and nothing changes'),
  spec('no geoip', '', 'admin', 'forget the GeoIP file (the default database applies again if it exists)', 'yes', 'Our extension'),
  spec('hash', '', 'admin', 'hash the client address for the initial server choice (-h)'),
  spec('no hash', '', 'admin', 'no hash selection'),
  spec('health', '[off | tcp | http PATH [STATUS] | dns NAME] [interval SECS] [timeout SECS] [rise N] [fall N]', 'admin',
    'report or set the active health check every server gets (defaults: interval 5, timeout 2, rise 2, fall 3)', 'yes',
    'Our extension: C pen has no active checks and ignores the line. A server fails `fall` checks in a row to go down and passes `rise` to come back; down servers are skipped as blacklisted ones are'),
  spec('http', '', 'admin', 'add X-Forwarded-For and X-Forwarded-Proto headers (-H)'),
  spec('no http', '', 'admin', 'no header insertion'),
  spec('idle_timeout', '[N]', 'admin', 'report or set the idle timeout in seconds (0 = off)'),
  spec('idlers', '[N]', 'admin', 'report or set the number of idle backend connections wanted', 'no-op', 'The wanted number is stored and reported; no idle connections are opened (C pen crashes for N>0)'),
  spec('include', 'FILE', 'admin', 'run the commands in FILE (replies to stdout)'),
  spec('keepalive', '', 'admin', 'SO_KEEPALIVE on backend sockets'),
  spec('no keepalive', '', 'admin', 'no SO_KEEPALIVE on backend sockets'),
  spec('listen', '[ADDR]', 'admin', 'report the listen address, or listen on a new one', 'yes', 'An address that cannot be opened gets an error line and the old listener is kept (C pen dies)'),
  spec('log', '[FILE|host:port]', 'admin', 'report or open the request log'),
  spec('no log', '', 'admin', 'close the request log'),
  spec('mode', '', 'read', 'report the selection mode flags'),
  spec('peek', '', 'admin', "pen's unfinished peek feature", 'no-op'),
  spec('no peek', '', 'admin', 'turn peek off', 'no-op'),
  spec('pending_max', 'N', 'admin', 'maximum concurrent pending backend connects', 'no-op', 'Stored and saved; Node does not cap pending connects'),
  spec('pid', '', 'read', 'report the process id'),
  spec('prio', '', 'admin', 'choose the available server with the lowest prio'),
  spec('no prio', '', 'admin', 'no priority selection'),
  spec('recent', '[SECS]', 'read', 'clients seen in the last SECS seconds (default 300)'),
  spec('roundrobin', '', 'admin', 'bypass client tracking (-r)'),
  spec('no roundrobin', '', 'admin', 'use client tracking'),
  spec('server', 'N [acl A] [address H] [port P] [max M] [hard H] [blacklist T] [weight W] [prio P] | N health CHECK|default | N drain on|off', 'admin',
    'create or change server slot N', 'yes',
    'Our extensions: `server N health ...` takes the arguments of `health` for this server alone (`default`: back to `health`); `server N drain on` takes it out of every new pick, returning clients included, while its open connections carry on'),
  spec('servers', '', 'read', 'list the servers with their counters'),
  spec('socket', '[FD]', 'read', 'which connection a socket belongs to', 'yes', 'FD is a socket id as shown by `connection`'),
  spec('source', 'IP', 'admin', 'bind backend sockets to IP', 'yes', 'Without IP: an error line (C pen crashes)'),
  spec('ssl_ciphers', '[LIST]', 'admin', 'TLS cipher list (start-up)'),
  spec('ssl_client_renegotiation_interval', 'S', 'admin', 'minimum seconds between client renegotiations', 'yes', 'Without S: an error line (C pen crashes)'),
  spec('ssl_ocsp_response', 'FILE', 'admin', 'stapled OCSP response file', 'yes', 'Without FILE: an error line (C pen crashes)'),
  spec('ssl_option', 'OPT', 'admin', 'no_sslv2|no_sslv3|no_tlsv1|no_tlsv1.1|no_tlsv1.2|cipher_server_preference'),
  spec('ssl_sni_path', 'DIR', 'admin', 'directory of per-SNI-name keys and certificates'),
  spec('status', '', 'read', "pen's HTML status page", 'yes', 'Rendered without rewriting the -w file, which pen rewrites first (a read changes nothing here); the file is written on SIGUSR1'),
  spec('stubborn', '', 'admin', 'never fail over from the chosen server (-s)'),
  spec('no stubborn', '', 'admin', 'fail over'),
  spec('tarpit_acl', '[N]', 'admin', 'report or set the tarpit access list (DSR only)', 'no-op', 'Stored and reported; tarpitting needs DSR'),
  spec('tcp_fastclose', 'up|down|both|off', 'admin', 'close both sides as soon as one side closes'),
  spec('tcp_nodelay', '', 'admin', 'TCP_NODELAY on sockets created from now on'),
  spec('no tcp_nodelay', '', 'admin', 'no TCP_NODELAY'),
  spec('timeout', '[N]', 'admin', 'report or set the connect timeout in seconds', 'yes', 'Values below 1 get an error line and change nothing, as -t refuses them (C pen stores them, and every connect then times out at once)'),
  spec('tracking', '[N]', 'admin', 'report or set the client tracking time in seconds (-T)'),
  spec('transparent', '', 'admin', 'connect to servers from the client address', 'no-op', 'IP_TRANSPARENT is not available to Node; connects are made from pen\'s address, as C pen does when it lacks the privilege'),
  spec('no transparent', '', 'admin', 'connect from pen\'s own address', 'no-op'),
  spec('web_stats', '[FILE]', 'admin', 'report or set the HTML status file (-w)'),
  spec('no web_stats', '', 'admin', 'no HTML status file'),
  spec('weight', '', 'admin', 'weighted server selection (-W)'),
  spec('no weight', '', 'admin', 'no weighted selection'),
  spec('write', '[FILE]', 'admin', 'save the configuration to FILE or the -F file', 'yes',
    "Server lines also carry weight/prio when they are set outside weight/prio mode, and settings C pen does not save are appended when they differ from the defaults"),
] as const;

export type CommandName = (typeof LIST)[number]['name'];

export const COMMANDS: readonly CommandSpec[] = LIST;

/** What a token line selects: "no X" commands are looked up by both words. */
export function commandName(words: readonly string[]): string {
  return words[0] === 'no' && words.length > 1 ? `no ${words[1]}` : words[0] ?? '';
}
