// A daemonized pen sends debug() lines to syslog through one long-lived `logger`, not one
// process per line. The syslog socket is a Unix socket this test owns (PEN_SYSLOG_SOCKET, passed
// to logger -u; logger falls back to a stream socket when the path is not a datagram one), and
// `logger` on pen's PATH is a wrapper that records the pid of every logger started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/backends.ts';
import { waitFor } from '../helpers/netns.ts';
import { PEN, alive } from '../helpers/pen.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-syslog-'));
const sockPath = join(dir, 'log.sock');
const started = join(dir, 'loggers');
let sink: net.Server;
let received = '';

before(async () => {
  mkdirSync(join(dir, 'bin'));
  const wrapper = join(dir, 'bin', 'logger');
  writeFileSync(wrapper, `#!/bin/sh\necho $$ >> ${started}\nexec /usr/bin/logger "$@"\n`);
  chmodSync(wrapper, 0o755);
  sink = net.createServer((s) => s.on('data', (d) => { received += d; }));
  await new Promise<void>((r) => sink.listen(sockPath, r));
});
after(async () => {
  await new Promise((r) => sink.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Connect to pen n times, one after the other, and wait for each close (the backend is dead). */
async function failedConnects(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.resume();
    });
  }
}

const lines = (re: RegExp) => received.split('\n').filter((l) => re.test(l));
const loggers = () => (existsSync(started) ? readFileSync(started, 'utf8').trim().split('\n').map(Number) : []);

test('debug lines of a daemon reach syslog through one logger process, which is restarted if it dies', async () => {
  const [port, dead] = [await freePort(), await freePort()];
  const pidFile = join(dir, 'pen.pid');
  // -b 0: the dead server is never left out, so every client makes one `blacklisting` line
  const parent = spawn(process.execPath, [PEN, '-d', '-b', '0', '-p', pidFile, `127.0.0.1:${port}`, `127.0.0.1:${dead}`], {
    stdio: 'ignore', env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, PEN_SYSLOG_SOCKET: sockPath },
  });
  const [code] = await new Promise<[number | null]>((r) => parent.on('exit', (c) => r([c])));
  assert.equal(code, 0, 'the parent exits 0 once the daemon listens');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    const N = 40;
    const blacklisting = /^<15>.* pen: blacklisting server 0 because of connect failure/;
    await failedConnects(port, N);
    assert.ok(await waitFor(() => lines(blacklisting).length === N, 10000), `${N} lines in syslog, got ${lines(blacklisting).length}`);
    assert.equal(lines(/ pen: pen-ts \S+ starting$/).length, 1, '-d: the start-up line too, tagged pen, priority user.debug (<15>)');
    assert.equal(loggers().length, 1, `one logger for ${N + 1} lines`);
    const [first] = loggers();
    assert.ok(first !== undefined && alive(first));

    // logger dies (the test's own pen started it): the next lines wait, a new logger takes them
    process.kill(first, 'SIGKILL');
    assert.ok(await waitFor(() => !alive(first), 10000));
    await failedConnects(port, N);
    assert.ok(await waitFor(() => lines(blacklisting).length === 2 * N, 10000), `${2 * N} lines after the restart, got ${lines(blacklisting).length}`);
    assert.equal(loggers().length, 2, 'exactly one more logger');
  } finally {
    process.kill(pid, 'SIGTERM');
  }
  assert.ok(await waitFor(() => !alive(pid), 10000), 'pen exits on TERM');
  const last = loggers().at(-1)!;
  assert.ok(await waitFor(() => !alive(last), 10000), 'and its logger with it (end of its stdin)');
});

test('a daemon\'s fatal error (the -l file cannot be reopened on HUP) is said in syslog before it exits', async () => {
  const port = await freePort();
  const [pidFile, log] = [join(dir, 'pen2.pid'), join(dir, 'req.log')];
  const parent = spawn(process.execPath, [PEN, '-p', pidFile, '-l', log, `127.0.0.1:${port}`, '127.0.0.1:9'], {
    stdio: 'ignore', env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, PEN_SYSLOG_SOCKET: sockPath },
  });
  assert.equal(await new Promise((r) => parent.on('exit', r)), 0);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    rmSync(log);
    mkdirSync(log); // what HUP reopens is now a directory
    process.kill(pid, 'SIGHUP');
    assert.ok(await waitFor(() => !alive(pid), 10000), 'pen exits, as pen does when the log cannot be reopened');
  } finally {
    if (alive(pid)) process.kill(pid, 'SIGTERM');
  }
  assert.ok(await waitFor(() => lines(/^<15>.* pen: Can't open logfile .*req\.log: /).length === 1, 10000), received.slice(-500));
});
