import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine } from '../../server/cli/args.ts';
import { runSteps } from '../../server/cli/steps.ts';
import { Balancer } from '../../server/core/balancer.ts';

/** The settings after start-up's steps, run as pen.ts runs them (setting flags through their commands). */
async function settingsOf(argv: string[]) {
  const parsed = parseCommandLine(argv);
  const pen = new Balancer();
  const said: string[] = [];
  await runSteps({ pen, runtime: { exit() {}, argv }, origin: 'cli' }, parsed.steps, { out: (t) => said.push(t), err: (t) => said.push(t) });
  return { parsed, s: pen.settings, said };
}

test('getopt syntax: grouped flags, attached values, repeats, options after positionals', async () => {
  const { parsed, s } = await settingsOf(['-frs', '-x500', '-dd', '8080', 'a:80', '-b', '9', 'b:81', '-T60']);
  assert.equal(s.foreground && s.roundrobin && s.stubborn, true);
  assert.equal(s.connMax, 500);
  assert.equal(s.debug, 2);
  assert.equal(s.blacklistTime, 9);
  assert.equal(s.trackingTime, 60);
  assert.equal(parsed.listen, '8080');
  assert.deepEqual(parsed.servers, ['a:80', 'b:81']);
});

test('-h is hash, not help; --help is help', async () => {
  assert.equal((await settingsOf(['-h', '8080', 'a'])).s.hash, true);
  assert.equal(parseCommandLine(['--help']).help, true);
});

test('-o and -O keep their place among the options; a setting\'s flag runs as its command', async () => {
  const { parsed, said, s } = await settingsOf(['-b', '5', '-O', 'blacklist', '-b', '6', '-o', 'blacklist', '-d', '-o', 'debug 5', '-d', '-P', '8080']);
  assert.deepEqual(parsed.steps.map((st) => (st.kind === 'flag' ? st.command : st.kind)), ['blacklist', 'command', 'blacklist', 'command', 'debug', 'command', 'debug', 'poll']);
  assert.deepEqual(said, ['5\n', '6\n', '5\n'], 'only -o/-O replies are printed: -b 6 is blacklist 6, whose reply start-up does not print');
  assert.equal(s.debug, 6, '-d is one more than the level at its turn');
  assert.equal(s.eventBackend, 'poll');
});

test('-- ends the options', async () => {
  const { parsed } = await settingsOf(['-f', '--', '8080', 'h:80']);
  assert.equal(parsed.listen, '8080');
});

test('SSL options fill the ssl settings', async () => {
  const { s } = await settingsOf(['-E', 'c.pem', '-K', 'k.pem', '-G', 'ca.pem', '-A', '/etc/ssl/certs', '-Z', '-R', '-L', 'tls1', '443', 'h:80']);
  assert.deepEqual(
    [s.ssl.cert, s.ssl.key, s.ssl.caFile, s.ssl.caDir, s.ssl.compat, s.ssl.requireClientCert, s.ssl.protocol],
    ['c.pem', 'k.pem', 'ca.pem', '/etc/ssl/certs', true, true, 'tls1']);
});

test('bad values are refused with the option named', () => {
  assert.throws(() => parseCommandLine(['-c', 'x', '8080']), /-c: 'x' is not a number/);
  assert.throws(() => parseCommandLine(['-q']), /requires an argument/);
  assert.throws(() => parseCommandLine(['-y', '8080']), /unknown option '-y'/);
  assert.throws(() => parseCommandLine(['-e', 'h:x:y', '8080']), /invalid server 'h:x:y'/);
  assert.throws(() => parseCommandLine(['-N', '8080']), /-N/);
});

test('--threads: 1 by default, a whole number from 1 to 64, anything else refused with the range', () => {
  assert.equal(parseCommandLine(['8080', 'h:80']).threads, 1);
  assert.equal(parseCommandLine(['--threads', '2', '8080', 'h:80']).threads, 2);
  assert.equal(parseCommandLine(['--threads=64', '8080', 'h:80']).threads, 64);
  for (const bad of ['0', '65', '1.5', '-1', 'two', '']) {
    assert.throws(() => parseCommandLine([`--threads=${bad}`, '8080']), /--threads: expected a whole number from 1 to 64/, bad);
  }
});
