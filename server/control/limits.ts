// Numbers from command words, checked against shared/limits.ts before anything changes.
import { LIMITS, outOfRange, pastLimit, type LimitName } from '../../shared/limits.ts';
import { refuse } from './errors.ts';

/**
 * C's atoi without its int truncation, so `99999999999` is seen as too big rather than wrapped
 * to 1215752191; garbage is 0, as in pen.
 */
export function atoiWide(text: string | undefined): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : 0;
}

/** The value of `text` for setting `name`; past the bound: one error line (and nothing changes). */
export function upTo(name: LimitName, text: string): number {
  const n = atoiWide(text);
  if (n > LIMITS[name].max) throw refuse(pastLimit(name, text));
  return Math.max(n, -2147483648); // below min: the caller applies pen's rule
}

/** For values pen never took below min either (the server keys): both sides refused. */
export function within(name: LimitName, text: string): number {
  const n = atoiWide(text);
  if (outOfRange(name, n)) {
    const l = LIMITS[name];
    throw refuse(n > l.max ? pastLimit(name, text) : `${name}: ${text} is less than ${l.min}`);
  }
  return n;
}
