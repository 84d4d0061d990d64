// The shape of a command entry (the context it runs in is context.ts's). A leaf: the command
// modules and the registry need not import each other for it.
import type { Static, TSchema } from '@sinclair/typebox';
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

/** pen's words in, pen's reply out, through an entry: what the penctl port, files and -O run. */
export function asHandler(entry: Entry): Handler {
  return async (ctx, words, run) => entry.reply(await entry.apply(ctx, entry.parse(words), run));
}
