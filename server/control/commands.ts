// THE command table: one handler per spec in shared/commands.ts (a spec without a handler, or a
// handler without a spec, fails the compile). Small settings are handled here; servers, clients,
// connections and ACLs in commands-state.ts; files, sockets and TLS in commands-io.ts.
import type { CommandName } from '../../shared/commands.ts';
import type { Settings } from '../core/settings.ts';
import type { LimitName } from '../../shared/limits.ts';
import { CommandError, refuse } from './errors.ts';
import { atoi } from './atoi.ts';
import { upTo } from './limits.ts';
import type { Handler } from './context.ts';
import * as io from './commands-io.ts';
import * as state from './commands-state.ts';

type NumericSetting = { [K in keyof Settings]: Settings[K] extends number ? K : never }[keyof Settings];

/**
 * `NAME [N]`: set when given, reply with the value. Past the bound in shared/limits.ts: one error
 * line, nothing changes; below it `fix` applies pen's rule.
 */
function numeric(key: NumericSetting, limit: LimitName, fix: (n: number) => number = (n) => n, format = (n: number) => `${n}\n`): Handler {
  return ({ pen }, args) => {
    if (args[0] !== undefined) pen.settings[key] = fix(upTo(limit, args[0]));
    return format(pen.settings[key]);
  };
}

/** pen resets an ACL number outside 0..9 to 0 */
const aclIndex = (n: number) => (n < 0 || n >= 10 ? 0 : n);

/** An ACL number: pen resets any number outside the lists to 0 and its reply shows it, so no refusal. */
function aclNumber(key: NumericSetting, fix: (n: number) => number, format = (n: number) => `${n}\n`): Handler {
  return ({ pen }, args) => {
    if (args[0] !== undefined) pen.settings[key] = fix(atoi(args[0])); // C's int, wrapped as pen wraps it
    return format(pen.settings[key]);
  };
}

type FlagSetting = { [K in keyof Settings]: Settings[K] extends boolean ? K : never }[keyof Settings];

function flag(key: FlagSetting, value: boolean): Handler {
  return ({ pen }) => {
    pen.settings[key] = value;
    return '';
  };
}

function eventBackend(name: Settings['eventBackend']): Handler {
  return ({ pen }) => {
    pen.settings.eventBackend = name;
    return '';
  };
}

const dsr: Handler = () => {
  throw refuse('Direct Server Return (dsr_if, dsr_ip) needs raw packet sockets, which this pen does not have', 'PEN_ERR_UNSUPPORTED');
};

export const HANDLERS = {
  abort_on_error: flag('abortOnError', true),
  'no abort_on_error': flag('abortOnError', false),
  acl: state.acl,
  'no acl': state.noAcl,
  ascii: flag('ascii', true),
  'no ascii': flag('ascii', false),
  blacklist: numeric('blacklistTime', 'blacklist'),
  client_acl: aclNumber('clientAcl', aclIndex),
  clients_max: state.clientsMax,
  close: state.close,
  conn_max: state.connMax,
  connection: state.connection,
  control: ({ pen }) => `${pen.settings.control ?? '(null)'}\n`,
  control_acl: aclNumber('controlAcl', aclIndex),
  debug: numeric('debug', 'debug'),
  dsr_if: dsr,
  dsr_ip: dsr,
  dummy: flag('dummy', true),
  'no dummy': flag('dummy', false),
  epoll: eventBackend('epoll'),
  poll: eventBackend('poll'),
  select: eventBackend('select'),
  kqueue: eventBackend('kqueue'),
  exit: ({ pen, runtime }) => {
    if (!pen.settings.exitEnabled) {
      throw new CommandError('exit: not enabled (-X)', { reply: 'Exit is not enabled; restart with -X flag\n', code: 'PEN_ERR_NOT_ENABLED' });
    }
    runtime.exit();
    return '';
  },
  geoip: io.geoip,
  'no geoip': io.noGeoip,
  hash: flag('hash', true),
  'no hash': flag('hash', false),
  health: state.health,
  http: flag('http', true),
  'no http': flag('http', false),
  idle_timeout: numeric('idleTimeout', 'idle_timeout', (n) => Math.max(0, n), (n) => `Idle timeout: ${n} seconds\n`),
  // no idle connections are kept here, so the current count is always 0
  idlers: numeric('idlers', 'idlers', (n) => Math.max(0, n), (n) => `Idlers: 0/${n}\n`),
  include: io.include,
  keepalive: flag('keepalive', true),
  'no keepalive': flag('keepalive', false),
  listen: io.listen,
  log: io.log,
  'no log': io.noLog,
  mode: ({ pen }) => {
    const s = pen.settings;
    const f = (on: boolean, name: string) => `${on ? '' : 'no '}${name}`;
    return `${[f(s.hash, 'hash'), f(s.roundrobin, 'roundrobin'), f(s.stubborn, 'stubborn'), f(s.weight, 'weight'), f(s.prio, 'prio')].join(' ')}\n`;
  },
  peek: flag('peek', true),
  'no peek': flag('peek', false),
  pending_max: ({ pen }, args) => {
    if (args[0] !== undefined) pen.settings.pendingMax = Math.max(1, upTo('pending_max', args[0]));
    return '';
  },
  pid: () => `${process.pid}\n`,
  prio: flag('prio', true),
  'no prio': flag('prio', false),
  recent: state.recent,
  roundrobin: flag('roundrobin', true),
  'no roundrobin': flag('roundrobin', false),
  server: state.server,
  servers: state.servers,
  socket: state.socket,
  source: io.source,
  ssl_ciphers: io.sslCiphers,
  ssl_client_renegotiation_interval: io.sslRenegotiationInterval,
  ssl_ocsp_response: io.sslOcspResponse,
  ssl_option: io.sslOption,
  ssl_sni_path: io.sslSniPath,
  status: io.status,
  stubborn: flag('stubborn', true),
  'no stubborn': flag('stubborn', false),
  // -1 means none; out of range resets to 0; pen's reply has no newline
  tarpit_acl: aclNumber('tarpitAcl', (n) => (n < -1 || n >= 10 ? 0 : n), (n) => `tarpit_acl = ${n}`),
  tcp_fastclose: ({ pen }, args) => {
    const mode = args[0];
    if (mode === undefined) {
      throw new CommandError('tcp_fastclose: no argument', { reply: 'do_cmd: ignoring tcp_fastclose without argument\n' });
    }
    pen.settings.tcpFastclose = mode === 'both' || mode === 'up' || mode === 'down' ? mode : 'off';
    return '';
  },
  tcp_nodelay: flag('tcpNodelay', true),
  'no tcp_nodelay': flag('tcpNodelay', false),
  // pen takes 0 too, which makes every pending connect time out at once; 1 is the least that works
  timeout: numeric('timeout', 'timeout', (n) => Math.max(1, n)),
  tracking: numeric('trackingTime', 'tracking'),
  transparent: flag('transparent', true),
  'no transparent': flag('transparent', false),
  web_stats: ({ pen }, args) => {
    if (args[0] !== undefined) pen.settings.webStats = args[0];
    return pen.settings.webStats ? `${pen.settings.webStats}\n` : '';
  },
  'no web_stats': ({ pen }) => {
    pen.settings.webStats = null;
    return '';
  },
  weight: flag('weight', true),
  'no weight': flag('weight', false),
  write: io.write,
} satisfies Record<CommandName, Handler>;
