// Which data path serves the listener: native when the addon loads (its sockets sit in the
// engine's edge-triggered epoll set, which libuv never uses), portable when PEN_DATAPATH says so
// or a setting needs the TypeScript path, and a switch at run time reopens the listener there.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { freePort, get, tcpBackend, sleep } from '../helpers/backends.ts';
import { startBalancer } from '../helpers/balancer.ts';
import { dnsBackend, dnsClient, freeUdpPort } from '../helpers/dns.ts';
import { startPen } from '../helpers/pen.ts';
import { control } from '../helpers/probe.ts';
import { loadNative } from '../../server/core/native.ts';

const built = !('error' in loadNative());
const EPOLLET = 0x80000000;

/** fds of pid registered edge-triggered in some epoll set: the engine's data fds (libuv is level-triggered). */
function edgeTriggered(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try { info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'); } catch { continue; }
    for (const m of info.matchAll(/^tfd:\s*\d+ events:\s*([0-9a-f]+)/gm)) if (Number.parseInt(m[1] ?? '0', 16) & EPOLLET) n += 1;
  }
  return n;
}

/** pid's epoll fds, each with what it watches: the fd and its epoll_data (hex, as fdinfo prints it). */
function epollSets(pid: number): Map<string, { fd: string; data: string }[]> {
  const sets = new Map<string, { fd: string; data: string }[]>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try { info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'); } catch { continue; }
    const watched = [...info.matchAll(/^tfd:\s*(\d+)\s.*?data:\s*([0-9a-f]+)/gm)].map((m) => ({ fd: m[1] ?? '', data: m[2] ?? '' }));
    if (watched.length > 0) sets.set(fd, watched);
  }
  return sets;
}

/**
 * fds in the engine's epoll sets. An engine's set is watched by libuv's (one uv_poll per engine,
 * epoll_data the fd), except while the engine holds Node's loop (native/hold.c): then libuv's set
 * is inside the engine's, with epoll_data 0 (TAG_LOOP). UDP fds are level-triggered, so
 * edgeTriggered does not see them.
 */
function engineFds(pid: number): number {
  const sets = epollSets(pid);
  const isLoop = (w: { fd: string; data: string }) => sets.has(w.fd) && Number.parseInt(w.data, 16) === 0;
  const engines = new Set<string>();
  for (const [fd, watched] of sets) {
    for (const w of watched) if (sets.has(w.fd)) engines.add(isLoop(w) ? fd : w.fd);
  }
  const own = (fd: string) => (sets.get(fd) ?? []).filter((w) => !isLoop(w));
  return [...engines].reduce((n, fd) => n + own(fd).length, 0);
}

async function datapathOf(admin: number): Promise<{ path: string; reason: string }> {
  const r = await fetch(`http://127.0.0.1:${admin}/stats`);
  return ((await r.json()) as { datapath: { path: string; reason: string } }).datapath;
}

async function start(env: Record<string, string | undefined>) {
  const backend = await tcpBackend('A');
  const [port, ctl, admin] = [await freePort(), await freePort(), await freePort()];
  const saved = process.env.PEN_DATAPATH;
  if (env.PEN_DATAPATH === undefined) delete process.env.PEN_DATAPATH;
  else process.env.PEN_DATAPATH = env.PEN_DATAPATH;
  try {
    const pen = await startPen(['-d', '-u', 'root', '-C', `127.0.0.1:${ctl}`, '--admin', `127.0.0.1:${admin}`, `127.0.0.1:${port}`, `127.0.0.1:${backend.port}`], { waitPort: port });
    for (let i = 0; i < 100 && !(await fetch(`http://127.0.0.1:${admin}/whoami`).then(() => true, () => false)); i++) await sleep(50);
    return { pen, backend, port, ctl, admin };
  } finally {
    if (saved === undefined) delete process.env.PEN_DATAPATH;
    else process.env.PEN_DATAPATH = saved;
  }
}

/** A client that got the backend's greeting and stays connected. */
async function held(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('data', () => resolve());
    setTimeout(() => reject(new Error('no greeting')), 5000);
  });
  return s;
}

test('with the addon built, a plain TCP listener is native: said by -d, /stats and /metrics, and its sockets are the engine\'s', { skip: !built && 'the addon is not built' }, async () => {
  const p = await start({ PEN_DATAPATH: undefined });
  try {
    const dp = await datapathOf(p.admin);
    assert.equal(dp.path, 'native');
    assert.match(p.pen.stderr(), /datapath: native for 127\.0\.0\.1:\d+ \(the native addon is loaded\)/);
    assert.match(await (await fetch(`http://127.0.0.1:${p.admin}/metrics`)).text(), /pen_datapath_info\{path="native"\} 1/);
    const before = edgeTriggered(p.pen.child.pid!);
    const c = await held(p.port);
    // the client's and the server's socket join the engine's epoll set
    assert.equal(edgeTriggered(p.pen.child.pid!), before + 2);
    assert.match(await control(p.ctl, 'connection 0'), /state = 2/);
    c.destroy();
    // `http` needs the TypeScript path: the listener is reopened there at once
    assert.equal(await control(p.ctl, 'http'), '');
    assert.deepEqual(await datapathOf(p.admin), { path: 'portable', reason: 'X-Forwarded-For (-H, http) needs the TypeScript path' });
    // the native listener is closed and its one connection has ended: nothing is edge-triggered now
    for (let i = 0; i < 100 && edgeTriggered(p.pen.child.pid!) > 0; i++) await sleep(20);
    assert.equal(edgeTriggered(p.pen.child.pid!), 0);
    const d = await held(p.port);
    assert.equal(edgeTriggered(p.pen.child.pid!), 0, 'the new client is on the TypeScript path');
    d.destroy();
    assert.match(p.pen.stderr(), /datapath: reopening the listener: X-Forwarded-For/);
  } finally {
    await p.pen.stop();
    await p.backend.close();
  }
});

test('PEN_DATAPATH=portable forces the TypeScript path', async () => {
  const p = await start({ PEN_DATAPATH: 'portable' });
  try {
    assert.deepEqual(await datapathOf(p.admin), { path: 'portable', reason: 'PEN_DATAPATH=portable' });
    assert.match(await (await fetch(`http://127.0.0.1:${p.admin}/metrics`)).text(), /pen_datapath_info\{path="portable"\} 1/);
    const c = await held(p.port);
    assert.equal(edgeTriggered(p.pen.child.pid!), 0, 'no socket is edge-triggered: libuv owns them all');
    c.destroy();
  } finally {
    await p.pen.stop();
    await p.backend.close();
  }
});

test('a bad PEN_DATAPATH is one clear error line and pen exits', async () => {
  const port = await freePort();
  const saved = process.env.PEN_DATAPATH;
  process.env.PEN_DATAPATH = 'fast';
  try {
    const { spawnSync } = await import('node:child_process');
    const { PEN } = await import('../helpers/pen.ts');
    const r = spawnSync(process.execPath, [PEN, '-f', `127.0.0.1:${port}`, '127.0.0.1:9'], { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /PEN_DATAPATH=fast: must be native or portable/);
  } finally {
    if (saved === undefined) delete process.env.PEN_DATAPATH;
    else process.env.PEN_DATAPATH = saved;
  }
});

async function startUdp(datapath: string) {
  const backend = await dnsBackend('10.0.0.1');
  const [port, ctl, admin] = [await freeUdpPort(), await freePort(), await freePort()];
  const saved = process.env.PEN_DATAPATH;
  process.env.PEN_DATAPATH = datapath;
  try {
    const pen = await startPen(['-U', '-d', '-u', 'root', '-C', `127.0.0.1:${ctl}`, '--admin', `127.0.0.1:${admin}`, `127.0.0.1:${port}`, `127.0.0.1:${backend.port}`], { waitPort: port });
    for (let i = 0; i < 100 && !(await fetch(`http://127.0.0.1:${admin}/whoami`).then(() => true, () => false)); i++) await sleep(50);
    return { pen, backend, port, ctl, admin };
  } finally {
    if (saved === undefined) delete process.env.PEN_DATAPATH;
    else process.env.PEN_DATAPATH = saved;
  }
}

test('with the addon built, a UDP listener is native: its socket and each session\'s are the engine\'s, and sessions show in the table', { skip: !built && 'the addon is not built' }, async () => {
  const p = await startUdp('native');
  const c = await dnsClient();
  try {
    assert.equal((await datapathOf(p.admin)).path, 'native');
    assert.match(p.pen.stderr(), /datapath: native for 127\.0\.0\.1:\d+ \(PEN_DATAPATH=native\)/);
    const pid = p.pen.child.pid!;
    assert.equal(engineFds(pid), 1, 'the listener socket is in the engine\'s epoll set');
    for (let i = 0; i < 3; i++) assert.equal((await c.ask(p.port))?.answer, '10.0.0.1');
    assert.equal(engineFds(pid), 2, 'and the session\'s upstream socket');
    assert.equal(new Set(p.backend.queries.map((q) => q.port)).size, 1, 'one upstream socket for the three queries');
    assert.match(await control(p.ctl, 'connection 0'), /state = 2/);
    const stats = (await (await fetch(`http://127.0.0.1:${p.admin}/stats`)).json()) as { totals: { connections: number } };
    assert.equal(stats.totals.connections, 1, JSON.stringify(stats.totals));
    // `close N` closes the session in the engine; the client's next query is a new session
    assert.match(await control(p.ctl, 'close 0'), /Forcibly closing connection 0/);
    for (let i = 0; i < 100 && engineFds(pid) > 1; i++) await sleep(20);
    assert.equal(engineFds(pid), 1);
    assert.equal((await c.ask(p.port))?.answer, '10.0.0.1');
    assert.equal(new Set(p.backend.queries.map((q) => q.port)).size, 2);
  } finally {
    c.close();
    await p.pen.stop();
    await p.backend.close();
  }
});

test('PEN_DATAPATH=portable keeps UDP on the TypeScript path: no engine', async () => {
  const p = await startUdp('portable');
  const c = await dnsClient();
  try {
    assert.deepEqual(await datapathOf(p.admin), { path: 'portable', reason: 'PEN_DATAPATH=portable' });
    assert.equal((await c.ask(p.port))?.answer, '10.0.0.1');
    assert.equal(engineFds(p.pen.child.pid!), 0);
  } finally {
    c.close();
    await p.pen.stop();
    await p.backend.close();
  }
});

test('a command that moves the listener to the TypeScript path answers once the new listener is open', { skip: !built && 'the addon is not built' }, async () => {
  // `dummy` needs the TypeScript path: the native listener is closed and a portable one opened on
  // the same port. The reply waits for that, so a client connecting right after it is served by
  // the new listener, never refused in the moment between the two (control-compat met that once).
  const forced = process.env.PEN_DATAPATH;
  process.env.PEN_DATAPATH = 'native';   // npm test also runs this file with PEN_DATAPATH=portable
  const backend = await tcpBackend('b');
  const pen = await startBalancer([`server 0 address 127.0.0.1 port ${backend.port}`]).finally(() => {
    if (forced === undefined) delete process.env.PEN_DATAPATH; else process.env.PEN_DATAPATH = forced;
  });
  try {
    assert.equal(pen.pen.datapath.path, 'native');
    await pen.cmd('dummy');
    assert.equal(pen.pen.datapath.path, 'portable');
    assert.notEqual(pen.pen.listener, null, 'the reply came once the new listener was open');
    assert.equal(await get(pen.port), 'Ulric was here.');
  } finally { pen.close(); await backend.close(); }
});
