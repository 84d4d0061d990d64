// Running out of file descriptors is the balancer's condition, not a server's: pen under a low
// `ulimit -n` (prlimit) pauses until descriptors free up, blacklists no server for it, counts it,
// and serves new clients within a second once the pressure is gone.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { freePort, sleep, tcpBackend } from '../helpers/backends.ts';
import { PEN } from '../helpers/pen.ts';

/** client-server pairs that fit in the descriptors pen is left with */
const PAIRS = 10;

/**
 * The lowest descriptor limit that leaves pen `free` descriptors (an inherited one above it
 * takes no place under it).
 */
function limitLeaving(pid: number, free: number): number {
  const used = readdirSync(`/proc/${pid}/fd`).map(Number);
  for (let limit = 1; limit < 4096; limit++) if (limit - used.filter((fd) => fd < limit).length === free) return limit;
  throw new Error('no such limit');
}

function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** A client through pen: its greeting ('' when pen closes it), and the socket to let go of later. */
function connect(port: number): { socket: net.Socket; greeting: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const greeting = new Promise<string>((resolve) => {
    let buf = '';
    socket.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.trim());
    });
    socket.on('close', () => resolve(buf.trim()));
  });
  return { socket, greeting };
}

const within = <T>(p: Promise<T>, ms: number, late: T) => Promise.race([p, sleep(ms).then(() => late)]);

interface LimitedPen {
  pid: number; admin: number; stderr(): string; limit(free: number): number; stop(): Promise<void>;
}

/**
 * Our pen with -d and the admin API, started with room to load its modules; limit() lowers its
 * descriptor limit later.
 */
async function limitedPen(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<LimitedPen> {
  const admin = await freePort();
  const child = spawn('prlimit', ['--nofile=1024:1024', process.execPath, PEN, '-f', '-d', '--admin', `127.0.0.1:${admin}`, ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // ready once the admin API answers (no data connection used up)
  const deadline = Date.now() + 15000;
  while (!(await getJson(admin, '/stats').then(() => true, () => false))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`pen did not start: ${stderr}`);
    }
    await sleep(100);
  }
  await sleep(300); // the admin request's socket closes
  return {
    pid: child.pid!, admin, stderr: () => stderr, stop,
    limit(free) {
      const limit = limitLeaving(child.pid!, free);
      assert.equal(spawnSync('prlimit', ['--pid', String(child.pid), `--nofile=${limit}:1024`]).status, 0); // the soft limit: the hard one could not be raised again
      return limit;
    },
  };
}

test('descriptor exhaustion pauses new connections, blacklists no server, and pen recovers within a second', async (t) => {
  if (spawnSync('prlimit', ['--version']).status !== 0) return t.skip('prlimit (util-linux) is needed');
  const backend = await tcpBackend('A');
  const port = await freePort();
  // the TypeScript path: on the native path a connect that finds no descriptor drops its client
  // (the engine cannot park a connect yet), so this waiting is not what it does
  const pen = await limitedPen([`127.0.0.1:${port}`, `127.0.0.1:${backend.port}`], { ...process.env, PEN_DATAPATH: 'portable' });
  const held: net.Socket[] = [];
  try {
    // each pair takes two descriptors: with one more free, the next client is accepted and
    // its connect to the server is the call that finds no descriptor
    const limit = pen.limit(2 * PAIRS + 1);
    for (let i = 0; i < PAIRS; i++) {
      const c = connect(port);
      held.push(c.socket);
      assert.equal(await within(c.greeting, 5000, 'late'), 'A', `pair ${i} of ${PAIRS} (limit ${limit})`);
    }
    // the next client gets pen's last descriptor and has to wait for a second one
    const waiter = connect(port);
    held.push(waiter.socket);
    assert.equal(await within(waiter.greeting, 1000, 'waiting'), 'waiting', 'the client waits while pen has no descriptor');
    assert.match(pen.stderr(), /out of file descriptors/, 'a -d line says why pen paused');

    // the pressure goes: the waiting client is served, and so are new ones, within a second
    for (const s of held.slice(0, -1)) s.destroy();
    const released = Date.now();
    assert.equal(await within(waiter.greeting, 1000, 'late'), 'A', `the waiting client is served: ${pen.stderr()}`);
    for (let i = 0; i < 5; i++) {
      const c = connect(port);
      held.push(c.socket);
      assert.equal(await within(c.greeting, 1000, 'late'), 'A', `new client ${i} is served`);
    }
    const recovery = Date.now() - released;
    assert.ok(recovery < 1000, `served ${recovery} ms after the pressure went away`);

    assert.doesNotMatch(pen.stderr(), /blacklisting server/, 'no server is blamed for our descriptors');
    assert.match(pen.stderr(), /file descriptors available again/);
    const stats = await getJson(pen.admin, '/stats');
    assert.equal((stats.servers as { state: string }[])[0]?.state, 'up');
    const totals = stats.totals as { fdPauses: number; dropped: number };
    assert.ok(totals.fdPauses >= 1, `the pause is counted: ${JSON.stringify(totals)}`);
  } finally {
    for (const s of held) s.destroy();
    await pen.stop();
    await backend.close();
  }
});

test('a UDP session that finds no descriptor is counted and logged once, not per datagram', async (t) => {
  if (spawnSync('prlimit', ['--version']).status !== 0) return t.skip('prlimit (util-linux) is needed');
  const echo = dgram.createSocket('udp4');
  echo.on('message', (msg, from) => echo.send(msg, from.port, from.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  const port = await freePort();
  const pen = await limitedPen(['-U', `127.0.0.1:${port}`, `127.0.0.1:${echo.address().port}`]);
  const clients: dgram.Socket[] = [];
  /** one datagram from a new client socket (a new session): its echo, or '' */
  const ask = async () => {
    const c = dgram.createSocket('udp4');
    clients.push(c);
    await new Promise<void>((r) => c.bind(0, '127.0.0.1', r));
    const reply = new Promise<string>((r) => c.once('message', (m) => r(String(m))));
    c.send('q', port, '127.0.0.1');
    return within(reply, 1500, '');
  };
  try {
    pen.limit(3); // a session takes one descriptor: three sessions fit
    for (let i = 0; i < 3; i++) assert.equal(await ask(), 'q', `session ${i} is served`);
    for (let i = 0; i < 3; i++) assert.equal(await ask(), '', 'no descriptor for a fourth session: its datagram is dropped');
    assert.match(pen.stderr(), /out of file descriptors/);
    assert.doesNotMatch(pen.stderr(), /udp session \d+: .*EMFILE/, 'no line per datagram');
    assert.doesNotMatch(pen.stderr(), /blacklisting server/);
    pen.limit(20); // room for the admin request
    const totals = (await getJson(pen.admin, '/stats')).totals as { fdPauses: number; dropped: number };
    assert.ok(totals.fdPauses >= 1 && totals.dropped >= 3, JSON.stringify(totals));
  } finally {
    for (const c of clients) c.close();
    echo.close();
    await pen.stop();
  }
});
