// What every command module shares: the context a command runs in, and the shape of a command
// entry. A leaf: it imports only types, so the command modules and the registry need not import
// each other for them.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Balancer } from '../core/balancer.ts';

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

/** A command as pen's words in, pen's exact reply text out. */
export type Handler = (ctx: CommandContext, args: string[]) => string | Promise<string>;

/**
 * What a command did. `changed`: it set something (the `config` event and the admin log follow
 * it; a report does not). The rest is the command's own data, which REST answers with as JSON.
 */
export interface Outcome {
  changed: boolean;
  [field: string]: unknown;
}

/**
 * One command: `parse` turns pen's words into typed arguments (refusing, with pen's reply, what pen
 * refuses while reading them), `apply` checks everything and only then changes anything, `reply`
 * is pen's text for the outcome. REST validates its body with `schema` and calls `apply` itself.
 */
export interface Entry<S extends TSchema = TSchema, O extends Outcome = Outcome> {
  readonly schema: S;
  parse(words: string[]): Static<S>;
  apply(ctx: CommandContext, args: Static<S>): O | Promise<O>;
  reply(outcome: O): string;
}

/** An entry's arguments when it takes them as pen's words (a file, an address, a check). */
export const WordsSchema = Type.Object({ words: Type.Array(Type.String()) });

export interface TextOutcome extends Outcome {
  reply: string;
}

/**
 * An entry for a command whose words are its arguments: `changes` says, from the words, whether it
 * sets anything (a report without them does not).
 */
export function wordsEntry(handler: Handler, changes: (words: readonly string[]) => boolean): Entry<typeof WordsSchema, TextOutcome> {
  return {
    schema: WordsSchema,
    parse: (words) => ({ words }),
    apply: async (ctx, { words }) => {
      const reply = await handler(ctx, words);
      return { changed: changes(words), reply };
    },
    reply: (o) => o.reply,
  };
}

/** pen's words in, pen's reply out, through an entry: what the penctl port, files and -O run. */
export function asHandler(entry: Entry): Handler {
  return async (ctx, words) => entry.reply(await entry.apply(ctx, entry.parse(words)));
}
