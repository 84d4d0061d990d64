// The flag table (server/cli/flags.ts) is what `pen --help` and pen.1 are made of; these tests
// hold the parser to it, so a flag cannot be added to one and not the other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { options, parseCommandLine } from '../../server/cli/args.ts';
import { FLAGS, STATUS_MARK, flagWithArg } from '../../server/cli/flags.ts';
import { USAGE } from '../../server/cli/usage.ts';

const VALUES: Record<string, string> = { '-L': 'tls1', '-B': '127.0.0.1:1', '-e': '127.0.0.1:1', '-C': '127.0.0.1:1', '--admin': '9000', '--peer': 'http://127.0.0.1:9000' };

function argv(flag: string, arg: string | undefined): string[] {
  return arg === undefined ? [flag] : [flag, VALUES[flag] ?? '7'];
}

test('every option the parser knows has one row in the flag table', () => {
  const parserFlags = Object.entries(options).map(([name, o]) => (o.short ? `-${o.short}` : `--${name}`)).sort();
  const tableFlags = FLAGS.map((f) => f.flag).sort();
  assert.deepEqual(tableFlags, parserFlags);
  assert.equal(new Set(tableFlags).size, tableFlags.length, 'no flag has two rows');
});

test('a row takes an argument exactly when the parser wants a value', () => {
  for (const f of FLAGS) {
    const name = f.flag.replace(/^-+/, '');
    const o = Object.entries(options).find(([long, spec]) => (f.flag.startsWith('--') ? long === name : spec.short === name))![1];
    assert.equal(o.type === 'string', f.arg !== undefined, `${f.flag}: the table says ${f.arg ? 'value' : 'switch'}`);
  }
});

test('every row parses, and only the refused ones are refused while parsing or later', () => {
  for (const f of FLAGS) {
    let error: Error | null = null;
    try {
      parseCommandLine([...argv(f.flag, f.arg), '127.0.0.1:8080']);
    } catch (e) {
      error = e as Error;
    }
    assert.doesNotMatch(error?.message ?? '', /unknown option/, `${f.flag} is known to the parser`);
    if (error) assert.equal(f.status, 'refused', `${f.flag} failed to parse: ${error.message}`);
  }
});

test('a letter with no row is an unknown option', () => {
  const known = new Set(FLAGS.map((f) => f.flag));
  for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') {
    if (known.has(`-${c}`)) continue;
    assert.throws(() => parseCommandLine([`-${c}`]), /unknown option/, `-${c}`);
  }
});

test('the help text has one line per row, with its status', () => {
  const lines = USAGE.split('\n').filter((l) => /^ {2}-/.test(l));
  assert.equal(lines.length, FLAGS.length);
  for (const f of FLAGS) {
    const line = lines.find((l) => l.startsWith(`  ${flagWithArg(f)} `));
    assert.ok(line, `help lists ${f.flag}`);
    assert.equal(line.replace(/^ {2}\S+( \S+)? +/, ''), `${f.what}${STATUS_MARK[f.status]}`);
  }
  assert.match(USAGE, /^usage:\n {2}pen \[-C addr:port\]/);
});
