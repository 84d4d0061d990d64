// The command specs: name, grammar, scope and summary of every penctl command. Handlers live in
// server/control/commands.ts; the penctl port, -o/-O, -F, HUP, REST and the dashboard all go
// through them. A setting's commands are made from its row of shared/settings.ts (its help, kind
// and support); the others are written below. No Node APIs here: the dashboard imports this file.
import { SETTINGS, type Kind, type SettingRow, type TableCommand } from './settings.ts';

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

/** The commands that are not a setting's, and the settings whose command is an entry of its own (log, listen, …). */
const LIST = [
  spec('acl', 'N permit|deny ADDR [MASK] | N permit|deny IPV6[/LEN] | N permit|deny country CC', 'admin',
    'append an entry to access list N (0-9)', 'yes', '`country` needs a GeoIP database (`geoip FILE`, or /usr/share/GeoIP/GeoLite2-Country.mmdb if it exists); without one: an error line'),
  spec('no acl', 'N', 'admin', 'empty access list N', 'yes', 'Without N: an error line (C pen crashes)'),
  spec('close', '[N]', 'admin', 'forcibly close connection N'),
  spec('connection', '[N]', 'read', 'show connection slot N', 'yes', 'downfd/upfd are socket ids, not file descriptors'),
  spec('control', '', 'read', 'report the control port address'),
  spec('dsr_if', 'IF', 'admin', 'Direct Server Return interface', 'refused', 'Needs raw packet sockets, which Node does not offer'),
  spec('dsr_ip', 'IP', 'admin', 'Direct Server Return address', 'refused', 'Needs raw packet sockets, which Node does not offer'),
  spec('exit', '', 'admin', 'stop pen (needs -X)'),
  spec('geoip', '[FILE]', 'admin', 'report or open the GeoIP database (.mmdb) used by `country` ACL entries', 'yes',
    'Our extension: pen uses the database it was compiled with. Without a file, /usr/share/GeoIP/GeoLite2-Country.mmdb is used if it exists; a file that does not open gets an error line and nothing changes'),
  spec('no geoip', '', 'admin', 'forget the GeoIP file (the default database applies again if it exists)', 'yes', 'Our extension'),
  spec('health', '[off | tcp | http PATH [STATUS] | dns NAME] [interval SECS] [timeout SECS] [rise N] [fall N]', 'admin',
    'report or set the active health check every server gets (defaults: interval 5, timeout 2, rise 2, fall 3)', 'yes',
    'Our extension: C pen has no active checks and ignores the line. A server fails `fall` checks in a row to go down and passes `rise` to come back; down servers are skipped as blacklisted ones are'),
  spec('include', 'FILE', 'admin', 'run the commands in FILE (replies to stdout)'),
  spec('listen', '[ADDR]', 'admin', 'report the listen address, or listen on a new one', 'yes', 'An address that cannot be opened gets an error line and the old listener is kept (C pen dies)'),
  spec('log', '[FILE|host:port]', 'admin', 'report or open the request log'),
  spec('no log', '', 'admin', 'close the request log'),
  spec('mode', '', 'read', 'report the selection mode flags'),
  spec('pid', '', 'read', 'report the process id'),
  spec('recent', '[SECS]', 'read', 'clients seen in the last SECS seconds (default 300)'),
  spec('server', 'N [acl A] [address H] [port P] [max M] [hard H] [blacklist T] [weight W] [prio P] | N health CHECK|default | N drain on|off', 'admin',
    'create or change server slot N', 'yes',
    'Our extensions: `server N health ...` takes the arguments of `health` for this server alone (`default`: back to `health`); `server N drain on` takes it out of every new pick, returning clients included, while its open connections carry on'),
  spec('servers', '', 'read', 'list the servers with their counters'),
  spec('socket', '[FD]', 'read', 'which connection a socket belongs to', 'yes', 'FD is a socket id as shown by `connection`'),
  spec('source', 'IP', 'admin', 'bind backend sockets to IP', 'yes', 'Without IP: an error line (C pen crashes)'),
  spec('status', '', 'read', "pen's HTML status page", 'yes', 'Rendered without rewriting the -w file, which pen rewrites first (a read changes nothing here); the file is written on SIGUSR1'),
  spec('write', '[FILE]', 'admin', 'save the configuration to FILE or the -F file', 'yes',
    "Server lines also carry weight/prio when they are set outside weight/prio mode, and settings C pen does not save are appended when they differ from the defaults"),
] as const;

/** A setting command's grammar when its row does not give one. */
const GRAMMAR: { readonly [T in Kind['type']]: (k: Extract<Kind, { type: T }>) => string } = {
  int: () => '[N]',
  bool: () => '',
  text: () => '[FILE]',
  enum: (k) => k.values.join('|'),
  list: (k) => k.values.join('|'),
};

/** The specs a `table` row makes: `NAME` (and `no NAME` for a switch or a file), or one per value. */
export function settingSpecs(row: SettingRow): CommandSpec[] {
  const h = row.help;
  if (!h) throw new Error(`${row.name}: a row whose command is made from the table needs its help`);
  const support = row.support;
  if ('each' in h) {
    if (row.kind.type !== 'enum' || !row.kind.each) throw new Error(`${row.name}: help for each value of a choice that is not`);
    return row.kind.values.map((v) => {
      const one = h.each[v];
      if (!one) throw new Error(`${row.name}: no help for ${v}`);
      return spec(v, '', 'admin', one.summary, support, one.note);
    });
  }
  const grammar = h.grammar ?? (GRAMMAR[row.kind.type] as (k: Kind) => string)(row.kind);
  const negatable = row.kind.type === 'bool' || (row.kind.type === 'text' && row.kind.nullable);
  if (negatable !== (h.no !== undefined)) throw new Error(`${row.name}: help for \`no ${row.name}\` ${negatable ? 'missing' : 'for no command'}`);
  return [
    spec(row.name, grammar, 'admin', h.summary, support, h.note),
    ...(h.no !== undefined ? [spec(`no ${row.name}`, '', 'admin', h.no, support)] : []),
  ];
}

/** Where a command is listed: by its name without `no`, a value's command (`poll`) under its setting. */
function sortKey(c: CommandSpec, of: ReadonlyMap<string, string>): string {
  const name = c.name.replace(/^no /, '');
  return of.get(name) ?? name;
}

/** Every spec, in order of name (`no X` after X): the written ones and those the rows make. */
export function commandSpecs(rows: readonly SettingRow[] = SETTINGS): CommandSpec[] {
  const made = rows.filter((r) => r.command === 'table').map((r) => ({ row: r, specs: settingSpecs(r) }));
  const of = new Map(made.flatMap(({ row, specs }) => specs.map((c): [string, string] => [c.name, row.name])));
  const all: CommandSpec[] = [...LIST, ...made.flatMap((m) => m.specs)];
  const key = new Map(all.map((c) => [c, sortKey(c, of)]));
  // stable: X before `no X`, and a row's values in the row's order
  return all.sort((a, b) => {
    const ka = key.get(a) as string;
    const kb = key.get(b) as string;
    if (ka !== kb) return ka < kb ? -1 : 1;
    return Number(a.name.startsWith('no ')) - Number(b.name.startsWith('no '));
  });
}

export type CommandName = (typeof LIST)[number]['name'] | TableCommand;

export const COMMANDS: readonly CommandSpec[] = commandSpecs();

/** What a token line selects: "no X" commands are looked up by both words. */
export function commandName(words: readonly string[]): string {
  return words[0] === 'no' && words.length > 1 ? `no ${words[1]}` : words[0] ?? '';
}
