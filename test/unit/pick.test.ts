// The pick sequence (core/pick.ts) as tables: a server table and settings, a run of connections,
// and the exact trail of picks each connection takes. No sockets: a failed connect is simulated
// as the lifecycle does it (the server is blacklisted, then nextPick), a held one by taking its server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyAcls, parseAclEntry } from '../../server/core/acl.ts';
import { take } from '../../server/core/accounting.ts';
import { failoverLimit, firstPick, nextPick, type Pick, type PickClient } from '../../server/core/pick.ts';
import type { SelectState } from '../../server/core/select.ts';
import { NO_SERVER, emptyServer, serverAt, type Server } from '../../server/core/servers.ts';
import { defaultSettings, type Settings } from '../../server/core/settings.ts';
import { nth } from '../helpers/nth.ts';

const NOW = 1_000_000;

interface Conn {
  ip?: string;
  port?: number;
  /** the client table's remembered server */
  last?: number;
  /** how many connects in a row fail (each blacklists the server it went to, as host.failed does) */
  fail?: number;
  /** the connection stays open: its server counts it (accounting take) */
  hold?: boolean;
}

interface Row {
  name: string;
  servers: Partial<Server>[];
  settings?: Partial<Settings>;
  emergency?: Partial<Server>;
  abuse?: Partial<Server>;
  /** ACL entries per list, as `acl N …` takes them */
  acls?: Record<number, string[][]>;
  conns: Conn[];
  /** each connection's picks: a server index, E (emergency), A (abuse) or none:WHY, joined by > */
  trails: string[];
}

const server = (p: Partial<Server>): Server => ({ ...emptyServer(), family: 4, address: '127.0.0.1', port: 9000, ...p });

function state(row: Row): SelectState {
  const acls = emptyAcls();
  for (const [n, entries] of Object.entries(row.acls ?? {})) {
    for (const e of entries) nth(acls, Number(n)).push(parseAclEntry(e));
  }
  return {
    servers: {
      list: row.servers.map((p, i) => server({ port: 1000 + i, ...p })),
      emergency: row.emergency ? server(row.emergency) : null,
      abuse: row.abuse ? server(row.abuse) : null,
      current: NO_SERVER,
    },
    settings: { ...defaultSettings(), ...row.settings },
    acls,
    rrCursor: 0,
  };
}

const show = (p: Pick): string => (p.kind === 'server' ? String(p.s) : p.kind === 'emergency' ? 'E' : p.kind === 'abuse' ? 'A' : `none:${p.why}`);

function trails(row: Row): string[] {
  const st = state(row);
  return row.conns.map((c) => {
    const client: PickClient = { ip: c.ip ?? '127.0.0.1', port: c.port ?? 40000, lastServer: c.last ?? NO_SERVER, initial: NO_SERVER };
    let p = firstPick(st, client, NOW);
    const trail = [show(p)];
    for (let f = 0; p.kind !== 'none' && f < (c.fail ?? 0); f++) {
      serverAt(st.servers, p.s)!.status = NOW;
      p = nextPick(st, p.s, client.initial, client, NOW, f);
      trail.push(show(p));
    }
    if (c.hold && p.kind !== 'none') take(serverAt(st.servers, p.s)!);
    return trail.join('>');
  });
}

const times = (n: number, c: Conn = {}): Conn[] => Array.from({ length: n }, () => c);
const DENY_2 = { 1: [['permit', '127.0.0.1']] };

const ROWS: Row[] = [
  { name: 'round robin advances before use (2 servers)', servers: [{}, {}], conns: times(4), trails: ['1', '0', '1', '0'] },
  { name: 'round robin (3 servers)', servers: [{}, {}, {}], conns: times(4), trails: ['1', '2', '0', '1'] },
  { name: 'round robin skips a blacklisted server', servers: [{}, { status: NOW }, {}], conns: times(3), trails: ['2', '0', '2'] },
  { name: 'round robin skips a health-down server', servers: [{ healthDown: true }, {}, {}], conns: times(3), trails: ['1', '2', '1'] },
  { name: 'round robin skips a draining server', servers: [{}, { drain: true }], conns: times(3), trails: ['0', '0', '0'] },
  {
    name: 'an unset slot and a port-0 server are picked by round robin, then failed over from',
    servers: [{ family: 0, address: '' }, { port: 0 }, {}], conns: times(3), trails: ['2', '2', '2'],
  },
  {
    name: 'hash: little-endian IPv4 address modulo the server count',
    servers: [{}, {}, {}], settings: { hash: true },
    conns: [{ ip: '127.0.0.1' }, { ip: '127.0.0.2' }, { ip: '127.0.0.3' }, { ip: '10.1.2.3' }], trails: ['2', '0', '1', '1'],
  },
  {
    name: 'weight: smallest 256*c/weight, held connections counted',
    servers: [{ weight: 1 }, { weight: 3 }], settings: { weight: true, roundrobin: true },
    conns: times(8, { hold: true }), trails: ['0', '1', '1', '1', '0', '1', '1', '1'],
  },
  { name: 'weight 0 everywhere: none', servers: [{}, {}], settings: { weight: true }, conns: [{}], trails: ['none:nosrv'] },
  {
    name: 'prio beats weight and hash; a blacklisted prio server gives way',
    servers: [{ prio: 5 }, { prio: 1, status: NOW }, { prio: 1 }], settings: { prio: true, weight: true, hash: true },
    conns: times(2), trails: ['2', '2'],
  },
  { name: 'client tracking: a known client goes back to its server', servers: [{}, {}, {}], conns: [{ last: 2 }, {}], trails: ['2', '1'] },
  {
    name: '-r bypasses client tracking', servers: [{}, {}, {}], settings: { roundrobin: true },
    conns: [{ last: 2 }, { last: 2 }], trails: ['1', '2'],
  },
  {
    name: 'a remembered server that is blacklisted fails over to the next one',
    servers: [{ status: NOW }, {}, { status: NOW }, {}], conns: [{ last: 2 }], trails: ['3'],
  },
  { name: 'failover scans from the server after the failed one', servers: [{}, {}, {}, {}], conns: [{ last: 1, fail: 2 }], trails: ['1>2>3'] },
  {
    name: 'failover: the scan ends at the initial choice, then the emergency server, then none',
    servers: [{}, {}, {}], emergency: {}, conns: [{ fail: 4 }], trails: ['1>2>0>E>none:nosrv'],
  },
  { name: 'stubborn never fails over, not even to the emergency server', servers: [{}, {}], emergency: {}, settings: { stubborn: true }, conns: [{ fail: 1 }], trails: ['1>none:nosrv'] },
  { name: 'a single server that fails goes to the emergency server', servers: [{}], emergency: {}, conns: [{ fail: 1 }], trails: ['0>E'] },
  { name: 'all blacklisted: the emergency server', servers: [{ status: NOW }, { status: NOW }], emergency: {}, conns: [{}], trails: ['E'] },
  { name: 'all blacklisted and no emergency server: none', servers: [{ status: NOW }, { status: NOW }], conns: [{}], trails: ['none:nosrv'] },
  { name: 'no servers at all: none', servers: [], conns: [{}], trails: ['none:nosrv'] },
  {
    name: 'a client client_acl denies goes to the abuse server, and is not failed over from it',
    servers: [{}, {}], abuse: {}, emergency: {}, settings: { clientAcl: 1 }, acls: DENY_2,
    conns: [{ ip: '127.0.0.2' }, { ip: '127.0.0.2', fail: 1 }, { ip: '127.0.0.1' }], trails: ['A', 'A>none:nosrv', '1'],
  },
  {
    name: 'a denied client without -B goes to the emergency server, or nowhere (acl)',
    servers: [{}], settings: { clientAcl: 1 }, acls: DENY_2, emergency: {}, conns: [{ ip: '127.0.0.2' }], trails: ['E'],
  },
  { name: 'denied, no -B, no -e: none because of the ACL', servers: [{}], settings: { clientAcl: 1 }, acls: DENY_2, conns: [{ ip: '127.0.0.2' }], trails: ['none:acl'] },
  { name: 'a server ACL that denies the client: none because of the ACL', servers: [{ acl: 2 }], acls: { 2: [['deny', '127.0.0.1']] }, conns: [{}], trails: ['none:acl'] },
  {
    name: 'every server at its soft limit: none because they are full',
    servers: [{ maxc: 1, c: 1 }, { maxc: 1, c: 1 }], conns: [{}], trails: ['none:full'],
  },
  {
    name: 'the hard limit lets a returning client in past the soft limit',
    servers: [{ maxc: 1, hard: 3, c: 1 }, { maxc: 1, c: 1 }], conns: [{ last: 0, hold: true }, { last: 0, hold: true }, { last: 0 }], trails: ['0', '0', 'none:full'],
  },
  {
    name: 'with -b 0 failed servers stay up: the bound stops the client after N+1 failovers',
    servers: [{}, {}, {}], settings: { blacklistTime: 0 }, conns: [{ fail: 10 }], trails: ['1>2>0>1>2>none:nosrv'],
  },
];

for (const row of ROWS) {
  test(`pick: ${row.name}`, () => {
    assert.deepEqual(trails(row), row.trails);
  });
}

test('the failover bound is the server count plus one, for every transport', () => {
  for (const n of [0, 1, 3]) assert.equal(failoverLimit(state({ name: '', servers: Array.from({ length: n }, () => ({})), conns: [], trails: [] })), n + 1);
});

test('a pick is a shared object: picking allocates nothing per connection', () => {
  const st = state({ name: '', servers: [{}, {}], conns: [], trails: [] });
  const client: PickClient = { ip: '127.0.0.1', port: 1, lastServer: NO_SERVER, initial: NO_SERVER };
  const a = firstPick(st, client, NOW);
  firstPick(st, client, NOW);
  assert.equal(firstPick(st, client, NOW), a, 'the third pick goes to the same server as the first');
  assert.ok(Object.isFrozen(a));
});
