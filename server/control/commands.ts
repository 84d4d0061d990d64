// THE command table: one entry per spec in shared/commands.ts (a spec without an entry, or an
// entry without a spec, fails the compile). The settings that only store a value are made from
// their rows (settings.ts); servers, connections and health in commands-state.ts; ACLs in
// commands-acl.ts; files, sockets and names in commands-io.ts; the reports in commands-read.ts.
import { Type } from '@sinclair/typebox';
import { CommandError, refuse } from './errors.ts';
import type { CommandName } from '../../shared/commands.ts';
import { settingEntries } from './settings.ts';
import { asHandler, type Entry, type Handler, type Outcome } from './types.ts';
import * as acls from './commands-acl.ts';
import * as io from './commands-io.ts';
import * as read from './commands-read.ts';
import * as state from './commands-state.ts';

const DsrArgs = Type.Object({ value: Type.Optional(Type.String()) });

/** `dsr_if`, `dsr_ip`: refused whatever they are given. */
const dsr: Entry<typeof DsrArgs, Outcome> = {
  schema: DsrArgs,
  parse: (words) => (words[0] === undefined ? {} : { value: words[0] }),
  apply: () => {
    throw refuse('Direct Server Return (dsr_if, dsr_ip) needs raw packet sockets, which this pen does not have', 'PEN_ERR_UNSUPPORTED');
  },
  reply: () => '',
};

/** `exit`: leave cleanly, only with -X. */
const exit: Entry<typeof read.NoArgs, Outcome & { exiting: true }> = {
  schema: read.NoArgs,
  parse: () => ({}),
  apply: ({ pen, runtime }) => {
    if (!pen.settings.exitEnabled) {
      throw new CommandError('exit: not enabled (-X)', { reply: 'Exit is not enabled; restart with -X flag\n', code: 'PEN_ERR_NOT_ENABLED' });
    }
    runtime.exit();
    return { changed: true, exiting: true };
  },
  reply: () => '',
};

/** THE command table: an entry (types.ts) per spec of shared/commands.ts. */
export const ENTRIES = {
  ...settingEntries(),
  server: state.server,
  acl: acls.acl,
  'no acl': acls.noAcl,
  close: state.close,
  connection: state.connection,
  health: state.health,
  socket: state.socket,
  control: read.control,
  mode: read.mode,
  pid: read.pid,
  recent: read.recent,
  servers: read.servers,
  status: read.status,
  geoip: io.geoip,
  'no geoip': io.noGeoip,
  include: io.include,
  listen: io.listen,
  log: io.log,
  'no log': io.noLog,
  source: io.source,
  write: io.write,
  dsr_if: dsr,
  dsr_ip: dsr,
  exit,
} as const satisfies Record<CommandName, Entry>;

/** Every command as pen's words in, pen's reply out. */
export const HANDLERS = Object.fromEntries(
  Object.entries(ENTRIES).map(([name, e]) => [name, asHandler(e as Entry)]),
) as Record<CommandName, Handler>;
