// What a command runs with and what it gives back: the types the interpreter (registry.ts), the
// handlers (commands*.ts) and every adapter (port, -F files, REST, the CLI) share. Types only.
import type { CommandSpec } from '../../shared/commands.ts';
import type { Balancer } from '../core/balancer.ts';
import type { PenErrorCode } from '../core/errors.ts';

export type Origin = 'cli' | 'file' | 'port' | 'rest';

/** Process-level hooks the commands need and the core does not own. */
export interface Runtime {
  /** `exit`: leave cleanly (only offered with -X) */
  exit(): void;
  /** the command line pen was started with */
  argv: readonly string[];
  /** where `include` sends its replies when the command came from the control port (default: stdout) */
  stdout?(text: string): void;
}

export interface CommandContext {
  pen: Balancer;
  runtime: Runtime;
  origin: Origin;
  /** the files being run, outermost first, when this command is a line of one (config.ts) */
  include?: IncludeChain;
  /**
   * `FILE:LINE` when this command is a line of a file: its error replies name this and never quote
   * the line, so `include /etc/shadow` cannot read the file back to the caller
   */
  fileLine?: string;
}

export interface IncludeChain {
  /** device:inode of each file in the chain (a file that is already here includes itself) */
  readonly ids: readonly string[];
  /** files opened since the outermost one, shared by the whole run */
  readonly budget: { files: number };
}

/** Run one command line: registry.ts's execute(). */
export type Run = (ctx: CommandContext, line: string) => Promise<CommandResult>;

/**
 * A handler gets the words after the command name and returns pen's exact reply text. `run` is the
 * interpreter itself, for `include`, the one command that runs commands (handed in, so the handlers
 * need not import the registry that holds them).
 */
export type Handler = (ctx: CommandContext, args: string[], run: Run) => string | Promise<string>;

/**
 * What a command did. `changed`: it set something (the `config` event and the admin log follow
 * it; a report does not). The rest is the command's own data, which REST answers with as JSON.
 */
export interface Outcome {
  changed: boolean;
  [field: string]: unknown;
}

export interface CommandResult {
  /** exactly what pen would write back (often empty) */
  reply: string;
  spec: CommandSpec | null; // null: unknown, comment or empty line
  /** what the command did, when it ran */
  outcome?: Outcome;
  /** set when the command was refused or did nothing; REST maps it to an error status */
  error?: { code: PenErrorCode; message: string; field?: string };
}
