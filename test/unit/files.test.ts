// core/files.ts on real files, FIFOs and devices: what is read, what is refused and why, and that
// a write replaces the file whole (through symlinks, keeping its mode) or leaves it alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync,
  writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadTokenFile } from '../../server/admin/auth.ts';
import { PenError } from '../../server/core/errors.ts';
import {
  FILE_LIMITS, FileError, openAppend, readOperatorFile, readOperatorFileSync, writeOperatorFile, writeOperatorFileSync,
} from '../../server/core/files.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-files-unit-'));
const fifo = join(dir, 'fifo');
before(() => {
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const reads = [
  ['async', (p: string, k: keyof typeof FILE_LIMITS) => readOperatorFile(p, k)],
  ['sync', async (p: string, k: keyof typeof FILE_LIMITS) => readOperatorFileSync(p, k)],
] as const;
const writes = [['async', writeOperatorFile], ['sync', writeOperatorFileSync]] as const;

const refused = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof FileError && err.code === 'PEN_ERR_IO', String(err));
  assert.match(err.message, pattern);
  return true;
};

for (const [how, read] of reads) {
  test(`${how} read: a regular file up to its cap is read whole; one byte more is refused`, async () => {
    const file = join(dir, `tokens-${how}`);
    writeFileSync(file, Buffer.alloc(FILE_LIMITS.tokens, 0x61));
    assert.equal((await read(file, 'tokens')).data.length, FILE_LIMITS.tokens);
    writeFileSync(file, Buffer.alloc(FILE_LIMITS.tokens + 1, 0x61));
    await assert.rejects(read(file, 'tokens'), refused(new RegExp(`^${file}: larger than ${FILE_LIMITS.tokens} bytes, the limit for a tokens file$`)));
  });

  test(`${how} read: FIFOs, devices and directories are refused at once, naming what they are`, async () => {
    const t0 = Date.now();
    await assert.rejects(read(fifo, 'config'), refused(new RegExp(`^${fifo}: not a regular file \\(a FIFO\\)$`)));
    await assert.rejects(read('/dev/zero', 'geoip'), refused(/^\/dev\/zero: not a regular file \(a character device\)$/));
    await assert.rejects(read(dir, 'config'), refused(/: not a regular file \(a directory\)$/));
    await assert.rejects(read(join(dir, 'absent'), 'config'), refused(/absent: no such file \(ENOENT\)$/));
    assert.ok(Date.now() - t0 < 1000, 'nothing waited');
  });

  test(`${how} read: a file whose size says 0 (like /proc files) is still read, up to the cap`, async () => {
    assert.equal(statSync('/proc/self/status').size, 0);
    assert.match((await read('/proc/self/status', 'config')).data.toString(), /^Name:/);
  });

  test(`${how} read: the same file under two names has the same id`, async () => {
    const file = join(dir, `id-${how}`);
    writeFileSync(file, 'x');
    symlinkSync(file, `${file}-link`);
    assert.equal((await read(file, 'config')).id, (await read(`${file}-link`, 'config')).id);
  });
}

for (const [how, write] of writes) {
  test(`${how} write: replaces the file whole, through a symlink, keeping its mode; no temp file stays`, async () => {
    const sub = join(dir, `w-${how}`);
    mkdirSync(sub);
    const file = join(sub, 'pen.cfg');
    writeFileSync(file, 'old\n');
    chmodSync(file, 0o640);
    symlinkSync(file, join(sub, 'link.cfg'));
    await write(join(sub, 'link.cfg'), 'new\n');
    assert.equal(readFileSync(file, 'utf8'), 'new\n');
    assert.equal(statSync(file).mode & 0o777, 0o640);
    assert.ok(statSync(join(sub, 'link.cfg')).isFile() && readdirSync(sub).sort().join() === 'link.cfg,pen.cfg', readdirSync(sub).join());
    await write(join(sub, 'fresh.cfg'), 'made\n');
    assert.equal(readFileSync(join(sub, 'fresh.cfg'), 'utf8'), 'made\n');
  });

  test(`${how} write: a FIFO, a device or a missing directory is refused and left as it was`, async () => {
    await assert.rejects(Promise.resolve().then(() => write(fifo, 'x')), refused(/: not a regular file \(a FIFO\)$/));
    assert.ok(statSync(fifo).isFIFO());
    await assert.rejects(Promise.resolve().then(() => write('/dev/null', 'x')), refused(/not a regular file \(a character device\)/));
    await assert.rejects(Promise.resolve().then(() => write(join(dir, 'no', 'such', 'f'), 'x')), refused(/ENOENT/));
  });
}

test('openAppend: a FIFO without a reader is refused at once; /dev/null and regular files are accepted', () => {
  assert.throws(() => openAppend(fifo), refused(/nobody has the other end open \(a FIFO without a reader, or a socket\) \(ENXIO\)/));
  assert.throws(() => openAppend(dir), refused(/is a directory \(EISDIR\)/));
  const dev = openAppend('/dev/null');
  assert.equal(dev.regular, false);
  closeSync(dev.fd);
  const file = join(dir, 'req.log');
  writeFileSync(file, 'first\n');
  const log = openAppend(file);
  writeSync(log.fd, 'second\n');
  closeSync(log.fd);
  assert.equal(readFileSync(file, 'utf8'), 'first\nsecond\n', 'appended');
});

test('the admin token file must be a small regular file', () => {
  assert.throws(() => loadTokenFile('/dev/zero'), (e: unknown) => e instanceof PenError && /not a regular file/.test(e.message));
  const big = join(dir, 'tokens-big');
  writeFileSync(big, `admin ${'x'.repeat(FILE_LIMITS.tokens)}\n`);
  assert.throws(() => loadTokenFile(big), (e: unknown) => e instanceof PenError && /larger than/.test(e.message));
});

const notRoot = process.getuid?.() !== 0 ? 'needs root, to run the writer as another user' : false;

test('a file the -u user owns in a directory it cannot write is rewritten in place, as pen does', { skip: notRoot }, () => {
  const sub = join(dir, 'root-owned');
  mkdirSync(sub, { mode: 0o755 });
  chmodSync(dir, 0o755); // mkdtemp makes 0700; the other user must be able to reach `sub`
  const file = join(sub, 'pen.cfg');
  writeFileSync(file, 'old\n');
  chownSync(file, 65534, 65534);
  const script = `import(${JSON.stringify(new URL('../../server/core/files.ts', import.meta.url).href)}).then(async (m) => {
    await m.writeOperatorFile(${JSON.stringify(file)}, 'async\\n');
    process.stdout.write(require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8'));
    m.writeOperatorFileSync(${JSON.stringify(file)}, 'sync\\n');
  }).catch((e) => { process.stdout.write('ERR ' + e.message); });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.stdout, 'async\n', r.stderr);
  assert.equal(readFileSync(file, 'utf8'), 'sync\n');
  assert.deepEqual(readdirSync(sub), ['pen.cfg'], 'no temporary file');
});
