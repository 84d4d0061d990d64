// The active side of a pair (server/admin/peer.ts) never waits for its follower: what it sends is
// bounded, a follower that stops reading is dropped, and only what changed is sent again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFeed } from '../../server/admin/peer.ts';
import { Balancer } from '../../server/core/balancer.ts';
import { ensureServer } from '../../server/core/servers.ts';
import type { PeerMessage } from '../../shared/peer.ts';
import { execute } from '../../server/control/registry.ts';
import { changedLines } from '../../server/control/peer.ts';
import { listenerCount } from '../../server/core/events.ts';
import { nth } from '../helpers/nth.ts';

function balancer(clients: number): Balancer {
  const pen = new Balancer();
  pen.clients.grow(clients);
  for (let i = 0; i < 2; i++) Object.assign(ensureServer(pen.servers, i), { family: 4, address: '127.0.0.1', port: 8000 + i });
  const now = pen.now();
  for (let i = 0; i < clients; i++) {
    const ip = `10.0.${i >> 8}.${i & 255}`;
    const slot = pen.clients.store(ip, ip, 1, now, 0);
    nth(pen.clients.slots, slot).server = i % 2;
  }
  return pen;
}

test('the first messages are the configuration and every client; then only changes go out', async () => {
  const pen = balancer(300);
  const sent: PeerMessage[] = [];
  const feed = startFeed(pen, (line) => { sent.push(JSON.parse(line) as PeerMessage); return true; }, () => assert.fail('not dropped'));
  try {
    assert.equal(sent[0]?.type, 'config');
    assert.ok(sent[0]?.type === 'config' && sent[0].lines.some((l) => l.startsWith('server 1 acl 0 address 127.0.0.1 port 8001')));
    assert.ok(sent[1]?.type === 'clients' && sent[1].entries.length === 300);
    assert.equal(pen.peer.followers, 1);
    sent.length = 0;
    nth(pen.clients.slots, 5).server = 0;
    await execute({ pen, runtime: { exit() {}, argv: [] }, origin: 'rest' }, 'blacklist 44');
    await new Promise((r) => setTimeout(r, 450));
    const clients = sent.filter((m) => m.type === 'clients');
    assert.deepEqual(clients.flatMap((m) => (m.type === 'clients' ? m.entries.map((e) => e[0]) : [])), ['10.0.0.5'], 'only the changed entry');
    const configs = sent.filter((m) => m.type === 'config');
    assert.equal(configs.length, 1, 'one config message for one change');
    assert.ok(configs[0]?.type === 'config' && configs[0].lines.includes('blacklist 44'));
  } finally {
    feed.stop();
  }
  assert.equal(pen.peer.followers, 0);
});

test('a follower that stops reading is dropped at once, and the feed stops', async () => {
  const pen = balancer(20);
  let buffered = 0;
  let dropped = 0;
  // a follower that reads nothing: every line stays buffered, past the bound the feed is refused
  const feed = startFeed(pen, (line) => {
    if (buffered > 2000) return false;
    buffered += line.length;
    return true;
  }, () => { dropped += 1; });
  for (let i = 0; i < 40 && dropped === 0; i++) {
    nth(pen.clients.slots, i % 20).server ^= 1;
    await new Promise((r) => setTimeout(r, 210));
  }
  assert.equal(dropped, 1, 'dropped once');
  assert.equal(pen.peer.followers, 0, 'the feed stopped (no timers, no listener)');
  assert.equal(listenerCount(pen), 0);
  feed.stop();
});

test('more changed entries than one message takes wait for the next scan and count as behind', async () => {
  const pen = balancer(6000);
  const sent: PeerMessage[] = [];
  const feed = startFeed(pen, (line) => { sent.push(JSON.parse(line) as PeerMessage); return true; }, () => {});
  try {
    const first = sent.find((m) => m.type === 'clients');
    assert.ok(first?.type === 'clients' && first.entries.length === 5000);
    await new Promise((r) => setTimeout(r, 1200));
    const all = sent.filter((m) => m.type === 'clients').reduce((n, m) => n + (m.type === 'clients' ? m.entries.length : 0), 0);
    assert.equal(all, 6000, 'the rest came with the next scan');
  } finally {
    feed.stop();
  }
});

test("the follower's table takes the peer's entries, but never over a newer one of its own", () => {
  const pen = balancer(0);
  pen.clients.grow(4);
  const now = pen.now();
  pen.clients.adopt('10.9.9.1', '10.9.9.1', 1, now - 5, now, 0);
  const slot = nth(pen.clients.slots, 0);
  assert.deepEqual([slot.address, slot.server, slot.last, slot.connects], ['10.9.9.1', 1, now - 5, 0], 'adopted, no connect counted');
  pen.clients.store('10.9.9.2', '10.9.9.2', 1, now, 0);
  nth(pen.clients.slots, 1).server = 0;
  pen.clients.adopt('10.9.9.2', '10.9.9.2', 1, now - 10, now, 0);
  assert.equal(pen.clients.slots[1]?.server, 0, 'the local entry is newer and stays');
  pen.clients.adopt('10.9.9.1', '10.9.9.1', 0, now + 100, now, 0);
  assert.deepEqual([pen.clients.slots[0]?.server, pen.clients.slots[0]?.last], [0, now], 'a later entry wins; a clock ahead of ours is clamped to now');
});

test('a follower runs only the lines that differ, and a changed access list whole', () => {
  const ours = ['no acl 1', 'acl 1 permit 10.0.0.1 255.255.255.255', 'no acl 2', 'blacklist 30', 'server 0 acl 0 address 127.0.0.1 port 80 max 0 hard 0', 'no hash'];
  const theirs = ['no acl 1', 'acl 1 permit 10.0.0.1 255.255.255.255', 'no acl 2', 'acl 2 deny 10.0.0.2 255.255.255.255', 'blacklist 30', 'server 0 acl 0 address 127.0.0.1 port 80 max 7 hard 0', 'hash'];
  assert.deepEqual(changedLines(theirs, ours), ['no acl 2', 'acl 2 deny 10.0.0.2 255.255.255.255', 'server 0 acl 0 address 127.0.0.1 port 80 max 7 hard 0', 'hash']);
  assert.deepEqual(changedLines(ours, ours), []);
});
