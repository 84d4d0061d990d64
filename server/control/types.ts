// The shape of a command entry (the context it runs in is context.ts's). A leaf: the command
// modules and the registry need not import each other for it.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { CommandContext, Handler, Outcome, Run } from './context.ts';

export type { CommandContext, Handler, IncludeChain, Origin, Outcome, Run, Runtime } from './context.ts';

/**
 * One command: `parse` turns pen's words into typed arguments (refusing, with pen's reply, what pen
 * refuses while reading them), `apply` checks everything and only then changes anything, `reply`
 * is pen's text for the outcome. REST validates its body with `schema` and calls `apply` itself.
 */
export interface Entry<S extends TSchema = TSchema, O extends Outcome = Outcome> {
  readonly schema: S;
  parse(words: string[]): Static<S>;
  /** `run` is the interpreter, for `include` (handed in: the entries need not import the registry) */
  apply(ctx: CommandContext, args: Static<S>, run: Run): O | Promise<O>;
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
export function wordsEntry(
  handler: Handler, changes: (words: readonly string[]) => boolean,
): Entry<typeof WordsSchema, TextOutcome> {
  return {
    schema: WordsSchema,
    parse: (words) => ({ words }),
    apply: async (ctx, { words }, run) => {
      const reply = await handler(ctx, words, run);
      return { changed: changes(words), reply };
    },
    reply: (o) => o.reply,
  };
}

/** pen's words in, pen's reply out, through an entry: what the penctl port, files and -O run. */
export function asHandler(entry: Entry): Handler {
  return async (ctx, words, run) => entry.reply(await entry.apply(ctx, entry.parse(words), run));
}
