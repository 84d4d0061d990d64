// README.md's table of command-line flags is generated from the flag table (server/cli/flags.ts,
// whose setting flags are rows of shared/settings.ts); this test keeps them in step.
// Regenerate with: UPDATE_README=1 node --import tsx --test test/unit/flags-readme.test.ts
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { FLAGS, flagWithArg, type FlagStatus } from '../../server/cli/flags.ts';
import { flagCommand, flagRow } from '../../shared/settings.ts';

const README = new URL('../../README.md', import.meta.url);
const START = '<!-- flags:start -->';
const END = '<!-- flags:end -->';

const SUPPORT: Record<FlagStatus, string> = {
  works: 'works', 'no effect': 'accepted, no effect here', refused: 'refused (error line)', extension: 'ours',
};

const cell = (text: string) => text.replace(/\|/g, '\\|');

function table(): string {
  const rows = FLAGS.map((f) => {
    const row = flagRow(f.flag);
    const command = row ? flagCommand(row) : null;
    const sets = row ? (command !== null ? `\`${command}\`` : row.name) : '';
    return `| \`${cell(flagWithArg(f))}\` | ${sets} | ${SUPPORT[f.status]} | ${cell(f.what)}${f.note ? `. ${cell(f.note)}` : ''} |`;
  });
  return [
    '',
    'Every flag `pen` accepts, in pen\'s usage order, then the ones its usage leaves out, then ours.',
    'A flag that sets a setting runs as the command named in the second column, through the same',
    'parse and apply as the control port (`-b 30` is `blacklist 30`); a plain name is a setting the',
    'flag stores at start-up (it has no command, or the command does something else: `-c` sizes the',
    'client table exactly, `clients_max` only grows it), under the same range rule. The status column',
    'says what works here (`-P` is accepted with no effect). This table is generated from',
    '`server/cli/flags.ts` and `shared/settings.ts`.',
    '',
    '| flag | setting | status | what it does |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

test('README lists every flag, with the setting it sets and its status', () => {
  let text = readFileSync(README, 'utf8');
  if (process.env.UPDATE_README === '1' && !text.includes(START)) {
    text = text.replace('\n## Control commands', `\n## Command-line flags\n${START}${END}\n\n## Control commands`);
  }
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  assert.ok(start >= 0 && end > start, 'README has the flags block');
  const block = text.slice(start + START.length, end);
  if (process.env.UPDATE_README === '1' && block !== table()) {
    writeFileSync(README, text.slice(0, start + START.length) + table() + text.slice(end));
    return;
  }
  assert.equal(block, table());
});
