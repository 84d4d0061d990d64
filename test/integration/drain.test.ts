// `server N drain on|off` with real connections: a draining server gets no new picks (returning
// clients fail over as from a blacklisted server) while its open connections and UDP sessions
// carry on; `drained` is published when its last connection closes.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Balancer } from '../../server/core/balancer.ts';
import type { CommandContext } from '../../server/control/context.ts';
import { execute } from '../../server/control/registry.ts';
import type { PenEvent } from '../../shared/snapshot.ts';
import { freePort, hold, sleep, tcpBackend } from '../helpers/backends.ts';
import { dnsBackend, dnsClient, freeUdpPort } from '../helpers/dns.ts';
import { subscribe } from '../../server/core/events.ts';

async function balancer(lines: string[], udp = false) {
  const pen = new Balancer();
  pen.settings.udp = udp;
  const ctx: CommandContext = { pen, runtime: { exit() {}, argv: [] }, origin: 'cli' };
  const events: PenEvent[] = [];
  subscribe(pen, (e: PenEvent) => events.push(e));
  const cmd = async (line: string) => {
    const r = await execute(ctx, line);
    assert.equal(r.error, undefined, `${line}: ${r.error?.message}`);
  };
  for (const l of lines) await cmd(l);
  const port = udp ? await freeUdpPort() : await freePort();
  await pen.listen(`127.0.0.1:${port}`);
  return { pen, port, events, cmd };
}

/** Send a line on a held connection and read its echo. */
function echo(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const t = setTimeout(() => { socket.off('data', on); resolve(buf); }, 3000);
    const on = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(text)) { clearTimeout(t); socket.off('data', on); resolve(buf.trim()); }
    };
    socket.on('data', on);
    socket.write(`${text}\n`);
  });
}

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

test('drain: open connections keep flowing, new ones and the returning client go elsewhere, drained when the last closes', async () => {
  const [x, y] = [await tcpBackend('x'), await tcpBackend('y')];
  const p = await balancer([`server 0 address 127.0.0.1 port ${x.port}`, `server 1 address 127.0.0.1 port ${y.port}`]);
  const held: net.Socket[] = [];
  try {
    // tracking: every connection from 127.0.0.1 goes back to the server it got first
    for (let i = 0; i < 4; i++) held.push((await hold(p.port)).socket);
    const first = await hold(p.port);
    held.push(first.socket);
    const name = first.greeting;
    const index = name === 'x' ? 0 : 1;
    const other = name === 'x' ? 'y' : 'x';
    assert.equal(p.pen.servers.list[index]?.c, 5);

    await p.cmd(`server ${index} drain on`);
    assert.ok(!p.events.some((e) => e.type === 'drained'), 'not drained while connections are open');
    for (const [k, s] of held.entries()) assert.equal(await echo(s, `ping ${k}`), `ping ${k}`, 'an open connection carries on');

    const fresh = [];
    for (let i = 0; i < 3; i++) fresh.push(await hold(p.port));
    assert.deepEqual(fresh.map((f) => f.greeting), [other, other, other], 'the returning client fails over');
    assert.deepEqual(fresh.map((f) => f.greeting), [other, other, other]);
    assert.equal((await hold(p.port, '127.0.0.2')).greeting, other, 'a new client too');
    assert.equal(p.pen.servers.list[index]?.status, 0, 'draining is not blacklisting');
    for (const [k, s] of held.entries()) assert.equal(await echo(s, `still ${k}`), `still ${k}`, 'and still flowing after');

    for (const s of held.splice(0)) s.destroy();
    await until('drained', () => p.events.some((e) => e.type === 'drained' && e.server === index));
    assert.equal(p.events.filter((e) => e.type === 'drained').length, 1, 'once');
    for (const f of fresh) f.socket.destroy();

    await p.cmd(`server ${index} drain off`);
    const names = new Set<string>();
    for (let i = 3; i < 9; i++) {
      const h = await hold(p.port, `127.0.0.${i}`);
      names.add(h.greeting);
      h.socket.destroy();
    }
    assert.ok(names.has(name), `after drain off it takes new clients again: ${[...names]}`);
  } finally {
    for (const s of held) s.destroy();
    p.pen.shutdown();
    await x.close();
    await y.close();
  }
});

test('drain on a server with nothing open is drained at once; bad words change nothing', async () => {
  const p = await balancer(['server 0 address 127.0.0.1 port 9', 'server 1 address 127.0.0.1 port 10']);
  try {
    await p.cmd('server 1 drain on');
    assert.deepEqual(p.events.filter((e) => e.type === 'drained').map((e) => e.server), [1]);
    const ctx: CommandContext = { pen: p.pen, runtime: { exit() {}, argv: [] }, origin: 'port' };
    for (const bad of ['server 0 drain', 'server 0 drain yes', 'server 0 drain on off']) {
      const r = await execute(ctx, bad);
      assert.equal(r.reply, 'server drain: expected on or off\n', bad);
      assert.equal(p.pen.servers.list[0]?.drain, false);
    }
  } finally {
    p.pen.shutdown();
  }
});

test('-U drain: the draining server keeps its UDP session, new sessions go to the other one', async () => {
  const [a, b] = [await dnsBackend('10.0.0.1'), await dnsBackend('10.0.0.2')];
  const p = await balancer([`server 0 address 127.0.0.1 port ${a.port}`, `server 1 address 127.0.0.1 port ${b.port}`], true);
  const old = await dnsClient();
  const fresh = await dnsClient('127.0.0.2');
  try {
    const first = (await old.ask(p.port))?.answer;
    const index = first === '10.0.0.1' ? 0 : 1;
    await p.cmd(`server ${index} drain on`);
    for (let i = 0; i < 3; i++) assert.equal((await old.ask(p.port))?.answer, first, 'the open session carries on');
    const other = (await fresh.ask(p.port, '127.0.0.1'))?.answer;
    assert.ok(other !== undefined && other !== first, `a new session goes elsewhere: ${other}`);
  } finally {
    old.close();
    fresh.close();
    p.pen.shutdown();
    await a.close();
    await b.close();
  }
});
