// The connection lifecycle (core/lifecycle.ts, conn-table.ts) as a transport sees it through its
// PairHost, driven by a fake transport whose bytes live outside it (as a native one's will, in
// shared memory): slot, pick, take, release, the waiting queue, the sweep and the drop reasons.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer } from '../../server/core/balancer.ts';
import { CS_CONNECTED, type SweepClock } from '../../server/core/connection.ts';
import type { PairEntry, PairHost } from '../../server/core/pair-host.ts';
import { NO_SERVER } from '../../server/core/servers.ts';
import { execute } from '../../server/control/registry.ts';
import { nth } from '../helpers/nth.ts';

/** Counters kept outside the entries, as a native transport keeps them in shared memory. */
const shared = new Float64Array(4 * 16);

class FakeEntry implements PairEntry {
  index = -1;
  state = CS_CONNECTED;
  clientIndex = -1;
  clientAddress: string;
  initial = NO_SERVER;
  server = NO_SERVER;
  counted = false;
  t = 0;
  downId = 3;
  upId = 4;
  closed = 0;
  swept: number[] = [];

  constructor(
    private readonly host: PairHost, readonly clientIp: string, readonly clientPort = 40000, private readonly row = 0,
  ) {
    this.clientAddress = clientIp;
  }

  pendingDown(): number { return 0; }
  pendingUp(): number { return 0; }
  bytes() {
    const r = this.row * 4;
    const [sx = 0, rx = 0, csx = 0, crx = 0] = shared.subarray(r, r + 4);
    return { sx, rx, csx, crx };
  }
  close(): void {
    this.closed += 1;
    this.host.release(this);
  }
  timeouts(c: SweepClock): void {
    this.swept.push(c.idleMs);
  }
}

async function pen(...lines: string[]): Promise<Balancer> {
  const p = new Balancer();
  for (const l of lines) await execute({ pen: p, runtime: { exit() {}, argv: [] }, origin: 'cli' }, l);
  return p;
}

/** A connection as a transport makes one: a slot, a client, a pick, and (when it connects) its server taken. */
function open(p: Balancer, ip: string, row: number): FakeEntry | null {
  const e = new FakeEntry(p.host, ip, 40000, row);
  if (p.host.alloc(e) < 0) return null;
  e.clientIndex = p.host.storeClient(e.clientIp, e.clientPort);
  const pick = p.host.firstPick(e);
  assert.notEqual(pick.kind, 'none');
  if (pick.kind !== 'none') {
    e.server = pick.s;
    p.host.chosen(e, pick.s);
    p.host.take(e);
  }
  return e;
}

test('take counts a connection against its server; release folds its bytes once and gives the count back', async () => {
  const p = await pen('server 0 address 127.0.0.1 port 1000', 'server 1 address 127.0.0.1 port 1001');
  shared.set([10, 20, 30, 40], 0);
  const e = open(p, '10.0.0.1', 0)!;
  assert.equal(e.server, 1, 'round robin starts at server 1');
  assert.equal(e.initial, 1, 'the pick recorded pen\'s initial choice');
  assert.deepEqual([p.servers.list[1]?.c, p.connsUsed, p.accepted], [1, 1, 1]);
  e.close();
  e.close(); // a second close (or release) changes nothing
  const s = nth(p.servers.list, 1);
  const client = nth(p.clients.slots, e.clientIndex);
  assert.deepEqual(
    [s.c, s.sx, s.rx, client.csx, client.crx, p.closedBytes.sx, p.connsUsed],
    [0, 10, 20, 30, 40, 10, 0],
  );
  assert.equal(e.closed, 2);
  assert.deepEqual(p.lastOccupant[e.index], { client: e.clientIndex, server: 1 }, '`connection N` still shows who held the slot');
});

test('a full table queues clients up to the listen queue and admits the oldest one still open when a slot frees', async () => {
  const p = await pen('server 0 address 127.0.0.1 port 1000');
  p.settings.connMax = 1; // (conn_max only grows the table)
  p.settings.listenQueue = 2;
  const first = open(p, '10.0.0.1', 1)!;
  const admitted: string[] = [];
  const waiter = (name: string, closed = false) => ({ closed, admit: () => admitted.push(name), close: () => admitted.push(`${name} closed`) });
  assert.equal(open(p, '10.0.0.2', 2), null, 'no slot');
  assert.equal(p.host.wait(waiter('gone', true)), true);
  assert.equal(p.host.wait(waiter('b')), true);
  assert.equal(p.host.wait(waiter('c')), false, 'the queue is full too: the caller closes the client');
  first.close();
  assert.deepEqual(admitted, ['b'], 'a waiting client that closed meanwhile is skipped');
});

test('one sweep reaches every connection of any transport, with the limits in milliseconds', async () => {
  const p = await pen('server 0 address 127.0.0.1 port 1000', 'idle_timeout 7');
  const a = open(p, '10.0.0.1', 3)!;
  const b = open(p, '10.0.0.2', 4)!;
  p.table.sweep(p.now());
  assert.deepEqual([a.swept, b.swept], [[7000], [7000]]);
});

test('dropped clients are counted with their reason', async () => {
  const p = await pen('server 0 address 127.0.0.1 port 1000 max 1');
  nth(p.servers.list, 0).c = 1;
  const e = new FakeEntry(p.host, '10.0.0.9');
  p.host.alloc(e);
  e.clientIndex = p.host.storeClient(e.clientIp, e.clientPort);
  const pick = p.host.firstPick(e);
  assert.deepEqual(pick, { kind: 'none', why: 'full' });
  p.host.dropped(pick.kind === 'none' ? pick.why : 'nosrv');
  p.host.dropped('nofd');
  assert.equal(p.dropped, 2);
  assert.deepEqual(p.droppedBy, { nosrv: 0, full: 1, acl: 0, nofd: 1 });
});
