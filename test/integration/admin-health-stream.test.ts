// The stream publishes `down`, `up` and `drained` the moment the balancer reports them.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { StreamMessage } from '../../shared/api.ts';
import type { PenEvent } from '../../shared/snapshot.ts';
import { adminFixture, type Fixture } from './admin-fixture.ts';
import { subscribe } from '../../server/core/events.ts';

let f: Fixture;
let base: string;
before(async () => {
  f = await adminFixture();
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  base = `ws://127.0.0.1:${(f.app.server.address() as { port: number }).port}`;
});
after(async () => { await f.close(); });

function listenOn(port: number): Promise<net.Server> {
  const s = net.createServer((c) => c.destroy());
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

test('down, up and drained reach a subscriber as they happen', async () => {
  let server = await listenOn(0);
  const port = (server.address() as net.AddressInfo).port;
  const emitted = new Map<string, number>();
  subscribe(f.pen, (e: PenEvent) => { if (!emitted.has(e.type)) emitted.set(e.type, performance.now()); });
  const ws = new WebSocket(`${base}/stream`);
  const got = new Map<string, { at: number; event: PenEvent }>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as StreamMessage;
    if (m.type === 'event' && !got.has(m.event.type)) got.set(m.event.type, { at: performance.now(), event: m.event });
  });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const wait = async (type: string, ms: number) => {
    for (const end = Date.now() + ms; !got.has(type);) {
      if (Date.now() > end) throw new Error(`no ${type} event within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const lag = got.get(type)!.at - emitted.get(type)!;
    assert.ok(lag < 250, `${type} arrived ${lag} ms after it happened`);
    return got.get(type)!.event;
  };
  try {
    await f.cmd(`server 1 port ${port}`);
    await f.cmd('server 1 health tcp interval 1 rise 1 fall 1');
    await new Promise<void>((r) => server.close(() => r()));
    const down = await wait('down', 4000);
    assert.equal(down.server, 1);
    assert.match(down.message, /server 1 is down: connect ECONNREFUSED 127\.0\.0\.1:\d+/);
    server = await listenOn(port);
    assert.equal((await wait('up', 4000)).server, 1);
    await f.cmd('server 1 drain on');
    assert.equal((await wait('drained', 1000)).server, 1);
  } finally {
    ws.close();
    server.close();
    await f.cmd('server 1 drain off');
    await f.cmd('server 1 health default');
  }
});
