// README.md's table of bounds is generated from shared/limits.ts, and from the rows of
// shared/settings.ts that carry a bound of their own; this test keeps them in step.
// Regenerate with: UPDATE_README=1 node --import tsx --test test/unit/limits-readme.test.ts
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { LIMITS, type Limit } from '../../shared/limits.ts';
import { SETTINGS, type SettingRow } from '../../shared/settings.ts';

/** Every bound by the name its error line gives: the table's, then the rows' own (flag from the row). */
const BOUNDS: [string, Limit][] = [
  ...Object.entries(LIMITS),
  ...(SETTINGS as readonly SettingRow[]).flatMap((r): [string, Limit][] =>
    (r.kind.type === 'int' && typeof r.kind.limit === 'object'
      ? [[r.name, { ...r.kind.limit, ...(r.flag ? { flag: r.flag.flag.slice(1) } : {}) }]] : [])),
];

const README = new URL('../../README.md', import.meta.url);
const START = '<!-- limits:start -->';
const END = '<!-- limits:end -->';

const n = (x: number) => x.toLocaleString('en-US');

function table(): string {
  const rows = BOUNDS.map(([name, l]) => {
    return `| \`${name}\` | ${l.flag ? `\`-${l.flag}\`` : ''} | ${n(l.min)} | ${n(l.max)} | ${l.low} | ${l.why} |`;
  });
  return [
    '',
    'Every count, index and time has one upper bound, the same for the command line, the control',
    'port, `-o`/`-O`, `-F` files and REST (`PATCH /settings`, `/servers/N`, `POST /commands/…`). A value',
    'past it gets one error line (`conn_max: 2147483647 is more than 1000000, the most allowed`; REST:',
    '400) and changes nothing. Below the least value each surface keeps pen\'s rule, and the ACL numbers',
    'keep pen\'s control-port answers on both sides. Growing a table costs nothing until its slots are',
    'used. This table is generated from `shared/limits.ts` (and a setting\'s own bound in `shared/settings.ts`).',
    '',
    '| setting | flag | least | most | below the least | why the most is there |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

test('README lists every bound of shared/limits.ts', () => {
  let text = readFileSync(README, 'utf8');
  if (process.env.UPDATE_README === '1' && !text.includes(START)) {
    text = text.replace('\n## Admin API and dashboard', `\n## Limits\n${START}${END}\n\n## Admin API and dashboard`);
  }
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  assert.ok(start >= 0 && end > start, 'README has the limits block');
  const block = text.slice(start + START.length, end);
  if (process.env.UPDATE_README === '1' && block !== table()) {
    writeFileSync(README, text.slice(0, start + START.length) + table() + text.slice(end));
    return;
  }
  assert.equal(block, table());
});
