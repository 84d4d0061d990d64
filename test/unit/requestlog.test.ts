// The -l file log: lines leave in pen's format and in order, in batches, off the caller's turn;
// a reader that does not keep up costs lines (counted), never a wait.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { after, test } from 'node:test';
import { RequestLog, requestLogDropped } from '../../server/core/requestlog.ts';
import { sleep } from '../helpers/backends.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-reqlog-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const request = (i: number) => Buffer.from(`GET /n${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
const LINE = /^127\.0\.0\.1 (\d{10}) 127\.0\.0\.2 GET \/n(\d+) HTTP\/1\.1$/;

/** The request numbers of the lines in text, checking each line is whole and in pen's format. */
function numbers(text: string): number[] {
  assert.ok(text === '' || text.endsWith('\n'), 'ends with a whole line');
  return text.split('\n').slice(0, -1).map((l) => {
    const m = LINE.exec(l);
    assert.ok(m, `a line in pen's format: ${JSON.stringify(l)}`);
    return Number(m[2]);
  });
}

test('lines reach the file in order, together a few milliseconds later rather than one write each, and close writes the rest', async () => {
  const file = join(dir, 'req.log');
  const log = new RequestLog(file);
  const N = 5000;
  for (let i = 0; i < 100; i++) log.write('127.0.0.1', '127.0.0.2', request(i));
  assert.equal(readFileSync(file, 'utf8'), '', 'nothing written on the caller\'s turn');
  await turn();
  await sleep(50);
  assert.deepEqual(numbers(readFileSync(file, 'utf8')), [...Array(100).keys()]);
  for (let i = 100; i < N; i++) {
    log.write('127.0.0.1', '127.0.0.2', request(i));
    if (i % 500 === 0) await turn();
  }
  await log.close();
  assert.deepEqual(numbers(readFileSync(file, 'utf8')), [...Array(N).keys()]);
  assert.equal(log.dropped, 0);
  // the field is pen's: the request line only, cut at CR, bytes >= 0x80 as '.'
  const other = new RequestLog(join(dir, 'format.log'));
  other.write('10.0.0.1', '10.0.0.2', Buffer.from([0x47, 0x45, 0x54, 0x20, 0x2f, 0xe9, 0x0d, 0x0a]));
  other.write('10.0.0.1', '10.0.0.2', Buffer.from('x'.repeat(150)));
  await other.close();
  assert.match(readFileSync(join(dir, 'format.log'), 'utf8'), new RegExp(`^10\\.0\\.0\\.1 \\d{10} 10\\.0\\.0\\.2 GET /\\.\\n10\\.0\\.0\\.1 \\d{10} 10\\.0\\.0\\.2 ${'x'.repeat(100)}\\n$`));
});

test('a FIFO whose reader stops reading: lines beyond the bound are dropped and counted, the rest arrive in order', async () => {
  const fifo = join(dir, 'req.fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // held open, not read: the pipe fills
  const before = requestLogDropped();
  const log = new RequestLog(fifo, 8192);
  const total = 4000; // ~170 KB: more than the pipe (64 KB) and the bound (8 KB) hold
  for (let i = 0; i < total; i++) {
    log.write('127.0.0.1', '127.0.0.2', request(i));
    if (i % 100 === 99) await turn();
  }
  await sleep(100);
  assert.ok(log.dropped > 0, 'the stall cost lines');
  // the reader catches up; what was still buffered goes at close
  const got: Buffer[] = [];
  const drain = () => {
    const buf = Buffer.alloc(65536);
    for (;;) {
      let n: number;
      try { n = readSync(reader, buf); } catch { return; } // EAGAIN: empty for now
      if (n === 0) return; // the writer closed
      got.push(Buffer.from(buf.subarray(0, n)));
    }
  };
  drain();
  const closed = log.close();
  for (let i = 0; i < 50; i++) {
    drain();
    await sleep(10);
  }
  await closed;
  drain();
  closeSync(reader);
  const seen = numbers(Buffer.concat(got).toString('latin1'));
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `in order: ${seen[i - 1]} before ${seen[i]}`);
  assert.equal(seen.length + log.dropped, total, 'every line either arrived or was counted as dropped');
  assert.equal(requestLogDropped() - before, log.dropped, 'and the process-wide counter has them');
  assert.deepEqual(seen.slice(0, 100), [...Array(100).keys()], 'the first turn\'s lines (4 KB, under the bound) all arrived');
});

test('a full disk (/dev/full) drops and counts every line without an error reaching the caller', async () => {
  const log = new RequestLog('/dev/full');
  for (let i = 0; i < 300; i++) log.write('127.0.0.1', '127.0.0.2', request(i));
  await turn();
  await sleep(50);
  await log.close();
  assert.equal(log.dropped, 300);
});
