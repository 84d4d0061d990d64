// `include` through the registry: what a caller is told about a file's lines (the file and line
// number, never the line), and the limits that stop nesting and fan-out.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Balancer } from '../../server/core/balancer.ts';
import { MAX_INCLUDE_DEPTH, MAX_INCLUDED_FILES } from '../../server/control/config.ts';
import type { CommandContext } from '../../server/control/context.ts';
import { execute, runConfigFile } from '../../server/control/registry.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-include-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ctx = (): CommandContext => ({ pen: new Balancer(), runtime: { exit() {}, argv: ['pen'] }, origin: 'rest' });

test('each failing line is answered FILE:LINE: COMMAND: reason, with nothing of the line in it', async () => {
  const file = join(dir, 'mixed.cfg');
  writeFileSync(file, ['blacklist 9', 'S3cret-word here', 'source S3cret.invalid', 'acl 1 permit S3cret', 'no such S3cret',
    `include ${join(dir, 'S3cret-missing.cfg')}`, 'timeout 4'].join('\n'));
  const r = await execute(ctx(), `include ${file}`);
  assert.equal(r.error, undefined);
  assert.equal(r.reply, [
    '9',
    `${file}:2: not a command`,
    `${file}:3: source: bad or unresolvable address`,
    // acl errors go to debug() only, as in pen (with the same FILE:LINE text), and `no` + unknown is silent
    `${file}:6: include: no such file (ENOENT)`,
    '4', '',
  ].join('\n'));
});

test(`nesting stops at ${MAX_INCLUDE_DEPTH} files, and one run opens at most ${MAX_INCLUDED_FILES}`, async () => {
  const chain = Array.from({ length: MAX_INCLUDE_DEPTH + 2 }, (_, i) => join(dir, `chain${i}.cfg`));
  chain.forEach((f, i) => writeFileSync(f, i + 1 < chain.length ? `include ${chain[i + 1]}\n` : 'tracking 7\n'));
  const deep = ctx();
  const r = await execute(deep, `include ${chain[0]}`);
  assert.equal(r.reply, `${chain[MAX_INCLUDE_DEPTH - 1]}:1: include: nested more than ${MAX_INCLUDE_DEPTH} deep\n`);
  assert.equal(deep.pen.settings.trackingTime, 0, 'the innermost file did not run');

  const leaf = join(dir, 'leaf.cfg');
  writeFileSync(leaf, 'blacklist 3\n');
  const wide = join(dir, 'wide.cfg');
  writeFileSync(wide, `include ${leaf}\n`.repeat(MAX_INCLUDED_FILES + 5));
  const w = await execute(ctx(), `include ${wide}`);
  const lines = w.reply.trimEnd().split('\n');
  assert.equal(lines.filter((l) => l === '3').length, MAX_INCLUDED_FILES - 1, 'the outer file counts as one');
  assert.equal(lines.filter((l) => l.endsWith(`include: more than ${MAX_INCLUDED_FILES} files included in one run`)).length, 6);
});

test('the -F file keeps pen\'s replies byte for byte (it is the operator\'s own file)', async () => {
  const file = join(dir, 'own.cfg');
  writeFileSync(file, 'blacklist 5\nbogus line\n');
  assert.equal(await runConfigFile(ctx(), file), "5\ndo_cmd: ignoring command starting with 'bogus'\n");
});
