// pen's configuration files: -F (at start-up and on SIGHUP, registry.ts's runConfigFile) and `include`
// run a file line by line through the interpreter; `write` serialises the state back into the same command
// language. Files are read and written through core/files.ts (regular files only, size-capped, never blocking).
import { formatHealth } from '../../shared/health.ts';
import { formatAclEntry } from '../core/acl.ts';
import type { Balancer } from '../core/balancer.ts';
import { timestamp } from '../core/diag.ts';
import { FileError, readOperatorFile, writeOperatorFile } from '../core/files.ts';
import { defaultSettings } from '../core/settings.ts';
import { SETTINGS, readKey, settingRow, type SettingName, type SettingRow } from '../../shared/settings.ts';
import { quiet } from './errors.ts';
import type { CommandContext, IncludeChain, Run } from './context.ts';

/** Files may include files, but not without end: C pen recurses until it crashes. */
export const MAX_INCLUDE_DEPTH = 8;
/**
 * Files opened in one run (from -F, HUP or one `include` command). Without it a few files that
 * include each other several times (no cycle) multiply: 3 lines of 3 includes 8 deep is 6561 files.
 */
export const MAX_INCLUDED_FILES = 64;

/**
 * Run every line of `path` as a command through `run` (the interpreter); returns the replies, which pen
 * prints on stdout. A reply to a line that fails names `path:LINE`, never the line (registry.ts), unless
 * `quoteLines` asks for pen's own replies. Throws a FileError when the file cannot be run: not a regular
 * file, too large, nested too deep, or already being run.
 */
export async function includeFile(ctx: CommandContext, path: string, run: Run, quoteLines = false): Promise<string> {
  const chain: IncludeChain = ctx.include ?? { ids: [], budget: { files: 0 } };
  if (chain.ids.length >= MAX_INCLUDE_DEPTH) throw new FileError(path, `nested more than ${MAX_INCLUDE_DEPTH} deep`);
  if (++chain.budget.files > MAX_INCLUDED_FILES) throw new FileError(path, `more than ${MAX_INCLUDED_FILES} files included in one run`);
  const file = await readOperatorFile(path, 'config');
  if (chain.ids.includes(file.id)) throw new FileError(path, 'includes itself (directly or through other files)');
  const inner: IncludeChain = { ids: [...chain.ids, file.id], budget: chain.budget };
  let replies = '';
  const lines = file.data.toString('utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    const lineCtx: CommandContext = { ...ctx, origin: 'file', include: inner, fileLine: quoteLines ? undefined : `${path}:${i + 1}` };
    // pen reads with fgets into 4096 bytes: a longer line is cut, the rest read as the next one
    for (let at = 0; at < Math.max(1, line.length); at += 4095) {
      replies += (await run(lineCtx, line.slice(at, at + 4095))).reply;
    }
  }
  return replies;
}

/** The `# pen …` line: the options a fresh start needs besides the file, in pen's order. */
const COMMAND_LINE: readonly { name: SettingName; quoted?: true }[] = [
  { name: 'udp' }, { name: 'foreground' }, { name: 'exit_enabled' }, { name: 'clients_max' }, { name: 'emergency' },
  { name: 'abuse' }, { name: 'chroot', quoted: true }, { name: 'pid_file', quoted: true }, { name: 'user', quoted: true },
  { name: 'conn_max' },
];

function commandLine(pen: Balancer, file: string): string {
  const s = pen.settings;
  const d = defaultSettings();
  let line = '# pen';
  for (const { name, quoted } of COMMAND_LINE) {
    const row = settingRow(name);
    const value = readKey(s, row.key);
    const flag = row.flag?.flag ?? '';
    if (row.kind.type === 'bool') {
      if (value) line += ` ${flag}`;
    } else if (row.kind.type === 'int' ? value !== readKey(d, row.key) : value) {
      line += quoted ? ` ${flag} '${String(value)}'` : ` ${flag} ${String(value)}`;
    }
  }
  return `${line} -F '${file}' -C ${s.control ?? '(null)'} ${s.listen ?? ''}\n`;
}

/** A row's lines, by its write rule (shared/settings.ts). */
function rowLines(row: SettingRow, s: object, d: object): string[] {
  const value = readKey(s, row.key);
  switch (row.write) {
    case 'always': return [row.kind.type === 'bool' ? `${value ? '' : 'no '}${row.name}` : `${row.name} ${String(value)}`];
    case 'nullable': return [value ? `${row.name} ${String(value)}` : `no ${row.name}`];
    case 'changed': return value !== readKey(d, row.key) ? [`${row.name} ${String(value)}`] : [];
    case 'on': return value ? [row.name] : [];
    case 'set': return value ? [`${row.name} ${String(value)}`] : [];
    case 'each': return (value as string[]).map((v) => `${row.name} ${v}`);
    case 'never': return [];
  }
}

/** The tables pen writes among the settings, and the setting each comes before. */
function tableLines(pen: Balancer, before: string): string {
  let out = '';
  if (before === 'ascii') {
    pen.acls.forEach((list, n) => {
      out += `no acl ${n}\n`;
      for (const e of list) out += `${formatAclEntry(n, e)}\n`;
    });
  } else if (before === 'stubborn') {
    pen.servers.list.forEach((sv, i) => {
      const addr = sv.family === 0 ? '(unknown address family 0' : sv.address;
      out += `server ${i} acl ${sv.acl} address ${addr} port ${sv.port} max ${sv.maxc} hard ${sv.hard}`;
      // pen saves weight and prio only in their modes; we also keep values set outside them
      if (pen.settings.weight || sv.weight !== 0) out += ` weight ${sv.weight}`;
      if (pen.settings.prio || sv.prio !== 0) out += ` prio ${sv.prio}`;
      out += '\n';
    });
  }
  return out;
}

/**
 * The text `write` saves: the settings in the table's order, which is pen's for the lines pen
 * writes (the ACLs before `ascii`, the servers before `stubborn`), then the settings C pen leaves
 * out (only where they differ from the defaults, so with defaults the file is what pen writes).
 * `geoip` comes first: country entries need their database before they can be read back in.
 */
export function formatConfig(pen: Balancer, file: string, now = new Date()): string {
  const d = defaultSettings();
  let out = `# Generated by pen ${timestamp(now)}\n${commandLine(pen, file)}`;
  for (const row of SETTINGS as readonly SettingRow[]) {
    out += tableLines(pen, row.name);
    for (const line of rowLines(row, pen.settings, d)) out += `${line}\n`;
  }
  return out + healthLines(pen);
}

/**
 * Health checks and drain states (our extensions), last: C pen reading the file meets only lines
 * it ignores, after everything it reads. Written only when set, so a pen without checks writes
 * what C pen writes.
 */
function healthLines(pen: Balancer): string {
  let out = pen.healthDefault.kind !== 'off' ? `health ${formatHealth(pen.healthDefault)}\n` : '';
  pen.servers.list.forEach((sv, i) => {
    if (sv.health !== null) out += `server ${i} health ${formatHealth(sv.health)}\n`;
    if (sv.drain) out += `server ${i} drain on\n`;
  });
  return out;
}

/** The configuration as command lines, without `write`'s two comment lines: what a pen sends the pen following it. */
export function configLines(pen: Balancer): string[] {
  return formatConfig(pen, '').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** `write FILE`: to a temporary file renamed into place; failures are reported through debug(), as pen does. */
export async function writeConfig(pen: Balancer, file: string): Promise<void> {
  try {
    await writeOperatorFile(file, formatConfig(pen, file));
  } catch (err) {
    const e = err instanceof FileError ? err.for('write') : new FileError(file, (err as Error).message, 'write');
    throw Object.assign(quiet(e.message), { cause: e });
  }
}
