// Start-up, step by step in command-line order (args.ts makes the steps): a setting's flag runs its
// row's command through the registry's parse → apply, as `-b 30` is `blacklist 30`; -o/-O lines
// run as the control port runs them; the rest store their value or print their message.
import type { CommandContext } from '../control/context.ts';
import { execute, runWords } from '../control/registry.ts';
import { PenError } from '../core/errors.ts';
import type { Step } from './args.ts';

export interface StepOutput {
  /** -o/-O replies: pen's standard output */
  out(text: string): void;
  /** messages (obsolete flags, bumped values): pen's standard error */
  err(text: string): void;
}

export async function runSteps(ctx: CommandContext, steps: readonly Step[], io: StepOutput): Promise<void> {
  for (const step of steps) {
    switch (step.kind) {
      case 'set': step.apply(ctx.pen.settings); break;
      case 'message': io.err(step.text); break;
      case 'command': io.out((await execute(ctx, step.line)).reply); break;
      case 'flag': {
        const r = await runWords(ctx, step.command, step.words(ctx.pen.settings));
        // args.ts checked the value under the same rule, so this is not the user's mistake, but say so
        if (r.error) throw new PenError(r.error.code, `pen: ${step.flag}: ${r.error.message}`);
        break; // its reply (`blacklist 30` answers 30) is the control port's, not start-up's
      }
    }
  }
}
