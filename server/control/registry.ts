// The one command interpreter. The penctl port, -o/-O, -F and include files and HUP reload call
// execute(): parse → apply → reply. REST validates its body with the entry's schema and calls
// applyCommand(): the same apply. Nothing changes settings any other way.
import { COMMANDS, commandName, type CommandSpec } from '../../shared/commands.ts';
import { debug } from '../core/diag.ts';
import { publish } from '../core/events.ts';
import { PenError, type PenErrorCode } from '../core/errors.ts';
import { FileError } from '../core/files.ts';
import { ENTRIES } from './commands.ts';
import { CommandError } from './errors.ts';
import { includeFile } from './config.ts';
import type { CommandContext, CommandResult } from './context.ts';
import type { Entry } from './types.ts';

/** Split as pen does: single spaces only (tabs are not separators), first line only. */
export function tokenize(line: string): string[] {
  let text = line;
  const cr = text.indexOf('\r');
  if (cr >= 0) text = text.slice(0, cr);
  const lf = text.indexOf('\n');
  if (lf >= 0) text = text.slice(0, lf);
  return text.split(' ').filter((w) => w !== '');
}

const SPECS = new Map(COMMANDS.map((c) => [c.name, c]));

/** A command's spec by its name (`blacklist`, `no http`); a line goes through lookup(). */
export function findSpec(name: string): CommandSpec | undefined {
  return SPECS.get(name);
}

/** A penctl line read as a command: its spec and entry, and the words after its name. */
export interface Lookup { spec: CommandSpec; entry: Entry; args: string[] }

/**
 * What a penctl line runs; null for an empty line, a comment or no command. execute() and the
 * scope check of POST /penctl both read the line through this, so they cannot disagree on it.
 */
export function lookup(line: string): Lookup | null {
  return lookupWords(tokenize(line));
}

function lookupWords(words: string[]): Lookup | null {
  if (words[0] === undefined || words[0].startsWith('#')) return null;
  const spec = SPECS.get(commandName(words));
  if (!spec) return null;
  const entry = ENTRIES[spec.name as keyof typeof ENTRIES] as Entry;
  return { spec, entry, args: words.slice(spec.name.split(' ').length) };
}

/** The entry of a command by its name (`blacklist`, `no http`). */
export function entryOf(name: string): Entry | undefined {
  return SPECS.has(name) ? ENTRIES[name as keyof typeof ENTRIES] as Entry : undefined;
}

/**
 * Apply a command to arguments already typed (REST, after the entry's schema): the same `apply`
 * the penctl port runs, and the same result, with the outcome. A change is announced as the port
 * announces it, as `line`. Never throws for bad input.
 */
export async function applyCommand(
  ctx: CommandContext, name: string, args: unknown, line = name,
): Promise<CommandResult> {
  const spec = SPECS.get(name);
  if (!spec) throw new Error(`no command ${name}`);
  const entry = ENTRIES[spec.name as keyof typeof ENTRIES] as Entry;
  try {
    const outcome = await entry.apply(ctx, args, execute);
    if (outcome.changed) await announce(ctx, line);
    return { reply: entry.reply(outcome), spec, outcome };
  } catch (err) {
    return failure(ctx, spec, err);
  }
}

/**
 * A command changed something: say so as `line`, and wait until a listener that the change moves
 * to the other data path listens again, so that the reply means the change is in force.
 */
async function announce(ctx: CommandContext, line: string): Promise<void> {
  publish(ctx.pen, 'config', line);
  await ctx.pen.settled();
}

/** Run one penctl command line and return pen's reply. Never throws for bad input. */
export async function execute(ctx: CommandContext, line: string): Promise<CommandResult> {
  const words = tokenize(line);
  const found = lookupWords(words);
  if (found) return parseApplyReply(ctx, found.spec, found.entry, found.args, words.join(' '));
  if (words[0] === undefined || words[0].startsWith('#')) return { reply: '', spec: null };
  // pen: `no` + an unknown word is silently ignored
  if (words[0] === 'no') return { reply: '', spec: null };
  const reply = ctx.fileLine ? `${ctx.fileLine}: not a command\n` : `do_cmd: ignoring command starting with '${words[0]}'\n`;
  return { reply, spec: null, error: { code: 'PEN_ERR_COMMAND', message: reply.trimEnd() } };
}

/**
 * Run a command given by its name and pen's words, as a line of them would run: a setting's
 * command-line flag at start-up (`-b 30` is `blacklist` with ['30']).
 */
export async function runWords(ctx: CommandContext, name: string, words: readonly string[]): Promise<CommandResult> {
  const spec = SPECS.get(name);
  if (!spec) throw new Error(`no command ${name}`);
  return parseApplyReply(ctx, spec, ENTRIES[spec.name as keyof typeof ENTRIES] as Entry, [...words], [name, ...words].join(' '));
}

async function parseApplyReply(
  ctx: CommandContext, spec: CommandSpec, entry: Entry, words: string[], line: string,
): Promise<CommandResult> {
  try {
    const outcome = await entry.apply(ctx, entry.parse(words), execute);
    if (outcome.changed) await announce(ctx, line);
    return { reply: entry.reply(outcome), spec, outcome };
  } catch (err) {
    return failure(ctx, spec, err);
  }
}

/**
 * -F at start-up and on SIGHUP: a file that cannot be run is reported through debug(), as pen does.
 * Its replies are pen's, byte for byte: the operator named this file on the command line and reads
 * pen's stdout. Only `include` can name a file on behalf of a caller, so only it hides the lines
 * (files that this one includes are run by `include` and hide theirs).
 */
export async function runConfigFile(ctx: CommandContext, path: string): Promise<string> {
  try {
    return await includeFile(ctx, path, execute, true);
  } catch (err) {
    debug(`Can't read config file ${(err as Error).message}`);
    return '';
  }
}

/** What a refused command answers: pen's reply (or ours, one line) and the error REST maps to a status. */
function failure(ctx: CommandContext, spec: CommandSpec, err: unknown): CommandResult {
  if (ctx.fileLine) return fileLineFailure(ctx.fileLine, spec, err);
  if (err instanceof CommandError) {
    if (err.log) debug(err.message);
    const error = { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
    return { reply: err.reply, spec, error };
  }
  // anything else (a name that does not resolve, a file that cannot be opened) is answered
  // with its message on one line; the process carries on
  const message = (err as Error).message;
  const code = err instanceof PenError ? err.code : 'PEN_ERR_COMMAND';
  return { reply: `${message}\n`, spec, error: { code, message } };
}

/** Said of a failed line of a file instead of the handler's message, which may quote the line. */
const REASONS: Record<PenErrorCode, string> = {
  PEN_ERR_ARGUMENT: 'bad argument', PEN_ERR_ADDRESS: 'bad or unresolvable address', PEN_ERR_COMMAND: 'refused',
  PEN_ERR_NOT_ENABLED: 'not enabled', PEN_ERR_UNSUPPORTED: 'not supported here', PEN_ERR_IO: 'cannot open a file or socket',
};

function fileLineFailure(where: string, spec: CommandSpec, err: unknown): CommandResult {
  const code = err instanceof PenError ? err.code : 'PEN_ERR_COMMAND';
  const cause = err instanceof FileError ? err : err instanceof Error ? err.cause : undefined;
  const message = `${where}: ${spec.name}: ${cause instanceof FileError ? cause.reason : REASONS[code]}`;
  // a failure pen only reports through debug() stays silent here too
  const silent = err instanceof CommandError && err.reply === '';
  if (silent || (err instanceof CommandError && err.log)) debug(message);
  return { reply: silent ? '' : `${message}\n`, spec, error: { code, message } };
}
