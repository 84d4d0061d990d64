// eslint.config.js catches what it is there for: a file planted in the tree (as text, at a path under
// server/ and web/) with a line past 120 columns and an unused variable fails with those rule ids, and the
// same file within the limits passes. The import rules (layering, no cycle) are dependency-cruiser's, tested
// in layering.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = new URL('../../', import.meta.url).pathname;
const eslint = new ESLint({ cwd: ROOT });

async function ruleIds(text: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: ROOT + filePath });
  return result!.messages.map((m) => `${m.line}:${m.ruleId ?? m.message}`);
}

/** A line of code and comment `cols` columns wide. */
const line = (cols: number) => `export const x = 1; // ${'y'.repeat(cols - 23)}`;

test('a line past 120 columns and an unused variable fail, in .ts and .tsx', async () => {
  const planted = `${line(121)}\nexport function f(): number {\n  const unused = 1;\n  return 2;\n}\n`;
  assert.equal(line(121).length, 121);
  for (const file of ['server/core/planted.ts', 'web/src/planted.tsx']) {
    assert.deepEqual(await ruleIds(planted, file), ['1:@stylistic/max-len', '3:@typescript-eslint/no-unused-vars'], file);
  }
});

test('120 columns pass, and a string may run past them', async () => {
  assert.equal(line(120).length, 120);
  const long = `export const s = '${'x'.repeat(150)}';`;
  assert.deepEqual(await ruleIds(`${line(120)}\n${long}\n`, 'server/core/planted.ts'), []);
});

test('build output is not linted', async () => {
  for (const file of ['dist/pen.js', 'web/dist/assets/index.js', 'build/Release/x.js']) {
    assert.equal(await eslint.isPathIgnored(ROOT + file), true, file);
  }
  assert.equal(await eslint.isPathIgnored(ROOT + 'server/core/tcp.ts'), false);
});
