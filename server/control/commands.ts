// THE command table: one handler per spec in shared/commands.ts (a spec without a handler, or a
// handler without a spec, fails the compile). The settings that only store a value are made from
// their rows (settings.ts); servers, clients, connections and ACLs are in commands-state.ts; files,
// sockets and TLS in commands-io.ts.
import type { CommandName } from '../../shared/commands.ts';
import type { Settings } from '../core/settings.ts';
import { CommandError, refuse } from './errors.ts';
import type { Handler } from './registry.ts';
import { tableHandlers } from './settings.ts';
import * as io from './commands-io.ts';
import * as state from './commands-state.ts';

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
  ...tableHandlers(),
  acl: state.acl,
  'no acl': state.noAcl,
  clients_max: state.clientsMax,
  close: state.close,
  conn_max: state.connMax,
  connection: state.connection,
  control: ({ pen }) => `${pen.settings.control ?? '(null)'}\n`,
  dsr_if: dsr,
  dsr_ip: dsr,
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
  health: state.health,
  include: io.include,
  listen: io.listen,
  log: io.log,
  'no log': io.noLog,
  mode: ({ pen }) => {
    const s = pen.settings;
    const f = (on: boolean, name: string) => `${on ? '' : 'no '}${name}`;
    return `${[f(s.hash, 'hash'), f(s.roundrobin, 'roundrobin'), f(s.stubborn, 'stubborn'), f(s.weight, 'weight'), f(s.prio, 'prio')].join(' ')}\n`;
  },
  pid: () => `${process.pid}\n`,
  recent: state.recent,
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
  tcp_fastclose: ({ pen }, args) => {
    const mode = args[0];
    if (mode === undefined) {
      throw new CommandError('tcp_fastclose: no argument', { reply: 'do_cmd: ignoring tcp_fastclose without argument\n' });
    }
    pen.settings.tcpFastclose = mode === 'both' || mode === 'up' || mode === 'down' ? mode : 'off';
    return '';
  },
  write: io.write,
} satisfies Record<CommandName, Handler>;
