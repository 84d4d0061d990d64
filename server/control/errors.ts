// Why a command did nothing. pen sends most of these diagnostics to debug() and answers the
// client with nothing (or with a fixed text); `reply` is that answer, `message` goes to debug().
import { PenError, type PenErrorCode } from '../core/errors.ts';

export class CommandError extends PenError {
  readonly reply: string;
  /** whether `message` goes to debug(): by default only when the client gets no reply */
  readonly log: boolean;
  /** the argument it is about, which REST names in its error (`address`) */
  readonly field?: string;
  constructor(message: string, opts: { reply?: string; code?: PenErrorCode; log?: boolean; field?: string } = {}) {
    super(opts.code ?? 'PEN_ERR_COMMAND', message);
    this.reply = opts.reply ?? '';
    this.log = opts.log ?? this.reply === '';
    if (opts.field !== undefined) this.field = opts.field;
  }
}

/** A failure pen only reports through debug(); the client gets nothing. */
export const quiet = (message: string) => new CommandError(message);

/** A failure we answer with one clear line (where C pen would crash or has no answer). */
export const refuse = (message: string, code: PenErrorCode = 'PEN_ERR_COMMAND') =>
  new CommandError(message, { reply: `${message}\n`, code });
