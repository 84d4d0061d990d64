// Active health checks against real daemons: nginx for tcp and http checks, dnsmasq for dns
// checks under -U, and a server that accepts and never answers. The balancer runs in this
// process (its listener and checks on real loopback sockets), so the test can read its state.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, get } from '../helpers/backends.ts';
import { startBalancer, stateOf, until } from '../helpers/balancer.ts';
import { dnsClient } from '../helpers/dns.ts';
import { dnsmasqLog, nginx, startDnsmasq, type Daemon } from '../helpers/daemons.ts';
import { nth } from '../helpers/nth.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-health-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function both(fn: (a: Daemon, b: Daemon) => Promise<void>, healthzA = 200): Promise<void> {
  const a = nginx(dir, await freePort(), 'a', healthzA);
  const b = nginx(dir, await freePort(), 'b');
  await a.start();
  await b.start();
  try {
    await fn(a, b);
  } finally {
    await a.stop();
    await b.stop();
  }
}

test('health tcp: a killed nginx is marked down within 3 s, no client is sent to it, and it comes back within rise × interval + 1 s', async () => {
  await both(async (a, b) => {
    const p = await startBalancer([
      `server 0 address 127.0.0.1 port ${a.port}`, `server 1 address 127.0.0.1 port ${b.port}`,
      'roundrobin', 'health tcp interval 1 fall 2',
    ]);
    try {
      await until('both checked up', () => stateOf(p, 0) === 'up' && stateOf(p, 1) === 'up', 5000);
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await get(p.port));
      assert.deepEqual([...seen].sort(), ['a', 'b']);

      await a.stop();
      const killed = Date.now();
      await until('server 0 down', () => stateOf(p, 0) === 'down', 3000);
      const down = p.events.find((e) => e.type === 'down');
      assert.ok(down && down.server === 0 && down.at - killed <= 3000, JSON.stringify(p.events));
      assert.equal(p.pen.servers.list[0]?.status, 0, 'not blacklisted: no client connect found it dead');

      // from now on every client gets b, and pen never tries a (which would blacklist it)
      const bodies = [];
      for (let i = 0; i < 40; i++) bodies.push(await get(p.port));
      assert.deepEqual(new Set(bodies), new Set(['b']));
      assert.equal(p.pen.servers.list[0]?.status, 0, 'no connect was made to the down server');
      assert.ok(!p.events.some((e) => e.type === 'blacklisted'), JSON.stringify(p.events));

      await a.start();
      const restarted = Date.now();
      await until('server 0 up again', () => stateOf(p, 0) === 'up', 2 * 1000 + 1000);
      const up = p.events.find((e) => e.type === 'up');
      assert.ok(up && up.server === 0 && up.at - restarted <= 3000);
      const again = new Set<string>();
      for (let i = 0; i < 4; i++) again.add(await get(p.port));
      assert.deepEqual([...again].sort(), ['a', 'b']);
    } finally {
      p.close();
    }
  });
});

test('health http /healthz: a backend answering 500 there is marked down while its TCP port stays open', async () => {
  await both(async (a) => {
    const p = await startBalancer([
      `server 0 address 127.0.0.1 port ${a.port}`, `server 1 address 127.0.0.1 port ${(await freePort())}`,
      'health http /healthz interval 1 fall 2',
    ]);
    try {
      await until('server 0 down', () => stateOf(p, 0) === 'down', 4000);
      const h = p.pen.health.stateOf(nth(p.pen.servers.list, 0))!;
      assert.match(h.lastError ?? '', /status 500, expected 200/);
      const open = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: a.port }, () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      assert.ok(open, 'its TCP port still accepts');
      // a status pattern it does match brings it back
      await p.cmd('server 0 health http /healthz 5xx interval 1 rise 1');
      await until('server 0 up with 5xx expected', () => stateOf(p, 0) === 'up', 3000);
      assert.equal(p.pen.servers.list[0]?.healthDown, false);
    } finally {
      p.close();
    }
  }, 500);
});

test('health http: a server that accepts and never answers fails the check by its timeout', async () => {
  const held = new Set<net.Socket>();
  let accepted = 0;
  const hung = net.createServer((s) => {
    accepted += 1;
    held.add(s);
    s.on('error', () => {});
    s.on('close', () => held.delete(s));
    s.resume(); // reads the request, never answers
  });
  hung.listen(0, '127.0.0.1');
  await new Promise((r) => hung.once('listening', r));
  const port = (hung.address() as net.AddressInfo).port;
  const p = await startBalancer([`server 0 address 127.0.0.1 port ${port}`, 'server 0 health http /healthz interval 2 timeout 1 fall 1']);
  try {
    await until('server 0 down', () => stateOf(p, 0) === 'down', 5000);
    const h = p.pen.health.stateOf(nth(p.pen.servers.list, 0))!;
    assert.match(h.lastError ?? '', /timed out after 1 s/);
    assert.ok(h.lastDurationMs >= 950 && h.lastDurationMs < 1900, `${h.lastDurationMs} ms`);
    // interval 2, timeout 1: between checks the timed-out one has let go of its connection
    await until('the check closed its connection', () => accepted >= 1 && held.size === 0, 3000);
  } finally {
    p.close();
    for (const s of held) s.destroy();
    hung.close();
  }
});

test('-U with health dns example.com: a stopped dnsmasq is marked down and its UDP sessions fail over', async () => {
  const started: Daemon[] = [];
  let balancer: Awaited<ReturnType<typeof startBalancer>> | null = null;
  let client: Awaited<ReturnType<typeof dnsClient>> | null = null;
  try {
    const a = await startDnsmasq(dir, '10.0.0.1');
    started.push(a);
    const b = await startDnsmasq(dir, '10.0.0.2');
    started.push(b);
    const p = await startBalancer([
      `server 0 address 127.0.0.1 port ${a.port}`, `server 1 address 127.0.0.1 port ${b.port}`,
      'health dns example.com interval 1 timeout 1 fall 2',
    ], true);
    balancer = p;
    const dns = await dnsClient();
    client = dns;
    await until('both up', () => stateOf(p, 0) === 'up' && stateOf(p, 1) === 'up', 5000);
    const first = await dns.ask(p.port);
    assert.ok(first?.answer === '10.0.0.1' || first?.answer === '10.0.0.2', JSON.stringify(first));
    const [gone, other] = first!.answer === '10.0.0.1' ? [a, b] : [b, a];
    const goneIndex = gone === a ? 0 : 1;
    await gone.stop();
    await until('the stopped dnsmasq is down', () => stateOf(p, goneIndex) === 'down', 4000);
    const next = await dns.ask(p.port);
    assert.equal(next?.answer, other === a ? '10.0.0.1' : '10.0.0.2', 'the same session now goes to the other server');
  } finally {
    client?.close();
    balancer?.close();
    for (const d of started) await d.stop();
  }
});

test('checks are spread over the interval, not made all at once, and leave from the `source` address', async () => {
  const accepts: { at: number; from: string }[] = [];
  const backend = net.createServer((s) => {
    accepts.push({ at: Date.now(), from: s.remoteAddress ?? '' });
    s.on('error', () => {});
    s.destroy();
  });
  backend.listen(0, '127.0.0.1');
  await new Promise((r) => backend.once('listening', r));
  const port = (backend.address() as net.AddressInfo).port;
  const servers = Array.from({ length: 8 }, (_, i) => `server ${i} address 127.0.0.1 port ${port}`);
  const p = await startBalancer([...servers, 'source 127.0.0.2', 'health tcp interval 2']);
  try {
    await until('one round of checks', () => accepts.length >= 8, 5000);
    const round = accepts.slice(0, 8);
    assert.deepEqual(new Set(round.map((a) => a.from)), new Set(['127.0.0.2']), 'bound to source');
    const spread = nth(round, 7).at - nth(round, 0).at;
    assert.ok(spread >= 1000, `8 checks at interval 2 spread over ${spread} ms`);
  } finally {
    p.close();
    backend.close();
  }
});

test('the http check leaves from the `source` address, on its first connection and when it reconnects', async () => {
  const seen: { from: string; connection: number }[] = [];
  let connections = 0;
  const backend = http.createServer((req, res) => {
    seen.push({ from: req.socket.remoteAddress ?? '', connection: connections });
    // the first answer closes its connection, so the next check has to connect again
    if (seen.length === 1) res.setHeader('Connection', 'close');
    res.end('ok');
  });
  backend.on('connection', () => { connections += 1; });
  backend.listen(0, '127.0.0.1');
  await new Promise((r) => backend.once('listening', r));
  const port = (backend.address() as net.AddressInfo).port;
  const p = await startBalancer([`server 0 address 127.0.0.1 port ${port}`, 'source 127.0.0.2', 'health http /healthz interval 1 rise 1']);
  try {
    await until('three checks, over two connections', () => seen.length >= 3 && connections >= 2, 6000);
    assert.equal(stateOf(p, 0), 'up');
    assert.deepEqual(new Set(seen.map((r) => r.from)), new Set(['127.0.0.2']), JSON.stringify(seen));
  } finally {
    p.close();
    backend.closeAllConnections();
    backend.close();
  }
});

test('-U: the dns check leaves from the `source` address, and its answers come back to it', async () => {
  const d = await startDnsmasq(dir, '10.0.0.3', true);
  let p: Awaited<ReturnType<typeof startBalancer>> | null = null;
  try {
    p = await startBalancer([`server 0 address 127.0.0.1 port ${d.port}`, 'source 127.0.0.2', 'health dns example.com interval 1 rise 1'], true);
    const log = dnsmasqLog(dir, d.port);
    const queries = () => (existsSync(log) ? readFileSync(log, 'latin1') : '').split('\n').filter((l) => l.includes('query[A] example.com'));
    await until('two checks reach dnsmasq', () => queries().length >= 2, 6000);
    const from = new Set(queries().map((l) => l.replace(/.* from /, '')));
    assert.deepEqual(from, new Set(['127.0.0.2']), queries().join('\n'));
    const pen = p;
    await until('the check is up: dnsmasq answered the bound socket', () => stateOf(pen, 0) === 'up', 3000);
  } finally {
    p?.close();
    await d.stop();
  }
});
