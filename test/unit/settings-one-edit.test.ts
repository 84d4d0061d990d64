// "Adding a setting is one edit": a copy of server/ and shared/ gets four new rows in its
// shared/settings.ts (a number with its own bound, a switch, a choice, a file under ssl.) and no
// other change. The copy must then compile with the new Settings fields, and each new setting must
// work through every surface made from the table: its commands and their specs, its flag (with
// the command's range rule), `write` and reading the file back, the snapshot, PATCH /settings
// (with REST's file root), --help, and the README's flags, bounds and commands tables, which the
// README tests regenerate. The table walks (settings-table, flags, registry) run on the copy too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const copy = mkdtempSync(join(tmpdir(), 'pen-one-edit-'));
after(() => process.env.KEEP_COPY ? console.log(copy) : rmSync(copy, { recursive: true, force: true }));

const ROWS = `
  { name: 'test_int', key: 'testInt', kind: int({ min: 2, max: 50, low: 'refused', why: 'a test' }, 'refuse'), default: 5, flag: { flag: '-g', arg: 'N', what: 'a test number [5]', status: 'works' }, help: { summary: 'report or set a test number' }, reply: 'value', write: 'changed', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'test_bool', key: 'testBool', kind: bool, default: false, flag: { flag: '-k', what: 'a test switch', status: 'works' }, help: { summary: 'test switch on', no: 'test switch off' }, reply: 'none', write: 'on', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'test_enum', key: 'testEnum', kind: { type: 'enum', values: ['one', 'two'], other: 'one' }, default: 'one', flag: { flag: '-y', arg: 'word', what: 'a test choice', status: 'works' }, help: { summary: 'a test choice' }, reply: 'none', write: 'changed', support: 'yes', command: 'table', rest: 'rw' },
  { name: 'test_file', key: 'ssl.testFile', kind: nullable, default: null, flag: { flag: '-z', arg: 'file', what: 'a test file', status: 'works' }, help: { summary: 'report or set a test file', no: 'no test file' }, file: true, reply: 'value-or-empty', write: 'set', support: 'yes', command: 'table', rest: 'rw' },
`;

/** Run in the copy: what each surface made from the table does with the new settings, as JSON. */
const PROBE = `
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildAdmin } from '../server/admin/app.ts';
import { parseCommandLine } from '../server/cli/args.ts';
import { runSteps } from '../server/cli/steps.ts';
import { USAGE } from '../server/cli/usage.ts';
import { Balancer } from '../server/core/balancer.ts';
import { defaultSettings, type Settings } from '../server/core/settings.ts';
import { formatConfig } from '../server/control/config.ts';
import type { CommandContext } from '../server/control/context.ts';
import { execute, runConfigFile } from '../server/control/registry.ts';
import { settingsSnapshot } from '../server/stats/snapshot.ts';
import { COMMANDS } from '../shared/commands.ts';
import { SettingsSnapshotSchema, settingsPatchSchema } from '../shared/settings.ts';

// the compile sees the new fields, typed by their kinds
const d: Settings = defaultSettings();
const typed: [number, boolean, 'one' | 'two', string | null] = [d.testInt, d.testBool, d.testEnum, d.ssl.testFile];
const dir = mkdtempSync(join(tmpdir(), 'pen-one-edit-probe-'));
const fresh = (): CommandContext => ({ pen: new Balancer(), runtime: { exit() {}, argv: [] }, origin: 'port' });
const pick = (s: Settings) => [s.testInt, s.testBool, s.testEnum, s.ssl.testFile];
const out: Record<string, unknown> = { typed };

out.specs = COMMANDS.filter((c) => c.name.includes('test_'));
const c = fresh();
out.commands = [];
for (const line of ['test_int', 'test_int 7', 'test_int 1', 'test_int 51', 'test_int', 'test_bool', 'test_enum two', 'test_file /f.pem', 'test_file']) {
  const r = await execute(c, line);
  (out.commands as unknown[]).push([line, r.reply, r.error?.message ?? null, pick(c.pen.settings)]);
}
const viaFlags = async (argv: string[]) => {
  try {
    const ctx = fresh();
    await runSteps(ctx, parseCommandLine([...argv, '8080', 'a']).steps, { out() {}, err() {} });
    return pick(ctx.pen.settings);
  } catch (e) {
    return (e as Error).message;
  }
};
out.flags = [
  await viaFlags(['-g', '7', '-k', '-y', 'two', '-z', '/f.pem']), await viaFlags(['-g1']), await viaFlags(['-g51']),
  await viaFlags(['-y', 'three']), await viaFlags(['-kg50']),
];
const file = join(dir, 'saved.cfg');
const text = formatConfig(c.pen, file);
writeFileSync(file, text);
const back = fresh();
await runConfigFile(back, file);
out.write = { lines: text.split('\\n').filter((l) => l.includes('test_')), back: pick(back.pen.settings) };
const snap = settingsSnapshot(c.pen) as Record<string, unknown>;
out.snapshot = ['test_int', 'test_bool', 'test_enum', 'test_file'].map((n) => [n, snap[n], n in SettingsSnapshotSchema.properties]);
const patchSchema = settingsPatchSchema().properties as Record<string, { minimum?: number; maximum?: number }>;
out.patchSchema = [patchSchema.test_int?.minimum, patchSchema.test_int?.maximum, Object.keys(patchSchema).filter((k) => k.startsWith('test_'))];
const pen = new Balancer();
const app = await buildAdmin({ pen, runtime: { exit() {}, argv: ['pen'] }, logger: pino({ level: 'silent' }), webRoot: null, fileRoot: dir });
const patch = async (body: object) => {
  const r = await app.inject({ method: 'PATCH', url: '/settings', payload: body });
  return [r.statusCode, pick(pen.settings)];
};
out.patch = [
  await patch({ test_int: 51 }), await patch({ test_int: 1 }), await patch({ test_file: '/etc/f.pem' }),
  await patch({ test_int: 9, test_bool: true, test_enum: 'two', test_file: join(dir, 'f.pem') }),
  await patch({ test_bool: false, test_file: null }),
];
await app.close();
out.usage = USAGE.split('\\n').filter((l) => /^  -[gkyz] /.test(l));
out.dir = dir;
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;

function run(args: string[], env: Record<string, string> = {}) {
  // without the runner's NODE_TEST_CONTEXT, which makes a nested `node --test` report to this one instead of running
  const parent = { ...process.env };
  delete parent.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, args, { cwd: copy, encoding: 'utf8', timeout: 240_000, env: { ...parent, ...env } });
  assert.equal(r.status, 0, `${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  if (args.includes('--test')) assert.match(r.stdout, /^# pass [1-9]\d*\n# fail 0$/m, 'the tests ran');
  return r.stdout;
}

test('a setting added as one row of shared/settings.ts works through every surface, and nothing else needs an edit', { timeout: 600_000 }, () => {
  for (const part of ['server', 'shared', 'test/helpers', 'README.md', 'package.json']) cpSync(join(ROOT, part), join(copy, part), { recursive: true });
  mkdirSync(join(copy, 'test/unit'));
  const WALKS = ['settings-table', 'flags', 'flags-readme', 'limits-readme', 'registry-readme', 'registry'];
  for (const t of WALKS) cpSync(join(ROOT, `test/unit/${t}.test.ts`), join(copy, `test/unit/${t}.test.ts`));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
  writeFileSync(join(copy, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['server', 'shared', 'test/one-edit-probe.ts'] }));
  writeFileSync(join(copy, 'test/one-edit-probe.ts'), PROBE);

  // the one edit
  const table = join(copy, 'shared/settings.ts');
  const END = '] as const satisfies readonly SettingRow[];';
  const source = readFileSync(table, 'utf8');
  assert.equal(source.split(END).length, 2, 'the table ends once');
  writeFileSync(table, source.replace(END, `${ROWS.trim()}\n${END}`));

  run([join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', copy]);
  const out = JSON.parse(run(['--import', 'tsx', 'test/one-edit-probe.ts'])) as Record<string, unknown>;
  rmSync(out.dir as string, { recursive: true, force: true });

  const spec = (name: string, grammar: string, summary: string) => ({ name, grammar, scope: 'admin', summary, support: 'yes' });
  assert.deepEqual(out.specs, [
    spec('test_bool', '', 'test switch on'), spec('no test_bool', '', 'test switch off'), spec('test_enum', 'one|two', 'a test choice'),
    spec('test_file', '[FILE]', 'report or set a test file'), spec('no test_file', '', 'no test file'),
    spec('test_int', '[N]', 'report or set a test number'),
  ]);
  const past = 'test_int: 51 is more than 50, the most allowed';
  const low = "test_int: test_int must be at least 2, got '1'";
  assert.deepEqual(out.commands, [
    ['test_int', '5\n', null, [5, false, 'one', null]],
    ['test_int 7', '7\n', null, [7, false, 'one', null]],
    ['test_int 1', `${low}\n`, low, [7, false, 'one', null]],
    ['test_int 51', `${past}\n`, past, [7, false, 'one', null]],
    ['test_int', '7\n', null, [7, false, 'one', null]],
    ['test_bool', '', null, [7, true, 'one', null]],
    ['test_enum two', '', null, [7, true, 'two', null]],
    ['test_file /f.pem', '/f.pem\n', null, [7, true, 'two', '/f.pem']],
    ['test_file', '/f.pem\n', null, [7, true, 'two', '/f.pem']],
  ]);
  assert.deepEqual(out.flags, [
    [7, true, 'two', '/f.pem'],
    "pen: -g: test_int must be at least 2, got '1'",
    `pen: -g: ${past}`,
    [5, false, 'one', null], // as `test_enum three`: a word it does not know is `other`
    [50, true, 'one', null],
  ]);
  assert.deepEqual(out.write, { lines: ['test_int 7', 'test_bool', 'test_enum two', 'test_file /f.pem'], back: [7, true, 'two', '/f.pem'] });
  assert.deepEqual(out.snapshot, [['test_int', 7, true], ['test_bool', true, true], ['test_enum', 'two', true], ['test_file', '/f.pem', true]]);
  assert.deepEqual(out.patchSchema, [2, 50, ['test_int', 'test_bool', 'test_enum', 'test_file']]);
  const dir = out.dir as string;
  assert.deepEqual(out.patch, [
    [400, [5, false, 'one', null]], [400, [5, false, 'one', null]],
    [403, [5, false, 'one', null]], // outside the file root
    [200, [9, true, 'two', join(dir, 'f.pem')]], [200, [9, false, 'two', null]],
  ]);
  assert.deepEqual(out.usage, ['  -g N      a test number [5]', '  -k        a test switch', '  -y word   a test choice', '  -z file   a test file']);

  // the README's tables are generated: regenerated, they list the new rows; then every walk passes
  const readme = readFileSync(join(copy, 'README.md'), 'utf8');
  run(['--import', 'tsx', '--test', ...['flags-readme', 'limits-readme', 'registry-readme'].map((t) => `test/unit/${t}.test.ts`)], { UPDATE_README: '1' });
  const added = readFileSync(join(copy, 'README.md'), 'utf8').split('\n').filter((l) => !readme.includes(`${l}\n`));
  assert.deepEqual(added.sort(), [
    '| `-g N` | `test_int` | works | a test number [5] |',
    '| `-k` | `test_bool` | works | a test switch |',
    '| `-y word` | `test_enum` | works | a test choice |',
    '| `-z file` | `test_file` | works | a test file |',
    '| `test_bool` |  | admin | works | test switch on |',
    '| `no test_bool` |  | admin | works | test switch off |',
    '| `test_enum` | `one\\|two` | admin | works | a test choice |',
    '| `test_file` | `[FILE]` | admin | works | report or set a test file |',
    '| `no test_file` |  | admin | works | no test file |',
    '| `test_int` | `[N]` | admin | works | report or set a test number |',
    '| `test_int` | `-g` | 2 | 50 | refused | a test |',
  ].sort());
  run(['--import', 'tsx', '--test', ...WALKS.map((t) => `test/unit/${t}.test.ts`)]);
});
