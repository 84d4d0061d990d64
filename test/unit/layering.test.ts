// The layering in .dependency-cruiser.cjs, read off the real tree by dependency-cruiser:
// shared ← core ← stats ← control ← {admin, cli}, web → shared, and no import cycle, type-only and
// dynamic imports counted. A small tree made here with one edge of each forbidden kind shows the rules
// fail and name the edge.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import type { ICruiseResult } from 'dependency-cruiser';

const ROOT = new URL('../../', import.meta.url).pathname;
const LAYERED = ['shared', 'server', 'web/src'];

/**
 * dependency-cruiser's own command over `dir`, in a plain node, as `npm run layers` runs it (not under this
 * test's tsx loader).
 */
async function cruiseTree(dir: string): Promise<ICruiseResult> {
  const cli = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
  const args = [cli, '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json', ...LAYERED];
  const { stdout } = await promisify(execFile)(process.execPath, args,
    { cwd: dir, timeout: 60_000, maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as ICruiseResult;
}

/** One line per broken rule: `rule: from → to`, a cycle as `no-circular: a → b → a` (each cycle once). */
function violations(result: ICruiseResult): string[] {
  const lines = result.summary.violations.map((v) => {
    if (!v.cycle) return `${v.rule.name}: ${v.from} → ${v.to}`;
    const ring = [v.from, ...v.cycle.map((c) => c.name)].slice(0, -1);
    const start = ring.indexOf([...ring].sort()[0]!); // the same cycle seen from each of its modules reads alike
    return `${v.rule.name}: ${[...ring.slice(start), ...ring.slice(0, start), ring[start]].join(' → ')}`;
  });
  return [...new Set(lines)].sort();
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => join(dir, f));
}

const real = cruiseTree(ROOT);

test('the real tree: no edge against the layering and no import cycle', async () => {
  const found = violations(await real);
  assert.equal(found.length, 0, `edges against .dependency-cruiser.cjs:\n  ${found.join('\n  ')}`);
});

test('the real tree: every source file was read, and type-only and dynamic imports are edges', async () => {
  const result = await real;
  const read = result.modules.map((m) => m.source).filter((s) => /\.tsx?$/.test(s)).sort();
  assert.deepEqual(read, LAYERED.flatMap(sourceFiles).sort(), 'dependency-cruiser read each .ts and .tsx file (a file it skips is not checked)');
  const edges = new Set(result.modules.flatMap((m) => m.dependencies.map((d) => `${m.source} → ${d.resolved}`)));
  // context.ts imports the Balancer as a type only; pen.ts imports the admin server with import()
  for (const edge of ['server/control/context.ts → server/core/balancer.ts', 'server/cli/pen.ts → server/admin/server.ts']) {
    assert.ok(edges.has(edge), `edge seen: ${edge}`);
  }
});

const fixture = mkdtempSync(join(tmpdir(), 'pen-layering-'));
after(() => rmSync(fixture, { recursive: true, force: true }));

/** One file of each forbidden kind, under the real layer names. */
const BAD_TREE: Record<string, string> = {
  'shared/a.ts': "import type { B } from '../server/core/b.ts';\nexport type A = B;\n", // up, type-only
  'server/core/b.ts': "export type B = number;\nexport const load = () => import('../stats/c.ts');\n", // up, dynamic
  'server/stats/c.ts': "import { d } from './d.ts';\nexport const c = d;\nexport type C = number;\n",
  'server/stats/d.ts': "import type { C } from './c.ts';\nexport const d: C = 1;\n", // a cycle closed by a type
  'server/admin/e.ts': "import { f } from '../cli/f.ts';\nexport const e = f;\n", // sideways
  'server/cli/f.ts': 'export const f = 1;\n',
  'server/cli/pen.ts': "export const admin = () => import('../admin/e.ts');\n", // pen.ts's exception is for admin/server.ts only
  'server/control/g.ts': "import { gone } from './missing.ts';\nexport const g = gone;\n",
  'web/src/h.tsx': "import { c } from '../../server/stats/c.ts';\nexport const H = () => <p class=\"x\">{c}</p>;\n",
  'web/src/i.ts': "import { readFileSync } from 'node:fs';\nexport const i = readFileSync;\n",
};

test('a tree with wrong-direction imports and a cycle fails, naming each edge', async () => {
  for (const [file, text] of Object.entries(BAD_TREE)) {
    mkdirSync(dirname(join(fixture, file)), { recursive: true });
    writeFileSync(join(fixture, file), text);
  }
  const result = await cruiseTree(fixture);
  assert.deepEqual(result.modules.filter((m) => /\.tsx?$/.test(m.source) && !m.couldNotResolve).map((m) => m.source).sort(),
    Object.keys(BAD_TREE).sort(), 'every file of the tree was read');
  assert.deepEqual(violations(result), [
    'browser-has-no-node: web/src/i.ts → fs',
    'layer-admin: server/admin/e.ts → server/cli/f.ts',
    'layer-cli: server/cli/pen.ts → server/admin/e.ts',
    'layer-core: server/core/b.ts → server/stats/c.ts',
    'layer-shared: shared/a.ts → server/core/b.ts',
    'layer-web: web/src/h.tsx → server/stats/c.ts',
    'no-circular: server/stats/c.ts → server/stats/d.ts → server/stats/c.ts',
    'resolvable: server/control/g.ts → ./missing.ts',
  ]);
});
