// The one command interpreter. Every adapter (penctl port, -o/-O, -F and include files, HUP
// reload, REST, dashboard) calls execute(); none of them changes settings any other way.
import { COMMANDS, commandName, type CommandSpec } from '../../shared/commands.ts';
import type { Balancer } from '../core/balancer.ts';
import { HANDLERS } from './commands.ts';

export type Origin = 'cli' | 'file' | 'port' | 'rest';

/** Process-level hooks the commands need and the core does not own. */
export interface Runtime {
  /** `exit`: leave cleanly (only offered with -X) */
  exit(): void;
  /** the command line pen was started with, for `write`'s comment line */
  argv: readonly string[];
}

export interface CommandContext {
  pen: Balancer;
  runtime: Runtime;
  origin: Origin;
}

/** A handler gets the words after the command name and returns pen's exact reply text. */
export type Handler = (ctx: CommandContext, args: string[]) => string | Promise<string>;

export interface CommandResult {
  reply: string;
  spec: CommandSpec | null; // null: unknown, comment or empty line
}

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

/** Run one penctl command line and return pen's reply. Never throws for bad input. */
export async function execute(ctx: CommandContext, line: string): Promise<CommandResult> {
  const words = tokenize(line);
  if (words.length === 0 || words[0].startsWith('#')) return { reply: '', spec: null };
  const name = commandName(words);
  const spec = SPECS.get(name);
  const handler = HANDLERS[name];
  if (!spec || !handler) {
    // pen: `no` + an unknown word is silently ignored
    if (words[0] === 'no') return { reply: '', spec: null };
    return { reply: `do_cmd: ignoring command starting with '${words[0]}'\n`, spec: null };
  }
  const args = words.slice(name.split(' ').length);
  try {
    const reply = await handler(ctx, args);
    if (spec.scope === 'admin') ctx.pen.emitEvent({ type: 'config', message: words.join(' ') });
    return { reply, spec };
  } catch (err) {
    return { reply: `${(err as Error).message}\n`, spec };
  }
}
