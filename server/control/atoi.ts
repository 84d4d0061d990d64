// C's atoi, which pen uses for every number it reads: leading blanks, a sign, digits; garbage is 0.
export function atoi(text: string | undefined): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text ?? '');
  return m ? Number(m[1]) | 0 : 0;
}
