// pen's command line: getopt syntax (grouped flags, attached values, repeats, options after
// positionals) through node:util.parseArgs, validated before anything starts.
import { parseArgs } from 'node:util';
import { parseBackend, parseListen } from '../core/address.ts';
import { PenError } from '../core/errors.ts';
import type { Settings } from '../core/settings.ts';
import { checkNumber, flagCommand, flagRow, readKey, writeKey, type SettingRow } from '../../shared/settings.ts';
import { FLAGS } from './flags.ts';

/** pen's one-letter flags, from the flag table: those with an argument take a value, the others are switches. */
const SHORT = FLAGS.filter((f) => /^-[A-Za-z0-9]$/.test(f.flag));
const VALUE_OPTIONS = SHORT.filter((f) => f.arg !== undefined).map((f) => f.flag.slice(1));
const FLAG_OPTIONS = SHORT.filter((f) => f.arg === undefined).map((f) => f.flag.slice(1));

export const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
  admin: { type: 'string' },
  'admin-token-file': { type: 'string' },
  'admin-host': { type: 'string', multiple: true },
  'admin-cors': { type: 'string', multiple: true },
  'admin-file-root': { type: 'string' },
  'admin-stream-max': { type: 'string' },
  drain: { type: 'string' },
  threads: { type: 'string' },
  'health-file': { type: 'string' },
  peer: { type: 'string' },
  'peer-token-file': { type: 'string' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
};
for (const c of VALUE_OPTIONS) options[c] = { type: 'string', short: c, multiple: true };
for (const c of FLAG_OPTIONS) if (!(c in options)) options[c] = { type: 'boolean', short: c, multiple: true };

/**
 * One step of start-up, in command-line order (server/cli/steps.ts runs them): a setting's flag run
 * as its row's command through the registry (`-b 30` is `blacklist` with ['30']; `words` is given
 * the settings as they stand at its turn, since -d is one more than the level before it), a
 * setting stored as it is (a row with no command, or one whose `stores` says why), a penctl
 * command from -o/-O, or a message.
 */
export type Step =
  | { kind: 'flag'; flag: string; command: string; words: (s: Settings) => string[] }
  | { kind: 'set'; setting: string; value: unknown; apply: (s: Settings) => void }
  | { kind: 'command'; line: string }
  | { kind: 'message'; text: string };

export interface ParsedArgs {
  help: boolean;
  version: boolean;
  windowsOnly: boolean;
  steps: Step[];
  listen: string | null;
  servers: string[];
  admin: string | null;
  adminTokenFile: string | null;
  /** --admin-host, repeatable: more names the admin server answers to */
  adminHosts: string[];
  /** --admin-cors, repeatable: origins that may call the admin API from another page */
  adminCors: string[];
  /** --admin-file-root: where REST may name files (default: the -F file's directory) */
  adminFileRoot: string | null;
  /** --admin-stream-max: WebSocket subscribers at once; null = the default */
  adminStreamMax: number | null;
  /** --drain: seconds of forwarding between SIGTERM and closing (0: close at once, as pen does) */
  drain: number;
  /** --health-file: 0 while serving, 1 once stopping (keepalived's track_file) */
  healthFile: string | null;
  /** --peer: the admin API of the pen this one follows */
  peer: string | null;
  peerTokenFile: string | null;
  /** --threads: forwarding threads of the native data path (1: Node's loop only) */
  threads: number;
}

export const MAX_THREADS = 64;   /* the addon's layout.maxThreads */

function threadCount(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_THREADS)) throw new PenError('PEN_ERR_ARGUMENT', `pen: --threads: expected a whole number from 1 to ${MAX_THREADS}, got '${value}'`);
  return n;
}

export const MAX_DRAIN_SECONDS = 60;

function drainSeconds(value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(n <= MAX_DRAIN_SECONDS)) throw new PenError('PEN_ERR_ARGUMENT', `pen: --drain: expected seconds from 0 to ${MAX_DRAIN_SECONDS}, got '${value}'`);
  return n;
}

/** --peer: an http(s) URL with no path beyond /, no query and no credentials (tokens go in a file). */
export function peerUrl(value: string): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    /* refused below */
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.pathname !== '/') {
    throw new PenError('PEN_ERR_ARGUMENT', `pen: --peer: expected the peer's admin URL such as http://198.18.0.2:9000, got '${value}'`);
  }
  return url.origin;
}

function int(flag: string, value: string): number {
  if (!/^-?\d+$/.test(value)) throw new PenError('PEN_ERR_ARGUMENT', `pen: -${flag}: '${value}' is not a number`);
  return Number(value);
}

/** What the value of these flags must parse as, beyond their rows' kind. */
const CHECKS: Record<string, (v: string) => unknown> = { '-B': parseBackend, '-C': parseListen, '-e': parseBackend };

/**
 * The step a flag that sets a row makes. Its value is checked here, before anything starts, under
 * the row's range rule (the command's rule: past the bound pen stops with one line; a value the
 * command would ignore is an error here too). Null: the value changes nothing.
 */
function settingStep(row: SettingRow, flag: string, v: string | undefined, messages: Step[]): Step | null {
  const { kind } = row;
  const command = flagCommand(row);
  if (kind.type === 'int' && v === undefined) {
    const more = (s: Settings) => (readKey(s, row.key) as number) + 1;
    if (command) return { kind: 'flag', flag, command, words: (s) => [String(more(s))] };
    return { kind: 'set', setting: row.name, value: '+1', apply: (s) => writeKey(s, row.key, more(s)) };
  }
  let value: unknown = v;
  if (kind.type === 'int') {
    const n = int(flag.slice(1), v as string);
    const checked = checkNumber(row, n, v as string, 'flag');
    if (!checked.ok) throw new PenError('PEN_ERR_ARGUMENT', `pen: ${flag}: ${checked.reason}`);
    if (checked.bumped) messages.push({ kind: 'message', text: checked.bumped });
    if (checked.value === null) return null;
    value = checked.value;
  } else if (kind.type === 'bool') {
    value = true;
  } else if (kind.type === 'enum') {
    value = row.flag?.sets ?? v;
    // a choice with a word for what it does not know takes any word, as its command does
    if (kind.other === undefined && !kind.values.includes(value as string)) throw new PenError('PEN_ERR_ARGUMENT', `protocol version ${v} not known`);
  } else {
    CHECKS[flag]?.(v as string);
  }
  // the command is given the flag's own word (its rule gives the value checked above); a value's
  // own command (`-P` is `poll`) takes none
  const own = kind.type === 'enum' && kind.each;
  if (command) return { kind: 'flag', flag, command, words: () => (v === undefined || own ? [] : [v]) };
  return { kind: 'set', setting: row.name, value, apply: (s) => writeKey(s, row.key, value) };
}

const OBSOLETE = {
  D: 'Pen 0.26.0 removed the delayed forward feature,\nmaking the -D option obsolete',
  Q: 'Since Pen 0.26.0, kqueue is already the default on supported systems,\nmaking the -Q option obsolete',
  S: 'As of 0.28.1 the server table is expanded dynamically,\nmaking the -S option obsolete',
  n: 'Pen 0.26.0 and up uses only nonblocking sockets,\nmaking the -n option obsolete',
};

export function parseCommandLine(argv: string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    const m = /'([^']+)'/.exec((err as Error).message);
    const what = m ? m[1] : (err as Error).message;
    const code = (err as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new PenError('PEN_ERR_ARGUMENT', `pen: option ${what} requires an argument (see pen --help)`);
    }
    throw new PenError('PEN_ERR_ARGUMENT', `pen: unknown option '${what}' (see pen --help)`);
  }
  const out: ParsedArgs = {
    help: false, version: false, windowsOnly: false, steps: [], listen: null, servers: [], admin: null,
    adminTokenFile: null, adminHosts: [], adminCors: [], adminFileRoot: null, adminStreamMax: null, drain: 0,
    healthFile: null, peer: null, peerTokenFile: null, threads: 1,
  };
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const v = t.value ?? '';
    const row = t.name.length === 1 ? flagRow(`-${t.name}`) : undefined;
    if (row) {
      const messages: Step[] = [];
      const step = settingStep(row, `-${t.name}`, t.value, messages);
      out.steps.push(...messages, ...(step ? [step] : []));
      continue;
    }
    switch (t.name) {
      case 'help': out.help = true; break;
      case 'version': out.version = true; break;
      case 'admin': out.admin = v; break;
      case 'admin-token-file': out.adminTokenFile = v; break;
      case 'admin-host': out.adminHosts.push(v); break;
      case 'admin-cors': out.adminCors.push(v); break;
      case 'admin-file-root': out.adminFileRoot = v; break;
      case 'admin-stream-max': {
        if (!/^\d+$/.test(v) || Number(v) < 1) throw new PenError('PEN_ERR_ARGUMENT', `pen: --admin-stream-max: '${v}' must be a number of at least 1`);
        out.adminStreamMax = Number(v);
        break;
      }
      case 'drain': out.drain = drainSeconds(v); break;
      case 'threads': out.threads = threadCount(v); break;
      case 'health-file': out.healthFile = v; break;
      case 'peer': out.peer = peerUrl(v); break;
      case 'peer-token-file': out.peerTokenFile = v; break;
      case 'O': case 'o': out.steps.push({ kind: 'command', line: v }); break;
      case 'S': int('S', v); out.steps.push({ kind: 'message', text: OBSOLETE.S }); break;
      case 'i': out.windowsOnly = true; break;
      case 'D': case 'Q': case 'n': out.steps.push({ kind: 'message', text: OBSOLETE[t.name] }); break;
      case 'N': throw new PenError('PEN_ERR_ARGUMENT', "pen: -N is listed in pen's usage but was never implemented");
      default: throw new PenError('PEN_ERR_ARGUMENT', `pen: unknown option '-${t.name}'`);
    }
  }
  const [listen, ...servers] = parsed.positionals;
  const udp = parsed.values.U !== undefined;
  if (listen !== undefined) {
    parseListen(listen, udp ? 'udp' : 'tcp');
    out.listen = listen;
  }
  for (const s of servers) parseBackend(s, udp ? 'udp' : 'tcp');
  out.servers = servers;
  return out;
}
