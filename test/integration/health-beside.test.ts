// Health checks beside pen's own ways around a bad server, with real backends on loopback: the
// abuse server (-B) still gets the clients client_acl refuses, the emergency server (-e) those
// that find every server down, a server the checks say is up but
// that refuses a client's connect is failed over from and blacklisted for the blacklist time,
// exactly as without checks, and comes back when that time is over while the checks say up.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, hold, sleep, tcpBackend } from '../helpers/backends.ts';
import { startBalancer, stateOf, until } from '../helpers/balancer.ts';
import { emptyServer } from '../../server/core/servers.ts';
import { nth } from '../helpers/nth.ts';
import { startPen } from '../helpers/pen.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-health-beside-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A backend that greets with `name`, counts what connects to it, and can stop and start listening on its port. */
async function switchable(name: string) {
  const sockets = new Set<net.Socket>();
  let accepts = 0;
  const serve = () => net.createServer((s) => {
    accepts += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write(`${name}\n`);
  });
  let server = serve();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    accepts: () => accepts,
    /** stop listening: connects to the port are refused from now on */
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
    async start() {
      server = serve();
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

test('with checks on, the abuse server (-B) still gets the clients client_acl refuses', async () => {
  const [a, b, abuse] = [await switchable('a'), await switchable('b'), await switchable('abuse')];
  const cfg = join(dir, 'abuse.cfg');
  writeFileSync(cfg, [
    `server 0 address 127.0.0.1 port ${a.port}`, `server 1 address 127.0.0.1 port ${b.port}`,
    'acl 1 deny 127.0.0.2', 'client_acl 1', 'health tcp interval 1 rise 1',
  ].join('\n') + '\n');
  const port = await freePort();
  const pen = await startPen(['-B', `127.0.0.1:${abuse.port}`, '-F', cfg, `127.0.0.1:${port}`], { waitPort: port });
  try {
    // no client has connected yet: what reaches a and b are the checks
    await until('two rounds of checks', () => a.accepts() >= 2 && b.accepts() >= 2, 6000);
    for (let i = 0; i < 4; i++) {
      const refused = await hold(port, '127.0.0.2');
      refused.socket.destroy();
      assert.equal(refused.greeting, 'abuse', `refused client ${i}`);
      const allowed = await hold(port, '127.0.0.1');
      allowed.socket.destroy();
      assert.ok(['a', 'b'].includes(allowed.greeting), `allowed client ${i}: ${allowed.greeting}`);
    }
    assert.ok(abuse.accepts() >= 4, `${abuse.accepts()} connects reached the abuse server`);
  } finally {
    await pen.stop();
    await Promise.all([a.stop(), b.stop(), abuse.stop()]);
  }
});

test('with every server down by its checks, clients go to the emergency server, and to the servers again once one is up', async () => {
  const [a, b, emergency] = [await switchable('a'), await switchable('b'), await switchable('emergency')];
  const p = await startBalancer([
    `server 0 address 127.0.0.1 port ${a.port}`, `server 1 address 127.0.0.1 port ${b.port}`, 'health tcp interval 1 rise 1 fall 1',
  ]);
  // the slot -e fills at start-up (cli/pen.ts); unchecked, as pen's hidden slots are
  p.pen.servers.emergency = { ...emptyServer(), family: 4, address: '127.0.0.1', port: emergency.port };
  try {
    await until('both up', () => stateOf(p, 0) === 'up' && stateOf(p, 1) === 'up', 5000);
    await Promise.all([a.stop(), b.stop()]);
    await until('both down', () => stateOf(p, 0) === 'down' && stateOf(p, 1) === 'down', 5000);
    for (let i = 0; i < 3; i++) {
      const c = await hold(p.port);
      c.socket.destroy();
      assert.equal(c.greeting, 'emergency', `client ${i}`);
    }
    assert.ok(!p.events.some((e) => e.type === 'blacklisted'), 'no connect was tried to a down server');
    await a.start();
    await until('a up again', () => stateOf(p, 0) === 'up', 4000);
    const c = await hold(p.port);
    c.socket.destroy();
    assert.equal(c.greeting, 'a');
  } finally {
    p.close();
    await Promise.all([a.stop(), b.stop(), emergency.stop()]);
  }
});

const BLACKLIST = 3;

// The same steps with the checks on and off: what blacklisting does must not differ.
for (const check of ['tcp interval 1 rise 1 fall 3', 'off']) {
  test(`health ${check}: a refused client connect fails over and blacklists the server for the blacklist time, then it is back`, async () => {
    const a = await switchable('a');
    const b = await tcpBackend('b');
    const p = await startBalancer([
      `server 0 address 127.0.0.1 port ${a.port}`, `server 1 address 127.0.0.1 port ${b.port}`,
      'roundrobin', `blacklist ${BLACKLIST}`, `health ${check}`,
    ]);
    const checked = check !== 'off';
    const health = () => p.pen.health.stateOf(nth(p.pen.servers.list, 0));
    try {
      if (checked) await until('both checked up', () => stateOf(p, 0) === 'up' && stateOf(p, 1) === 'up', 5000);
      else assert.equal(health(), null);

      // a stops listening between two checks (fall 3: the checks cannot call it down for 2 s)
      await a.stop();
      const greetings = [];
      for (let i = 0; i < 4; i++) {
        const c = await hold(p.port);
        c.socket.destroy();
        greetings.push(c.greeting);
      }
      assert.deepEqual(greetings, ['b', 'b', 'b', 'b'], 'every client failed over to b, none saw a failure');
      const listed = p.events.filter((e) => e.type === 'blacklisted');
      assert.deepEqual(listed.map((e) => e.server), [0], JSON.stringify(p.events));
      const listedAt = nth(listed, 0).at;
      assert.notEqual(p.pen.servers.list[0]?.status, 0);
      if (checked) assert.equal(stateOf(p, 0), 'up', 'the checks have not noticed: it is blacklisted while they say up');

      // a listens again at once; it stays out for the blacklist time, passing checks or not
      await a.start();
      const checksBefore = health()?.checks ?? 0;
      const seen: { at: number; greeting: string }[] = [];
      const deadline = listedAt + BLACKLIST * 1000 + 3000;
      while (Date.now() < deadline && !seen.some((s) => s.greeting === 'a')) {
        const at = Date.now();
        const c = await hold(p.port);
        c.socket.destroy();
        seen.push({ at, greeting: c.greeting });
        if (checked) assert.equal(stateOf(p, 0), 'up', 'the checks say up throughout');
        await sleep(100);
      }
      // pen counts in whole seconds: the blacklisting ends between BLACKLIST - 1 and BLACKLIST s after it began
      const early = seen.filter((s) => s.greeting !== 'b' && s.at < listedAt + (BLACKLIST - 1) * 1000);
      assert.deepEqual(early, [], 'nothing went to a while it was blacklisted');
      assert.ok(seen.every((s) => s.greeting === 'a' || s.greeting === 'b'), JSON.stringify(seen));
      const back = seen.find((s) => s.greeting === 'a');
      assert.ok(back, `a never came back: ${JSON.stringify(seen.map((s) => [s.at - listedAt, s.greeting]))}`);
      // the sweep announces the end on its next round (every 250 ms), maybe after that client's pick
      const isBack = (e: { type: string; server?: number }) => e.type === 'back' && e.server === 0;
      await until('the end of the blacklisting announced', () => p.events.some(isBack), 1000);
      const announced = p.events.find(isBack)!;
      assert.ok(announced.at - listedAt >= (BLACKLIST - 1) * 1000, JSON.stringify(p.events));
      if (checked) {
        const h = health()!;
        assert.ok(h.checks > checksBefore, 'checks ran while it was blacklisted');
        assert.equal(h.lastError, null, 'and passed');
      }
    } finally {
      p.close();
      await a.stop();
      await b.close();
    }
  });
}
