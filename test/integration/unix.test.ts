// Unix-domain sockets: pen listening on a path, and backends on paths, with curl --unix-socket.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { freePort, httpBackend } from '../helpers/backends.ts';
import { waitFor } from '../helpers/netns.ts';
import { penctl, startPen } from '../helpers/pen.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-unix-'));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
after(() => rmSync(dir, { recursive: true, force: true }));

function curl(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', '5', ...args], (err, stdout) => resolve(err ? `exit ${(err as { code?: number }).code}` : stdout));
  });
}

/** An HTTP backend on a Unix socket path that answers with its name and records X-Forwarded-For. */
async function unixBackend(name: string, path: string): Promise<{ seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(String(req.headers['x-forwarded-for'] ?? ''));
    res.end(name);
  });
  server.listen(path);
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return { seen };
}

describe('Unix sockets', () => {
  test('pen listens on a socket path; curl --unix-socket reaches a TCP backend; the path is removed on exit', async () => {
    const backend = await httpBackend('A');
    cleanups.push(() => backend.close());
    const sock = join(dir, 'listen.sock');
    writeFileSync(sock, 'stale'); // whatever is at the path is replaced, as pen does
    const pen = await startPen([sock, `127.0.0.1:${backend.port}`], { waitPath: sock });
    cleanups.push(() => pen.stop());
    assert.equal(await curl(['--unix-socket', sock, 'http://localhost/']), 'A');
    assert.equal(await curl(['--unix-socket', sock, 'http://localhost/again']), 'A');
    assert.equal(await pen.stop(), 0);
    assert.equal(existsSync(sock), false);
  });

  test('backends on socket paths behind a TCP listener, balanced round robin, listed as "addr PATH port 1"', async () => {
    const p1 = join(dir, 'b1.sock');
    const p2 = join(dir, 'b2.sock');
    await unixBackend('U1', p1);
    await unixBackend('U2', p2);
    const port = await freePort();
    const ctl = await freePort();
    const pen = await startPen(['-r', '-u', 'root', '-C', `127.0.0.1:${ctl}`, `127.0.0.1:${port}`, p1, p2], { waitPort: port });
    cleanups.push(() => pen.stop());
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await curl([`http://127.0.0.1:${port}/`]));
    assert.deepEqual(answers, ['U2', 'U1', 'U2', 'U1']);
    // pen closes the last client's connection just after curl has its answer: 2 s at most for that
    const list = () => penctl(`127.0.0.1:${ctl}`, ['servers']).stdout;
    await waitFor(() => !/ conn [1-9]/.test(list()), 2000, 50);
    const servers = list();
    assert.match(servers, new RegExp(`^0 addr ${p1} port 1 conn 0 `, 'm'));
    assert.match(servers, new RegExp(`^1 addr ${p2} port 1 conn 0 `, 'm'));
  });

  test('Unix listener to a Unix backend, with -H inserting X-Forwarded-For', async () => {
    const back = join(dir, 'back.sock');
    const front = join(dir, 'front.sock');
    const b = await unixBackend('U', back);
    const pen = await startPen(['-H', front, back], { waitPath: front });
    cleanups.push(() => pen.stop());
    assert.equal(await curl(['--unix-socket', front, 'http://localhost/']), 'U');
    assert.equal(b.seen.length, 1);
    assert.notEqual(b.seen[0], '', 'the header was inserted');
  });

  test('a refused connect to a Unix backend fails over to the next one', async () => {
    const p1 = join(dir, 'f1.sock');
    const p2 = join(dir, 'f2.sock');
    await unixBackend('U1', p1);
    const port = await freePort();
    // nothing listens on p2; with -r and blacklisting off (-b 0) every other request is sent
    // there first, so each of them must fail over to U1
    const pen = await startPen(['-r', '-b', '0', `127.0.0.1:${port}`, p1, p2], { waitPort: port });
    cleanups.push(() => pen.stop());
    for (let i = 0; i < 4; i++) assert.equal(await curl([`http://127.0.0.1:${port}/`]), 'U1');
  });
});
