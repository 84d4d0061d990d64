// Subscribers to /stream that complete the handshake and then never read, against a real pen
// process: its memory stays bounded, they are dropped, forwarding goes on meanwhile, and past
// --admin-stream-max a newcomer is refused with 503.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { freePort, get, httpBackend, sleep } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';
import { startPen, type PenProcess } from '../helpers/pen.ts';

/** servers in the table: each is a row of every snapshot, some 1.1 MB in all */
const SERVERS = 6000;
/** subscribers that never read; also the cap, so the next one is refused */
const SLOW = 120;
/** how long they are left unread: the kernel's send buffers fill, then the hub must act */
const STALL_MS = 25_000;
/**
 * pen's RSS may grow this much while they sit there. The old hub kept one copy of a snapshot
 * per subscriber (+400 MB for these 120); now every subscriber shares one Buffer.
 */
const RSS_GROWTH_MAX_MB = 80;

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

/** A raw TCP client that sends the WebSocket handshake, reads the status line, then stops reading. */
function rawSubscribe(port: number): Promise<{ socket: net.Socket; status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const t = setTimeout(() => { socket.destroy(); reject(new Error('no handshake reply within 10 s')); }, 10_000);
    socket.once('error', (e) => { clearTimeout(t); reject(e); });
    socket.once('data', (d) => {
      clearTimeout(t);
      // WHY: a paused socket reads at most its high-water mark into the process, then the
      // kernel's receive window closes and pen's writes back up
      socket.pause();
      socket.on('error', () => {});
      const head = d.toString('latin1');
      resolve({ socket, status: Number(head.split(' ')[1]), head });
    });
    socket.write([
      'GET /stream HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', '',
    ].join('\r\n'));
  });
}

/** Read a paused socket to its end; true if the peer closed it within `ms`. */
function drainsToClose(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    socket.on('close', () => { clearTimeout(t); resolve(true); });
    socket.on('data', () => {});
    socket.resume();
  });
}

function setWeight(port: number, weight: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/penctl', agent: false, timeout: 5000, headers: { 'content-type': 'text/plain' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end(`server 0 weight ${weight}`);
  });
}

test('subscribers that never read are dropped with bounded memory while forwarding goes on, and past the cap a newcomer gets 503', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pen-stream-slow-'));
  const backend = await httpBackend('b0');
  let pen: PenProcess | null = null;
  const slow: net.Socket[] = [];
  let watcher: WebSocket | null = null;
  let driving = true;
  try {
    const [listen, admin] = [await freePort(), await freePort()];
    const config = join(dir, 'servers.cfg');
    writeFileSync(config, Array.from({ length: SERVERS }, (_, i) => `server ${i} address 127.0.0.1 port ${backend.port}\n`).join(''));
    pen = await startPen(['-F', config, '--admin', `127.0.0.1:${admin}`, '--admin-stream-max', String(SLOW), `127.0.0.1:${listen}`], { waitPort: admin });
    const pid = pen.child.pid!;
    const stats = await new Promise<string>((resolve) => http.get({ host: '127.0.0.1', port: admin, path: '/stats' }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }));
    assert.ok(stats.length > 1_000_000, `a snapshot is ${stats.length} bytes; the test needs them large`);
    assert.equal(await get(listen), 'b0');
    await sleep(1000);
    const before = rssMb(pid);

    for (let i = 0; i < SLOW; i++) {
      const s = await rawSubscribe(admin);
      slow.push(s.socket);
      assert.equal(s.status, 101, `subscriber ${i}: ${s.head.split('\r\n')[0]}`);
    }
    const refused = await rawSubscribe(admin);
    refused.socket.destroy();
    assert.equal(refused.status, 503, 'one past --admin-stream-max');
    assert.match(refused.head, /retry-after: \d+/i);

    // while they sit unread: up to 100 config events a second (each one a frame for every
    // subscriber), a probe through the balancer every 250 ms, and pen's RSS every 250 ms
    let commands = 0;
    const events = (async () => {
      for (let w = 1; driving; w = (w % 9) + 1) {
        if ((await setWeight(admin, w)) === 200) commands += 1;
        await sleep(10);
      }
    })();
    let peak = before;
    let probes = 0;
    const failed: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < STALL_MS) {
      const body = await get(listen, { timeoutMs: 5000 });
      probes += 1;
      if (body !== 'b0') failed.push(Date.now() - t0);
      peak = Math.max(peak, rssMb(pid));
      await sleep(250);
    }
    driving = false;
    await events;
    const growth = peak - before;
    console.log(`pen RSS ${before.toFixed(0)} MB → peak ${peak.toFixed(0)} MB with ${SLOW} unread subscribers; ${commands} events; ${probes} probes, ${failed.length} failed`);
    assert.ok(commands > 100, `only ${commands} events were driven`);
    assert.ok(growth < RSS_GROWTH_MAX_MB, `RSS grew ${growth.toFixed(0)} MB (from ${before.toFixed(0)} MB)`);
    assert.deepEqual(failed, [], 'every probe through the balancer was answered');

    // a dropped subscriber's socket was closed by pen: reading it now reaches the end
    const closed = await Promise.all(slow.map((s) => drainsToClose(s, 20_000)));
    assert.equal(closed.filter(Boolean).length, SLOW, 'every unread subscriber was dropped');

    // and the hub has room again: a subscriber that reads gets snapshots
    watcher = new WebSocket(`ws://127.0.0.1:${admin}/stream`);
    const got = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no snapshot within 10 s')), 10_000);
      watcher!.once('message', (d) => { clearTimeout(t); resolve(String(d)); });
      watcher!.once('error', (e) => { clearTimeout(t); reject(e); });
    });
    assert.equal((JSON.parse(got) as { type: string }).type, 'snapshot');
  } finally {
    driving = false;
    watcher?.terminate();
    for (const s of slow) s.destroy();
    await pen?.stop();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--admin-stream-max takes a number of at least 1', async () => {
  const { parseCommandLine } = await import('../../server/cli/args.ts');
  assert.equal(parseCommandLine(['--admin', '9000', '--admin-stream-max', '5', '8080', 'h:80']).adminStreamMax, 5);
  assert.equal(parseCommandLine(['8080', 'h:80']).adminStreamMax, null);
  for (const bad of ['0', '-1', 'x', '']) assert.throws(() => parseCommandLine(['--admin-stream-max', bad, '8080']), /--admin-stream-max/);
  assert.throws(() => parseCommandLine(['--admin-stream-max', '0', '8080']), /must be a number of at least 1/);
});

/** A hub on its own WebSocket server, ticking every `intervalMs`, over a pen with `servers` slots. */
async function hubWith(servers: number, intervalMs: number) {
  const { adminFixture } = await import('./admin-fixture.ts');
  const { createStreamHub } = await import('../../server/admin/stream.ts');
  const { createSampler } = await import('../../server/stats/snapshot.ts');
  const g = await adminFixture({ backends: 1 });
  for (let i = 1; i < servers; i++) await g.cmd(`server ${i} address 127.0.0.1 port ${nth(g.backends, 0).port}`);
  const hub = createStreamHub({ pen: g.pen, runtime: g.runtime, sampler: createSampler(g.pen) }, intervalMs, 4);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => hub.add(ws));
  await new Promise((r) => wss.once('listening', r));
  const url = `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`;
  const subscriber = async () => {
    const ws = new WebSocket(url);
    const counted = { ws, snapshots: 0 };
    ws.on('message', () => { counted.snapshots += 1; });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    return counted;
  };
  const until = async (what: string, cond: () => boolean, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  };
  return {
    hub, subscriber, until,
    async close() {
      hub.close();
      await new Promise((r) => wss.close(r));
      await g.close();
    },
  };
}

test('a subscriber that stops reading is dropped once its snapshot stops going out, with no events needed; one that reads keeps its stream', { timeout: 60_000 }, async () => {
  // a snapshot of some 1.1 MB every 50 ms: the kernel's send buffer is full within a few ticks
  const h = await hubWith(6000, 50);
  try {
    const fast = await h.subscriber();
    const slow = await h.subscriber();
    slow.ws.pause();
    const from = fast.snapshots;
    await h.until('the slow subscriber to be dropped', () => h.hub.size === 1);
    // the heartbeat needs 60 ticks (a ping at 30, the drop at 60): this was the stall rule
    console.log(`dropped after ${fast.snapshots - from} ticks`);
    assert.ok(fast.snapshots - from < 40, `dropped after ${fast.snapshots - from} ticks`);
    assert.equal(fast.ws.readyState, WebSocket.OPEN);
    const more = fast.snapshots;
    await h.until('more snapshots for the reader', () => fast.snapshots >= more + 3);
    fast.ws.close();
  } finally {
    await h.close();
  }
});

test('a subscriber that falls behind and catches up gets the newest snapshot, not every one it missed', { timeout: 60_000 }, async () => {
  const h = await hubWith(6000, 50);
  try {
    const fast = await h.subscriber();
    const slow = await h.subscriber();
    slow.ws.pause();
    const [fast0, slow0] = [fast.snapshots, slow.snapshots];
    // ~4 MB of send buffer holds about 4 snapshots; 9 ticks leaves it blocked for ~5 of the 10 allowed
    await h.until('9 ticks', () => fast.snapshots >= fast0 + 9);
    slow.ws.resume();
    const fast1 = fast.snapshots;
    await h.until('5 more ticks', () => fast.snapshots >= fast1 + 5);
    assert.equal(h.hub.size, 2, 'it was not dropped');
    const [missedFast, missedSlow] = [fast.snapshots - fast0, slow.snapshots - slow0];
    console.log(`behind: the slow one got ${missedSlow} snapshots, the reader ${missedFast}`);
    assert.ok(missedSlow < missedFast - 2, `the slow one got ${missedSlow} snapshots, the reader ${missedFast}`);
    fast.ws.close();
    slow.ws.close();
  } finally {
    await h.close();
  }
});
