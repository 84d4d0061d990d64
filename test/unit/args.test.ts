import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine } from '../../server/cli/args.ts';
import { defaultSettings } from '../../server/core/settings.ts';

function settingsOf(argv: string[]) {
  const parsed = parseCommandLine(argv);
  const s = defaultSettings();
  for (const step of parsed.steps) if (step.kind === 'set') step.apply(s);
  return { parsed, s };
}

test('getopt syntax: grouped flags, attached values, repeats, options after positionals', () => {
  const { parsed, s } = settingsOf(['-frs', '-x500', '-dd', '8080', 'a:80', '-b', '9', 'b:81', '-T60']);
  assert.equal(s.foreground && s.roundrobin && s.stubborn, true);
  assert.equal(s.connMax, 500);
  assert.equal(s.debug, 2);
  assert.equal(s.blacklistTime, 9);
  assert.equal(s.trackingTime, 60);
  assert.equal(parsed.listen, '8080');
  assert.deepEqual(parsed.servers, ['a:80', 'b:81']);
});

test('-h is hash, not help; --help is help', () => {
  assert.equal(settingsOf(['-h', '8080', 'a']).s.hash, true);
  assert.equal(parseCommandLine(['--help']).help, true);
});

test('-o and -O keep their place among the options', () => {
  const { parsed } = settingsOf(['-b', '5', '-O', 'blacklist', '-b', '6', '-o', 'mode', '8080']);
  assert.deepEqual(parsed.steps.map((s) => s.kind), ['set', 'command', 'set', 'command']);
});

test('-- ends the options', () => {
  const { parsed } = settingsOf(['-f', '--', '8080', 'h:80']);
  assert.equal(parsed.listen, '8080');
});

test('SSL options fill the ssl settings', () => {
  const { s } = settingsOf(['-E', 'c.pem', '-K', 'k.pem', '-G', 'ca.pem', '-A', '/etc/ssl/certs', '-Z', '-R', '-L', 'tls1', '443', 'h:80']);
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
