// The live stream over a real WebSocket: snapshots every second, events as they happen.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { StreamMessage } from '../../shared/api.ts';
import type { PenEvent } from '../../shared/snapshot.ts';
import { deadPort, freePort, get, sleep } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';
import { listenerCount } from '../../server/core/events.ts';
import { ADMIN_TOKEN, READ_TOKEN, adminFixture, type Fixture } from './admin-fixture.ts';

let f: Fixture;
let base: string;
before(async () => {
  f = await adminFixture();
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  base = `ws://127.0.0.1:${(f.app.server.address() as { port: number }).port}`;
});
after(async () => { await f.close(); });

let listenPort = 0;
/** The balancer listening (its sweep runs only then), on one port for the whole file. */
async function listening(): Promise<number> {
  if (listenPort === 0) {
    listenPort = await freePort();
    await f.pen.listen(`127.0.0.1:${listenPort}`);
  }
  return listenPort;
}

/** A client connection through the balancer, once it is open (and the backend's reply has begun, if any). */
function connected(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => resolve(c));
    c.on('error', reject);
  });
}

async function waitUntil(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}

/** A connected client that collects messages with their arrival times. */
async function subscribe(url: string): Promise<{
  ws: WebSocket;
  messages: { at: number; msg: StreamMessage }[];
  next(pred: (m: StreamMessage) => boolean, ms: number): Promise<{ at: number; msg: StreamMessage }>;
}> {
  const ws = new WebSocket(url);
  const messages: { at: number; msg: StreamMessage }[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    messages.push({ at: performance.now(), msg: JSON.parse(String(data)) as StreamMessage });
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return {
    ws, messages,
    next(pred, ms) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching message within ${ms} ms`)), ms);
        const check = () => {
          const hit = messages.find((m) => pred(m.msg));
          if (hit) { clearTimeout(t); resolve(hit); } else waiters.push(check);
        };
        check();
      });
    },
  };
}

const isEvent = (type: PenEvent['type'], server?: number) => (m: StreamMessage) =>
  m.type === 'event' && m.event.type === type && (server === undefined || m.event.server === server);

test('a subscriber gets a snapshot at once and another every second', async () => {
  const t0 = performance.now();
  const s = await subscribe(`${base}/stream`);
  try {
    const first = await s.next((m) => m.type === 'snapshot', 500);
    assert.ok(first.at - t0 < 500);
    if (first.msg.type !== 'snapshot') throw new Error('unreachable');
    assert.equal(first.msg.snapshot.servers.length, 2);
    assert.equal(first.msg.snapshot.servers[0]?.port, nth(f.backends, 0).port);
    await s.next((m) => m.type === 'snapshot' && m !== first.msg, 2500);
    const snaps = s.messages.filter((m) => m.msg.type === 'snapshot');
    assert.ok(snaps.length >= 2);
    const gap = nth(snaps, 1).at - nth(snaps, 0).at;
    assert.ok(gap > 500 && gap < 2000, `second snapshot after ${gap} ms`);
  } finally {
    s.ws.close();
  }
});

test('a blacklisting made through REST reaches subscribers within 100 ms, and its end as a back event', async () => {
  // the first request to a route compiles its schemas; that is start-up cost, not event latency
  await f.app.inject({ method: 'PUT', url: '/servers/1/blacklist', payload: { seconds: 0 } });
  const s = await subscribe(`${base}/stream`);
  try {
    await s.next((m) => m.type === 'snapshot', 1000);
    const t0 = performance.now();
    const put = f.app.inject({ method: 'PUT', url: '/servers/1/blacklist', payload: { seconds: 60 } });
    const ev = await s.next(isEvent('blacklisted', 1), 1000);
    assert.ok(ev.at - t0 < 100, `event after ${(ev.at - t0).toFixed(1)} ms`);
    assert.equal((await put).statusCode, 200);
    assert.ok(s.messages.some((m) => isEvent('config')(m.msg)), 'the command is announced as a config change');
    const t1 = performance.now();
    await f.app.inject({ method: 'DELETE', url: '/servers/1/blacklist' });
    const back = await s.next(isEvent('back', 1), 1000);
    assert.ok(back.at - t1 < 100);
  } finally {
    s.ws.close();
    await f.cmd('server 1 blacklist 0');
  }
});

test('a blacklisting that runs out is announced as back by the next sweep', async () => {
  await listening(); // the sweep that finds it runs while pen listens, as it always does outside tests
  const s = await subscribe(`${base}/stream`);
  try {
    await s.next((m) => m.type === 'snapshot', 1000);
    await f.cmd('server 0 blacklist 1');
    await s.next(isEvent('blacklisted', 0), 1000);
    const back = await s.next(isEvent('back', 0), 3500);
    assert.match((back.msg as { event: PenEvent }).event.message, /server 0/);
  } finally {
    s.ws.close();
  }
});

test('a failed connect is pushed as the core reports it, once', async () => {
  const g = await adminFixture({ backends: 1 });
  try {
    await g.cmd(`server 1 address 127.0.0.1 port ${await deadPort()}`);
    await g.cmd('roundrobin');
    const port = await freePort();
    await g.pen.listen(`127.0.0.1:${port}`);
    await g.app.listen({ host: '127.0.0.1', port: 0 });
    const s = await subscribe(`ws://127.0.0.1:${(g.app.server.address() as { port: number }).port}/stream`);
    try {
      await s.next((m) => m.type === 'snapshot', 1000);
      // round robin: one of the first two connections goes to the dead server and fails over
      await get(port);
      await get(port);
      const ev = await s.next(isEvent('blacklisted', 1), 2000);
      assert.match((ev.msg as { event: PenEvent }).event.message, /blacklisted/);
      await s.next((m) => m.type === 'snapshot' && m.snapshot.servers[1]?.state === 'blacklisted', 2500);
      assert.equal(s.messages.filter((m) => isEvent('blacklisted', 1)(m.msg)).length, 1, 'the tick does not repeat it');
    } finally {
      s.ws.close();
    }
  } finally {
    await g.close();
  }
});

test('blacklisting is one event however many connects fail, and exactly one back per recovery', async () => {
  await f.cmd('server 1 blacklist 0');
  await listening();
  const s = await subscribe(`${base}/stream`);
  const count = (type: PenEvent['type']) => s.messages.filter((m) => isEvent(type, 1)(m.msg)).length;
  try {
    await s.next((m) => m.type === 'snapshot', 1000);
    await f.cmd('blacklist 1');
    // 1. fifty failed connects, then the time runs out (the sweep finds it)
    for (let i = 0; i < 50; i++) f.pen.host.failed(1, 'test', 0);
    await s.next(isEvent('back', 1), 2500);
    // 2. by command, on and off
    await f.cmd('server 1 blacklist 30');
    await f.cmd('server 1 blacklist 0');
    // 3. a failed connect under a long blacklist time, ended by shortening it
    await f.cmd('blacklist 30');
    f.pen.host.failed(1, 'test', 0);
    await f.cmd('blacklist 1');
    const deadline = Date.now() + 2500;
    while (count('back') < 3 && Date.now() < deadline) await sleep(50);
    await sleep(600); // a second 'back' would come within a sweep or two
    assert.deepEqual([count('blacklisted'), count('back')], [3, 3], JSON.stringify(s.messages.filter((m) => m.msg.type === 'event').map((m) => m.msg)));
  } finally {
    s.ws.close();
    await f.cmd('blacklist 30');
    await f.cmd('server 1 blacklist 0');
  }
});

test('a server reaching its limit is one limit event per time it gets there', async () => {
  const port = await listening();
  await f.cmd('server 0 max 1');
  await f.cmd('roundrobin');
  const s = await subscribe(`${base}/stream`);
  const open: net.Socket[] = [];
  try {
    await s.next((m) => m.type === 'snapshot', 1000);
    for (let round = 0; round < 2; round++) {
      // round robin takes server 0 in turn; its count passes 1, the limit, exactly once a round
      for (let i = 0; i < 4; i++) open.push(await connected(port));
      await waitUntil(() => f.pen.servers.list[0]!.c >= 1);
      for (const c of open.splice(0)) c.destroy();
      await waitUntil(() => f.pen.servers.list[0]!.c === 0);
    }
    await f.cmd('server 0 weight 0');
    await s.next(isEvent('config'), 1000);
    assert.equal(s.messages.filter((m) => isEvent('limit', 0)(m.msg)).length, 2);
  } finally {
    for (const c of open) c.destroy();
    s.ws.close();
    await f.cmd('server 0 max 0');
    await f.cmd('no roundrobin');
  }
});

test('the stream stops listening to the balancer when the last subscriber leaves', async () => {
  const settled = async (n: number) => {
    const deadline = Date.now() + 2000;
    while (listenerCount(f.pen) !== n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return listenerCount(f.pen);
  };
  assert.equal(await settled(0), 0, 'earlier subscribers have left');
  const a = await subscribe(`${base}/stream`);
  const b = await subscribe(`${base}/stream`);
  assert.equal(listenerCount(f.pen), 1, 'one listener for all subscribers');
  a.ws.close();
  b.ws.close();
  assert.equal(await settled(0), 0);
});

test('with tokens, the stream needs one, and accepts it as ?token= or a header', async () => {
  const g = await adminFixture({ tokens: true });
  try {
    await g.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `ws://127.0.0.1:${(g.app.server.address() as { port: number }).port}/stream`;
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { resolve(101); ws.close(); });
      ws.on('error', () => {});
    });
    assert.equal(status, 401);
    const q = await subscribe(`${url}?token=${READ_TOKEN}`);
    await q.next((m) => m.type === 'snapshot', 1000);
    q.ws.close();
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    ws.close();
  } finally {
    await g.close();
  }
});

test('a subscriber that stops answering pings is dropped; one that answers stays', async () => {
  const { WebSocketServer } = await import('ws');
  const { createStreamHub } = await import('../../server/admin/stream.ts');
  const { createSampler } = await import('../../server/stats/snapshot.ts');
  const hub = createStreamHub({ pen: f.pen, runtime: f.runtime, sampler: createSampler(f.pen) }, 5);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => hub.add(ws));
  await new Promise((r) => wss.once('listening', r));
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  try {
    const mute = new WebSocket(url, { autoPong: false });
    const alive = new WebSocket(url);
    const muteClosed = new Promise((r) => mute.on('close', r));
    await Promise.all([mute, alive].map((ws) => new Promise((r) => ws.once('open', r))));
    // 30 ticks of 5 ms to the first ping, 30 more to the check
    await Promise.race([muteClosed, new Promise((_, reject) => setTimeout(() => reject(new Error('not dropped')), 5000))]);
    assert.equal(alive.readyState, WebSocket.OPEN);
    const deadline = Date.now() + 2000;
    while (hub.size !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(hub.size, 1);
    alive.close();
  } finally {
    hub.close();
    await new Promise((r) => wss.close(r));
  }
});
