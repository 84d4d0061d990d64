// Builds pen.1 and penctl.1 from the hand-written pages beside this file and the tables the
// programs themselves use: the flag table (server/cli/flags.ts, also `pen --help`) fills @OPTIONS@,
// the command specs (shared/commands.ts, also the control port and REST) fill @COMMANDS@.
// `npm run build:man` writes them to dist/man/; the package ships them from there.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, type CommandSpec } from '../shared/commands.ts';
import { FLAGS, type Flag, type FlagStatus } from '../server/cli/flags.ts';
import { VERSION } from '../server/package.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));

export const FLAG_STATUS_TEXT: Record<FlagStatus, string> = {
  works: 'works',
  'no effect': 'accepted without effect',
  refused: 'refused',
  extension: 'extension (not in C pen)',
};

const COMMAND_STATUS_TEXT: Record<CommandSpec['support'], string> = {
  yes: 'works',
  'no-op': 'accepted without effect',
  refused: 'refused (an error line)',
};

/**
 * Text for roff: backslashes escaped, option dashes as minus signs, characters past ASCII as
 * groff's \[uXXXX] (the help texts have '…' and '×'), no line starting a request.
 */
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/[^\p{ASCII}]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`)
    .replace(/(^|[\s("/[|])(--?)(?=[A-Za-z])/g, (_m, before: string, dashes: string) => before + dashes.replace(/-/g, '\\-'))
    .replace(/`([^`]*)`/g, '\\fB$1\\fR')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function optionEntry(f: Flag): string {
  const head = f.arg ? `.BI "${roff(f.flag)} " ${roff(f.arg).replace(/ /g, '\\ ')}` : `.B ${roff(f.flag)}`;
  const body = [sentence(f.what), f.note ? sentence(f.note) : '', `Status: ${FLAG_STATUS_TEXT[f.status]}.`].filter(Boolean).join(' ');
  return `.TP\n${head}\n${roff(body)}`;
}

function commandEntry(c: CommandSpec): string {
  const head = c.grammar ? `.BI "${roff(c.name)} " "${roff(c.grammar)}"` : `.B ${roff(c.name)}`;
  const body = [sentence(c.summary), c.note ? sentence(c.note) : '', `Scope: ${c.scope}. Status: ${COMMAND_STATUS_TEXT[c.support]}.`]
    .filter(Boolean).join(' ');
  return `.TP\n${head}\n${roff(body)}`;
}

export function renderOptions(flags: readonly Flag[] = FLAGS): string {
  return flags.map(optionEntry).join('\n');
}

export function renderCommands(commands: readonly CommandSpec[] = COMMANDS): string {
  return commands.map(commandEntry).join('\n');
}

export function renderPage(name: 'pen.1' | 'penctl.1'): string {
  return readFileSync(join(HERE, `${name}.in`), 'utf8')
    .replace('@OPTIONS@', renderOptions())
    .replace('@COMMANDS@', renderCommands())
    .replaceAll('@VERSION@', VERSION);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? join(HERE, '..', 'dist', 'man');
  mkdirSync(out, { recursive: true });
  for (const name of ['pen.1', 'penctl.1'] as const) writeFileSync(join(out, name), renderPage(name));
}
