// The pair shares state, on loopback: a pen started with --peer follows the other's configuration
// (changed through REST, or a -F file reloaded on SIGHUP) and client table, so that when the first
// pen dies a returning client goes back to the same server through the second, without -h.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import type { StreamMessage } from '../../shared/api.ts';
import type { PenEvent, Snapshot } from '../../shared/snapshot.ts';
import { freePort, get, httpBackend } from '../helpers/backends.ts';
import { waitFor } from '../helpers/netns.ts';
import { penctl as penctlPort, startPen, type PenProcess } from '../helpers/pen.ts';

const TOKEN = 'peer-test-token-0123456789';
const dir = mkdtempSync(`${os.tmpdir()}/pen-ha-peer-`);
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(`${dir}/tokens`, `admin ${TOKEN}\n`);
writeFileSync(`${dir}/peer-token`, `read ${TOKEN}\n`);

const auth = { authorization: `Bearer ${TOKEN}` };

async function stats(admin: number): Promise<Snapshot> {
  const r = await fetch(`http://127.0.0.1:${admin}/stats`, { headers: auth });
  return (await r.json()) as Snapshot;
}

async function penctl(admin: number, line: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${admin}/penctl`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: line });
  assert.equal(r.status, 200, line);
  return r.text();
}

/** the client address → server index table of a snapshot */
const table = (s: Snapshot) => new Map(s.clients.map((c) => [c.address, c.lastServer]));

test('a pen started with --peer follows the configuration and client table, and a returning client keeps its server after a failover', async () => {
  const be = [await httpBackend('be0'), await httpBackend('be1')];
  const [listenA, adminA, listenB, adminB, control] =
    [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const cfg = `${dir}/a.cfg`;
  writeFileSync(cfg, 'blacklist 30\n');
  const backends = be.map((b) => `127.0.0.1:${b.port}`);
  const pens: PenProcess[] = [];
  try {
    const a = await startPen(['-u', 'root', '-C', `127.0.0.1:${control}`, '-F', cfg, '--admin', String(adminA), '--admin-token-file', `${dir}/tokens`, `127.0.0.1:${listenA}`, ...backends], { waitPort: adminA });
    pens.push(a);
    const b = await startPen(['--admin', String(adminB), '--admin-token-file', `${dir}/tokens`, '--peer', `http://127.0.0.1:${adminA}`, '--peer-token-file', `${dir}/peer-token`, `127.0.0.1:${listenB}`, ...backends], { waitPort: adminB });
    pens.push(b);
    assert.ok(await waitFor(async () => (await stats(adminB)).peer?.connected === true, 10_000, 50), 'B follows A');
    assert.equal((await stats(adminA)).peer?.followers, 1, 'A sees its follower');

    // configuration: through REST, the control port (penctl), and the -F file on SIGHUP
    await penctl(adminA, 'server 1 max 7');
    assert.equal(penctlPort(`127.0.0.1:${control}`, ['server', '0', 'hard', '5']).code, 0);
    appendFileSync(cfg, 'tracking 4321\nacl 3 deny 10.0.0.0 255.0.0.0\n');
    a.child.kill('SIGHUP');
    const followed = await waitFor(async () => {
      const s = await stats(adminB);
      return s.settings.tracking === 4321 && s.servers[1]?.maxc === 7 && s.servers[0]?.hard === 5;
    }, 5000, 50);
    assert.ok(followed, `B has A's configuration: ${JSON.stringify((await stats(adminB)).settings)}`);
    const acl = (await (await fetch(`http://127.0.0.1:${adminB}/acls/3`, { headers: auth })).json()) as { entries: { line: string }[] };
    assert.deepEqual(acl.entries.map((e) => e.line), ['acl 3 deny 10.0.0.0 255.0.0.0'], "and A's access list");

    // clients: 20 addresses through A, alternating servers (round robin, no -h)
    const before = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const ip = `127.0.0.${10 + i}`;
      before.set(ip, await get(listenA, { localAddress: ip }));
    }
    assert.equal(new Set(before.values()).size, 2, 'both servers are in use');
    const want = table(await stats(adminA));
    const synced = await waitFor(async () => {
      const got = table(await stats(adminB));
      return [...want].every(([ip, server]) => got.get(ip) === server);
    }, 5000, 50);
    assert.ok(synced, "B's client table has A's entries");

    // visible: the snapshot and /metrics show the peer, the stream the peer-down and peer-up events
    const peerB = (await stats(adminB)).peer!;
    assert.equal(peerB.url, `http://127.0.0.1:${adminA}`);
    assert.ok(peerB.lastSync !== null && Date.now() - peerB.lastSync < 3000, 'synced within the last seconds');
    assert.equal(peerB.behind, 0);
    const metrics = await (await fetch(`http://127.0.0.1:${adminB}/metrics`, { headers: auth })).text();
    assert.match(metrics, /^pen_peer_connected 1$/m);
    assert.match(metrics, /^pen_peer_entries_behind 0$/m);
    assert.match(metrics, /^pen_role\{role="unknown"\} 1$/m);
    assert.match(await (await fetch(`http://127.0.0.1:${adminA}/metrics`, { headers: auth })).text(), /^pen_peer_followers 1$/m);
    const events: PenEvent[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${adminB}/stream`, { headers: auth });
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as StreamMessage;
      if (m.type === 'event') events.push(m.event);
    });
    await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });

    // A dies; B notices, and the same clients reach the same servers through B
    await a.stop('SIGKILL');
    assert.ok(await waitFor(async () => (await stats(adminB)).peer?.connected === false, 6000, 50), 'B sees the peer go');
    assert.ok(await waitFor(() => events.some((e) => e.type === 'peer-down'), 3000), 'a peer-down event');
    assert.match((await stats(adminB)).peer?.error ?? '', /ECONNREFUSED|the stream ended|the connection was cut|ECONNRESET/, 'the snapshot says why');
    let same = 0;
    for (const [ip, server] of before) if ((await get(listenB, { localAddress: ip })) === server) same += 1;
    assert.equal(same, before.size, `every returning client kept its server (${same}/${before.size})`);

    // A comes back (as a fresh pen): B follows it again by itself
    const a2 = await startPen(['--admin', String(adminA), '--admin-token-file', `${dir}/tokens`, `127.0.0.1:${listenA}`, ...backends], { waitPort: adminA });
    pens.push(a2);
    assert.ok(await waitFor(async () => (await stats(adminB)).peer?.connected === true, 10_000, 50), 'B reconnects');
    assert.ok(await waitFor(() => events.some((e) => e.type === 'peer-up'), 3000), 'a peer-up event');
    ws.close();
  } finally {
    for (const p of pens) await p.stop();
    for (const x of be) await x.close();
  }
});

test('a pen that keepalived says is master applies nothing from its peer', async () => {
  const be = await httpBackend('be0');
  const [listenA, adminA, listenB, adminB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const pens: PenProcess[] = [];
  try {
    pens.push(await startPen(['--admin', String(adminA), '--admin-token-file', `${dir}/tokens`, `127.0.0.1:${listenA}`, `127.0.0.1:${be.port}`], { waitPort: adminA }));
    pens.push(await startPen(['--admin', String(adminB), '--admin-token-file', `${dir}/tokens`, '--peer', `http://127.0.0.1:${adminA}`, '--peer-token-file', `${dir}/peer-token`, `127.0.0.1:${listenB}`, `127.0.0.1:${be.port}`], { waitPort: adminB }));
    assert.ok(await waitFor(async () => (await stats(adminB)).peer?.connected === true, 10_000, 50));
    const r = await fetch(`http://127.0.0.1:${adminB}/role`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'master' }) });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { applying: boolean }).applying, false);
    assert.match(await (await fetch(`http://127.0.0.1:${adminB}/metrics`, { headers: auth })).text(), /^pen_role\{role="master"\} 1$/m);
    await penctl(adminA, 'blacklist 77');
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal((await stats(adminB)).settings.blacklist, 30, 'a master keeps its own configuration');
    const bad = await fetch(`http://127.0.0.1:${adminB}/role`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'boss' }) });
    assert.equal(bad.status, 400, 'an unknown role is refused');
    assert.equal((await stats(adminB)).peer?.role, 'master', 'and changes nothing');
    await fetch(`http://127.0.0.1:${adminB}/role`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'backup' }) });
    await penctl(adminA, 'blacklist 78');
    assert.ok(await waitFor(async () => (await stats(adminB)).settings.blacklist === 78, 5000, 50), 'a backup follows again');
    const noToken = await fetch(`http://127.0.0.1:${adminA}/peer`);
    assert.equal(noToken.status, 401, 'the peer stream needs a token');
  } finally {
    for (const p of pens) await p.stop();
    await be.close();
  }
});

test('a follower that stops reading is dropped, and the active keeps answering meanwhile', async () => {
  const be = await httpBackend('be0');
  const [listen, admin] = [await freePort(), await freePort()];
  // 4000 servers: every configuration change sends ~300 KB to each follower
  const cfg = `${dir}/big.cfg`;
  writeFileSync(cfg, Array.from({ length: 4000 }, (_, i) => `server ${i} address 127.0.0.1 port ${be.port}`).join('\n'));
  const pen = await startPen(['-F', cfg, '--admin', String(admin), '--admin-token-file', `${dir}/tokens`, `127.0.0.1:${listen}`], { waitPort: admin });
  const slow = net.connect({ host: '127.0.0.1', port: admin });
  try {
    await new Promise((res) => slow.once('connect', res));
    slow.pause(); // reads nothing, ever
    slow.write(`GET /peer HTTP/1.1\r\nHost: 127.0.0.1:${admin}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    assert.ok(await waitFor(async () => (await stats(admin)).peer?.followers === 1, 5000, 50), 'the slow follower is connected');
    let worst = 0;
    let dropped = false;
    for (let i = 0; i < 120 && !dropped; i++) {
      const t = Date.now();
      await penctl(admin, `server 0 max ${i + 1}`);
      worst = Math.max(worst, Date.now() - t);
      dropped = (await stats(admin)).peer?.followers === 0;
    }
    assert.ok(dropped, 'dropped once it fell behind');
    assert.ok(worst < 2000, `the active kept answering (slowest change ${worst} ms)`);
    assert.equal(await get(listen), 'be0', 'and forwarding');
  } finally {
    slow.destroy();
    await pen.stop();
    await be.close();
  }
});
