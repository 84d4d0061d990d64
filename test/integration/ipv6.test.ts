// IPv6 listen forms (`:::PORT`, `::1:PORT`, `[::1]:PORT`) and bracketed IPv6 backends, both
// directions between the families, with curl as the client (pen testsuite cases 9 and 10).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { afterEach, describe, test } from 'node:test';
import { freePort, httpBackend, type HttpBackend } from '../helpers/backends.ts';
import { penctl, startPen, type PenProcess } from '../helpers/pen.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function curl(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', '5', ...args], (err, stdout) => resolve(err ? `exit ${(err as { code?: number }).code}` : stdout));
  });
}

async function backend(name: string, host: string): Promise<HttpBackend> {
  const b = await httpBackend(name, host);
  cleanups.push(() => b.close());
  return b;
}

/** Start pen and wait until it listens on `port` (IPv4 or IPv6; no connection is made). */
async function penOn(args: string[], port: number): Promise<PenProcess> {
  const pen = await startPen(args, { waitPort: port });
  cleanups.push(() => pen.stop());
  return pen;
}

describe('IPv6', () => {
  test('IPv6 to IPv4: a :::PORT listener serves IPv6 and IPv4 clients, and IPv4 clients are shown plainly', async () => {
    const b = await backend('A', '127.0.0.1');
    const port = await freePort('::');
    await penOn(['-H', `:::${port}`, `127.0.0.1:${b.port}`], port);
    assert.equal(await curl(['-g6', `http://[::1]:${port}/`]), 'A');
    assert.equal(await curl(['-4', `http://127.0.0.1:${port}/`]), 'A');
    const xff = b.requests.map((r) => /x-forwarded-for: (.*)/.exec(r)?.[1]);
    assert.deepEqual(xff, ['::1', '127.0.0.1'], 'a mapped IPv4 client is not written as ::ffff:127.0.0.1');
  });

  test('::1:PORT (pen\'s form) and [::1]:PORT both listen on ::1 only', async () => {
    const b = await backend('A', '127.0.0.1');
    for (const make of [(p: number) => `::1:${p}`, (p: number) => `[::1]:${p}`]) {
      const port = await freePort('::');
      const pen = await penOn([make(port), `127.0.0.1:${b.port}`], port);
      assert.equal(await curl(['-g6', `http://[::1]:${port}/`]), 'A', make(port));
      assert.match(await curl(['-4', `http://127.0.0.1:${port}/`]), /^exit /, 'not reachable over IPv4');
      await pen.stop();
    }
  });

  test('IPv4 to IPv6: a bracketed [::1]:PORT backend behind an IPv4 listener', async () => {
    const b6 = await backend('SIX', '::1');
    const port = await freePort();
    const ctl = await freePort();
    await penOn(['-H', '-u', 'root', '-C', `127.0.0.1:${ctl}`, `127.0.0.1:${port}`, `[::1]:${b6.port}`], port);
    assert.equal(await curl(['-4', `http://127.0.0.1:${port}/`]), 'SIX');
    assert.match(b6.requests.at(-1) ?? '', /x-forwarded-for: 127\.0\.0\.1/);
    assert.match(penctl(`127.0.0.1:${ctl}`, ['servers']).stdout, new RegExp(`^0 addr ::1 port ${b6.port} `, 'm'));
  });

  test('IPv6 to IPv6 with mixed backends, balanced round robin', async () => {
    const b4 = await backend('FOUR', '127.0.0.1');
    const b6 = await backend('SIX', '::1');
    const port = await freePort('::');
    await penOn(['-r', `::1:${port}`, `127.0.0.1:${b4.port}`, `[::1]:${b6.port}`], port);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await curl(['-g6', `http://[::1]:${port}/`]));
    assert.deepEqual(answers, ['SIX', 'FOUR', 'SIX', 'FOUR']);
  });

  test('an unbracketed IPv6 backend is refused at start-up instead of being mis-parsed', async () => {
    const port = await freePort();
    const pen = await startPen([`127.0.0.1:${port}`, '::1:80']);
    cleanups.push(() => pen.stop());
    const code = await new Promise<number | null>((resolve) => {
      if (pen.child.exitCode !== null) resolve(pen.child.exitCode);
      else pen.child.on('exit', (c) => resolve(c));
    });
    assert.notEqual(code, 0);
    assert.match(pen.stderr(), /write IPv6 addresses in brackets/);
  });
});
