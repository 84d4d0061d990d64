// The one command interpreter. Every adapter (penctl port, -o/-O, -F and include files, HUP
// reload, REST, dashboard) calls execute(); none of them changes settings any other way.
import { COMMANDS, commandName, type CommandSpec } from '../../shared/commands.ts';
import { debug } from '../core/diag.ts';
import { publish } from '../core/events.ts';
import { PenError, type PenErrorCode } from '../core/errors.ts';
import { FileError } from '../core/files.ts';
import { HANDLERS } from './commands.ts';
import { includeFile } from './config.ts';
import type { CommandContext, CommandResult } from './context.ts';
import { CommandError } from './errors.ts';

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

export function findSpec(name: string): CommandSpec | undefined {
  return SPECS.get(name);
}

/** An admin command with an optional argument only reports when called without one. */
function changes(spec: CommandSpec, args: string[]): boolean {
  return spec.scope === 'admin' && (args.length > 0 || !spec.grammar.startsWith('['));
}

/** Run one penctl command line and return pen's reply. Never throws for bad input. */
export async function execute(ctx: CommandContext, line: string): Promise<CommandResult> {
  const words = tokenize(line);
  if (words.length === 0 || words[0].startsWith('#')) return { reply: '', spec: null };
  const name = commandName(words);
  const spec = SPECS.get(name);
  if (!spec) {
    // pen: `no` + an unknown word is silently ignored
    if (words[0] === 'no') return { reply: '', spec: null };
    const reply = ctx.fileLine ? `${ctx.fileLine}: not a command\n` : `do_cmd: ignoring command starting with '${words[0]}'\n`;
    return { reply, spec: null, error: { code: 'PEN_ERR_COMMAND', message: reply.trimEnd() } };
  }
  const args = words.slice(name.split(' ').length);
  try {
    const reply = await HANDLERS[spec.name as keyof typeof HANDLERS](ctx, args, execute);
    if (changes(spec, args)) publish(ctx.pen, 'config', words.join(' '));
    return { reply, spec };
  } catch (err) {
    if (ctx.fileLine) return fileLineFailure(ctx.fileLine, spec, err);
    if (err instanceof CommandError) {
      if (err.log) debug(err.message);
      return { reply: err.reply, spec, error: { code: err.code, message: err.message } };
    }
    // anything else (a name that does not resolve, a file that cannot be opened) is answered
    // with its message on one line; the process carries on
    const message = (err as Error).message;
    const code = err instanceof PenError ? err.code : 'PEN_ERR_COMMAND';
    return { reply: `${message}\n`, spec, error: { code, message } };
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
