// THE command table: one handler per spec in shared/commands.ts (a spec without a handler, or a
// handler without a spec, fails the compile). The settings that only store a value are made from
// their rows (settings.ts); servers, clients, connections and ACLs are in commands-state.ts; files,
// sockets and TLS in commands-io.ts.
import { CommandError, refuse } from './errors.ts';
import { COMMANDS, type CommandName } from '../../shared/commands.ts';
import { settingEntries, type TableCommand } from './settings.ts';
import { asHandler, wordsEntry, type Entry, type Handler } from './types.ts';
import * as acls from './commands-acl.ts';
import * as io from './commands-io.ts';
import * as state from './commands-state.ts';

const dsr: Handler = () => {
  throw refuse('Direct Server Return (dsr_if, dsr_ip) needs raw packet sockets, which this pen does not have', 'PEN_ERR_UNSUPPORTED');
};

/** The commands that take their arguments as pen's words, with pen's reply as their outcome. */
const WORD_HANDLERS = {
  close: state.close,
  connection: state.connection,
  control: ({ pen }) => `${pen.settings.control ?? '(null)'}\n`,
  dsr_if: dsr,
  dsr_ip: dsr,
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
  servers: state.servers,
  socket: state.socket,
  source: io.source,
  status: io.status,
  write: io.write,
} satisfies Record<Exclude<CommandName, TableCommand | 'server' | 'acl' | 'no acl'>, Handler>;

/**
 * Commands whose bare form only reports: with words they set something, without them nothing.
 * Every other admin command changes state whenever it succeeds; read commands never do.
 */
const REPORTS_WHEN_BARE = new Set<string>(['geoip', 'health', 'listen', 'log', 'server']);

const SCOPE = new Map(COMMANDS.map((c) => [c.name, c.scope]));

function changesFor(name: string): (words: readonly string[]) => boolean {
  if (SCOPE.get(name) === 'read') return () => false;
  return REPORTS_WHEN_BARE.has(name) ? (words) => words.length > 0 : () => true;
}

/** THE command table: an entry (types.ts) per spec of shared/commands.ts. */
export const ENTRIES = {
  ...settingEntries(),
  server: state.server,
  acl: acls.acl,
  'no acl': acls.noAcl,
  ...Object.fromEntries(
    Object.entries(WORD_HANDLERS).map(([name, h]) => [name, wordsEntry(h, changesFor(name))]),
  ) as unknown as Record<keyof typeof WORD_HANDLERS, Entry>,
} satisfies Record<CommandName, Entry>;

/** Every command as pen's words in, pen's reply out. */
export const HANDLERS = Object.fromEntries(
  Object.entries(ENTRIES).map(([name, e]) => [name, asHandler(e as Entry)]),
) as Record<CommandName, Handler>;
