// The live stream over a real WebSocket: snapshots every second, events as they happen.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { StreamMessage } from '../../shared/api.ts';
import type { PenEvent } from '../../shared/snapshot.ts';
import { deadPort, freePort, get } from '../helpers/backends.ts';
import { ADMIN_TOKEN, READ_TOKEN, adminFixture, type Fixture } from './admin-fixture.ts';

let f: Fixture;
let base: string;
before(async () => {
  f = await adminFixture();
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  base = `ws://127.0.0.1:${(f.app.server.address() as { port: number }).port}`;
});
after(async () => { await f.close(); });

/** A connected client that collects messages with their arrival times. */
async function subscribe(url: string): Promise<{ ws: WebSocket; messages: { at: number; msg: StreamMessage }[]; next(pred: (m: StreamMessage) => boolean, ms: number): Promise<{ at: number; msg: StreamMessage }> }> {
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
    assert.equal(first.msg.snapshot.servers[0].port, f.backends[0].port);
    await s.next((m) => m.type === 'snapshot' && m !== first.msg, 2500);
    const snaps = s.messages.filter((m) => m.msg.type === 'snapshot');
    assert.ok(snaps.length >= 2);
    const gap = snaps[1].at - snaps[0].at;
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

test('a blacklisting that runs out is announced as back on the next tick', async () => {
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
      await s.next((m) => m.type === 'snapshot' && m.snapshot.servers[1].state === 'blacklisted', 2500);
      assert.equal(s.messages.filter((m) => isEvent('blacklisted', 1)(m.msg)).length, 1, 'the tick does not repeat it');
    } finally {
      s.ws.close();
    }
  } finally {
    await g.close();
  }
});

test('a burst of limit and blacklisted reports reaches subscribers as one event each', async () => {
  await f.cmd('server 1 blacklist 0');
  const s = await subscribe(`${base}/stream`);
  try {
    await s.next((m) => m.type === 'snapshot', 1000);
    for (let i = 0; i < 50; i++) {
      f.pen.emitEvent({ type: 'limit', server: 0, message: 'server 0 reached its limit' });
      f.pen.host.failed(1, 'test');
    }
    // a config change after the burst: once it has arrived, everything before it has too
    await f.cmd('server 1 weight 0');
    await s.next(isEvent('config'), 1000);
    assert.equal(s.messages.filter((m) => isEvent('limit', 0)(m.msg)).length, 1);
    assert.equal(s.messages.filter((m) => isEvent('blacklisted', 1)(m.msg)).length, 1);
  } finally {
    s.ws.close();
    await f.cmd('server 1 blacklist 0');
  }
});

test('the stream stops listening to the balancer when the last subscriber leaves', async () => {
  const settled = async (n: number) => {
    const deadline = Date.now() + 2000;
    while (f.pen.listenerCount('event') !== n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return f.pen.listenerCount('event');
  };
  assert.equal(await settled(0), 0, 'earlier subscribers have left');
  const a = await subscribe(`${base}/stream`);
  const b = await subscribe(`${base}/stream`);
  assert.equal(f.pen.listenerCount('event'), 1, 'one listener for all subscribers');
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
