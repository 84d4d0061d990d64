// Our penctl against Debian's /usr/bin/penctl: same bytes on the wire, same output, same
// messages and exit codes for every kind of failure.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deadPort } from '../helpers/backends.ts';
import { PENCTL } from '../helpers/pen.ts';

const DEBIAN_PENCTL = '/usr/bin/penctl';
const skip = existsSync(DEBIAN_PENCTL) ? false : 'Debian penctl is not installed';

interface Run { code: number | null; stdout: string; stderr: string }

function run(bin: string, args: string[]): Promise<Run> {
  const [file, argv] = bin === PENCTL ? [process.execPath, [PENCTL, ...args]] : [bin, args];
  return new Promise((resolve) => {
    execFile(file, argv, { encoding: 'latin1', timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A stand-in pen: records each command line and answers with `reply`. */
async function fakePen(reply: string | ((line: string) => string), where: { path?: string } = {}) {
  const got: string[] = [];
  const server = net.createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) {
        got.push(buf);
        s.end(typeof reply === 'string' ? reply : reply(buf));
      }
    });
  });
  await new Promise<void>((r) => (where.path ? server.listen(where.path, r) : server.listen(0, '127.0.0.1', r)));
  const target = where.path ?? `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { target, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('both send the same line and print the reply unchanged, exit 0 even for error texts', { skip }, async () => {
  const pen = await fakePen((line) => `got ${line.length} bytes\nno newline at the end`);
  try {
    for (const args of [['servers'], ['server', '1', 'blacklist', '30'], ['acl', '1', 'permit', '::1/64']]) {
      const theirs = await run(DEBIAN_PENCTL, [pen.target, ...args]);
      const ours = await run(PENCTL, [pen.target, ...args]);
      assert.deepEqual(ours, theirs);
      assert.equal(ours.code, 0);
    }
    assert.equal(pen.got.length, 6);
    for (let i = 0; i < pen.got.length; i += 2) assert.equal(pen.got[i + 1], pen.got[i]);
    assert.equal(pen.got[2], 'server 1 blacklist 30\n');
  } finally {
    await pen.close();
  }
});

test('both reach pen over a Unix socket', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'penctl-'));
  const path = join(dir, 'ctl');
  const pen = await fakePen('ok\n', { path });
  try {
    assert.deepEqual(await run(PENCTL, [path, 'mode']), await run(DEBIAN_PENCTL, [path, 'mode']));
    assert.deepEqual(pen.got, ['mode\n', 'mode\n']);
  } finally {
    await pen.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('both refuse an overlong command after connecting, at the same length', { skip }, async () => {
  const pen = await fakePen('ok\n');
  try {
    for (const n of [1021, 1022, 1023]) {
      const arg = 'a'.repeat(n);
      const theirs = await run(DEBIAN_PENCTL, [pen.target, arg]);
      const ours = await run(PENCTL, [pen.target, arg]);
      assert.deepEqual(ours, theirs, `${n} bytes`);
    }
  } finally {
    await pen.close();
  }
});

test('usage and failures give the C penctl\'s messages and exit codes', { skip }, async () => {
  const dead = await deadPort();
  const cases = [
    [], ['127.0.0.1:1'], ['nohost', 'servers'], ['no.such.host.invalid:80', 'servers'], [`127.0.0.1:${dead}`, 'servers'],
    ['/nonexistent/ctl.sock', 'servers'], ['127.0.0.1:nosuchservice', 'servers'], [':1', 'servers'], ['127.0.0.1:99999', 'servers'],
  ];
  for (const args of cases) {
    const theirs = await run(DEBIAN_PENCTL, args);
    const ours = await run(PENCTL, args);
    assert.deepEqual(ours, theirs, args.join(' '));
  }
});
