// README.md's table of control commands is generated from the registry's specs; this test keeps
// them in step. Regenerate with: UPDATE_README=1 node --import tsx --test test/unit/registry-readme.test.ts
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { COMMANDS, type CommandSpec } from '../../shared/commands.ts';

const README = new URL('../../README.md', import.meta.url);
const START = '<!-- commands:start -->';
const END = '<!-- commands:end -->';

const SUPPORT: Record<CommandSpec['support'], string> = {
  yes: 'works',
  'no-op': 'accepted, no effect here',
  refused: 'refused (error line)',
};

const cell = (text: string) => text.replace(/\|/g, '\\|');

function table(): string {
  const rows = COMMANDS.map((c) =>
    `| \`${c.name}\` | ${c.grammar ? `\`${cell(c.grammar)}\`` : ''} | ${c.scope} | ${SUPPORT[c.support]} | ${cell(c.summary)}${c.note ? `. ${cell(c.note)}` : ''} |`);
  return [
    '',
    'Every command pen\'s control port accepts (penctl(1), plus `keepalive`, `peek`, `dsr_ip` and the',
    '`ssl_*` commands the man page leaves out). The same registry serves `penctl`, `-o`/`-O`, `-F`',
    'files, `include`, SIGHUP reloads and the REST API. Replies are byte for byte those of Debian\'s',
    'pen 0.34.1 (`test/integration/control-compat.test.ts` runs both side by side) except where the',
    'notes say otherwise. Unknown commands get `do_cmd: ignoring command starting with \'WORD\'`.',
    'Scope `read` commands never change anything. This table is generated from `shared/commands.ts`.',
    '',
    '| command | arguments | scope | status | what it does |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

test('README lists every command of the registry, with its status', () => {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  assert.ok(start >= 0 && end > start, 'README has the commands block');
  const block = text.slice(start + START.length, end);
  if (process.env.UPDATE_README === '1' && block !== table()) {
    writeFileSync(README, text.slice(0, start + START.length) + table() + text.slice(end));
    return;
  }
  assert.equal(block, table());
});
