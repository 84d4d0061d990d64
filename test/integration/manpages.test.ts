// pen.1 and penctl.1 as man(1) shows them, `pen --help`, `--version`, and the refused flags, all
// from the tables the programs use (server/cli/flags.ts, shared/commands.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { after, test } from 'node:test';
import { FLAGS, flagWithArg } from '../../server/cli/flags.ts';
import { COMMANDS } from '../../shared/commands.ts';
import { FLAG_STATUS_TEXT, renderPage } from '../../man/render.ts';
import { ROOT, penctl, runPen } from '../helpers/pen.ts';

const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
const dir = mkdtempSync(`${os.tmpdir()}/pen-man-`);
after(() => rmSync(dir, { recursive: true, force: true }));

function page(name: 'pen.1' | 'penctl.1'): string {
  const file = `${dir}/${name}`;
  writeFileSync(file, renderPage(name));
  return file;
}

/** man -l, wide enough that no paragraph wraps or hyphenates. */
function man(file: string): { text: string; stderr: string; code: number | null } {
  const r = spawnSync('man', ['-l', file], {
    encoding: 'utf8', timeout: 20000,
    env: { ...process.env, MANWIDTH: '2000', MANPAGER: 'cat', PAGER: 'cat', LC_ALL: 'C.UTF-8', MAN_KEEP_FORMATTING: '' },
  });
  return { text: r.stdout, stderr: r.stderr, code: r.status };
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The entries of one section: "-B host:port abuse server ... Status: works." keyed by their head. */
function entries(text: string, section: string, next: string): string[] {
  const body = text.slice(text.indexOf(`\n${section}\n`), text.indexOf(`\n${next}\n`));
  return body.split(/\n {7}(?=\S)/).slice(2).map(squash);
}

test('groff finds nothing to warn about in either page', () => {
  for (const name of ['pen.1', 'penctl.1'] as const) {
    const r = spawnSync('groff', ['-ww', '-man', '-z', page(name)], { encoding: 'utf8', timeout: 20000, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', `${name}: ${r.stderr}`);
  }
});

test('pen.1 has one OPTIONS entry per row of the flag table, saying its status', () => {
  const r = man(page('pen.1'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.text, new RegExp(`pen-ts ${VERSION.replace(/\./g, '\\.')}`));
  const list = entries(r.text, 'OPTIONS', 'SERVERS');
  assert.equal(list.length, FLAGS.length, 'no entry more or less than the table');
  for (const f of FLAGS) {
    const entry = list.find((e) => e.startsWith(`${flagWithArg(f)} `));
    assert.ok(entry, `pen.1 lists ${flagWithArg(f)}`);
    assert.ok(entry.includes(squash(f.what)), `${f.flag}: ${entry}`);
    assert.ok(entry.endsWith(`Status: ${FLAG_STATUS_TEXT[f.status]}.`), `${f.flag}: ${entry}`);
  }
  for (const section of ['ADMIN API', 'SIGNALS', 'FILES', 'DIFFERENCES FROM C PEN']) assert.match(r.text, new RegExp(`\n${section}\n`));
  for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGTERM', 'SIGUSR2']) assert.match(r.text, new RegExp(`\n {7}${signal}`));
});

test('penctl.1 has one COMMANDS entry per command spec', () => {
  const r = man(page('penctl.1'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const list = entries(r.text, 'COMMANDS', 'EXIT STATUS');
  assert.equal(list.length, COMMANDS.length);
  for (const c of COMMANDS) {
    assert.ok(list.some((e) => e.startsWith(`${c.name} ${c.grammar}`.trim())), `penctl.1 lists ${c.name}`);
  }
});

test('the built pages are the ones the tables give (npm run build:man ran on this tree)', () => {
  for (const name of ['pen.1', 'penctl.1'] as const) {
    assert.equal(readFileSync(`${ROOT}dist/man/${name}`, 'utf8'), renderPage(name), `dist/man/${name} is stale`);
  }
});

test('--version prints the package version, for pen and penctl', () => {
  const p = runPen(['--version']);
  assert.equal(p.code, 0);
  assert.equal(p.stdout, `pen-ts ${VERSION}\n`);
  const c = penctl('--version', []);
  assert.equal(c.code, 0);
  assert.equal(c.stdout, `pen-ts ${VERSION}\n`);
});

test('--help prints the usage made from the flag table', () => {
  const r = runPen(['--help']);
  assert.equal(r.code, 0);
  for (const f of FLAGS) assert.match(r.stdout, new RegExp(`^ {2}${flagWithArg(f).replace(/[[\]]/g, '\\$&')} +`, 'm'));
});

test('the refused flags make pen exit 1 with a line saying why', () => {
  for (const f of FLAGS.filter((x) => x.status === 'refused')) {
    const r = runPen(['-f', ...(f.arg ? [f.flag, '/tmp'] : [f.flag]), '127.0.0.1:1', '127.0.0.1:2']);
    assert.equal(r.code, 1, `${f.flag}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^pen: .+\n$/, f.flag);
  }
});
