import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyAcls, parseAclEntry } from '../../server/core/acl.ts';
import { canTry, chooseInitial, failoverNext, hashIndex, type ClientInfo, type SelectState } from '../../server/core/select.ts';
import { ABUSE, EMERGENCY, NO_SERVER, emptyServer, type Server } from '../../server/core/servers.ts';
import { defaultSettings } from '../../server/core/settings.ts';
import { nth } from '../helpers/nth.ts';

const NOW = 1_000_000;

function state(n: number, patch: Partial<Server>[] = []): SelectState {
  const list = Array.from({ length: n }, (_, i) => ({ ...emptyServer(), family: 4 as const, address: '127.0.0.1', port: 1000 + i, ...patch[i] }));
  return {
    servers: { list, emergency: null, abuse: null, current: NO_SERVER },
    settings: defaultSettings(), acls: emptyAcls(), rrCursor: 0,
  };
}

const newClient = (ip = '127.0.0.1', port = 40000): ClientInfo => ({ ip, port, lastServer: NO_SERVER });

test('round robin advances before use, so the first pick is server 1', () => {
  const st = state(2);
  assert.deepEqual([1, 2, 3, 4].map(() => chooseInitial(st, newClient(), NOW)), [1, 0, 1, 0]);
  const three = state(3);
  assert.deepEqual([1, 2, 3, 4].map(() => chooseInitial(three, newClient(), NOW)), [1, 2, 0, 1]);
});

test('round robin skips blacklisted servers and gives up when all are blacklisted', () => {
  const st = state(3, [{}, { status: NOW }, {}]);
  assert.deepEqual([1, 2, 3].map(() => chooseInitial(st, newClient(), NOW)), [2, 0, 2]);
  const all = state(2, [{ status: NOW }, { status: NOW - 5 }]);
  assert.equal(chooseInitial(all, newClient(), NOW), NO_SERVER);
  // blacklisting ends after the blacklist time
  assert.equal(chooseInitial(all, newClient(), NOW + 25), 1, 'server 1 was blacklisted 5 s earlier, so it is back first');
});

test('a known client goes back to its last server unless -r is set', () => {
  const st = state(3);
  assert.equal(chooseInitial(st, { ...newClient(), lastServer: 2 }, NOW), 2);
  st.settings.roundrobin = true;
  assert.equal(chooseInitial(st, { ...newClient(), lastServer: 2 }, NOW), 1);
});

test('hash uses the little-endian IPv4 address, XORed with the swapped port under -r', () => {
  const st = state(3);
  st.settings.hash = true;
  assert.equal(hashIndex(st, newClient('127.0.0.1')), 16777343 % 3);
  assert.equal(hashIndex(state(4), newClient('127.0.0.1')), 3);
  st.settings.roundrobin = true;
  const port = 0x1234;
  assert.equal(hashIndex(st, newClient('127.0.0.1', port)), ((16777343 ^ 0x3412) >>> 0) % 3);
  assert.equal(hashIndex(st, newClient('::1', 0)), 1 % 3);
});

test('weight picks the smallest 256*c/weight and never a weight-0 server', () => {
  const st = state(2, [{ weight: 1 }, { weight: 3 }]);
  st.settings.weight = true;
  st.settings.roundrobin = true;
  const picks: number[] = [];
  for (let i = 0; i < 8; i++) {
    const s = chooseInitial(st, newClient(), NOW);
    picks.push(s);
    nth(st.servers.list, s).c += 1;
  }
  assert.deepEqual(picks, [0, 1, 1, 1, 0, 1, 1, 1]);
  const zero = state(2);
  zero.settings.weight = true;
  assert.equal(chooseInitial(zero, newClient(), NOW), NO_SERVER);
});

test('prio picks the lowest prio among available servers, beating weight and hash', () => {
  const st = state(3, [{ prio: 5 }, { prio: 1 }, { prio: 1 }]);
  st.settings.prio = true;
  st.settings.weight = true;
  st.settings.hash = true;
  assert.equal(chooseInitial(st, newClient(), NOW), 1);
  nth(st.servers.list, 1).status = NOW;
  assert.equal(chooseInitial(st, newClient(), NOW), 2);
});

test('soft limit for everybody, hard limit for the server a client came from', () => {
  const st = state(2, [{ maxc: 2, hard: 3, c: 2 }]);
  assert.equal(canTry(st, 0, newClient(), NOW), false);
  assert.equal(canTry(st, 0, { ...newClient(), lastServer: 0 }, NOW), true);
  nth(st.servers.list, 0).c = 3;
  assert.equal(canTry(st, 0, { ...newClient(), lastServer: 0 }, NOW), false);
  const unlimited = state(1, [{ maxc: 0, hard: 1, c: 50 }]);
  assert.equal(canTry(unlimited, 0, newClient(), NOW), true);
});

test('failover scans from the server after the failed one, then the emergency server', () => {
  const st = state(4, [{ status: NOW }, {}, { status: NOW }, {}]);
  assert.equal(failoverNext(st, 1, 1, newClient(), NOW), 3);
  // a scan under way stops at the initial choice
  const dead = state(3, [{ status: NOW }, { status: NOW }, { status: NOW }]);
  assert.equal(failoverNext(dead, 0, 0, newClient(), NOW), NO_SERVER);
  dead.servers.emergency = { ...emptyServer(), family: 4, address: '127.0.0.1', port: 9 };
  assert.equal(failoverNext(dead, 0, 0, newClient(), NOW), EMERGENCY);
  // a single server that fails goes straight to the emergency server
  const one = state(1, [{ status: NOW }]);
  one.servers.emergency = dead.servers.emergency;
  assert.equal(failoverNext(one, 0, 0, newClient(), NOW), EMERGENCY);
});

test('stubborn never fails over, and abuse or emergency servers are not failed over from', () => {
  const st = state(3);
  st.settings.stubborn = true;
  assert.equal(failoverNext(st, 0, 0, newClient(), NOW), NO_SERVER);
  st.settings.stubborn = false;
  assert.equal(failoverNext(st, EMERGENCY, 0, newClient(), NOW), NO_SERVER);
  assert.equal(failoverNext(st, ABUSE, ABUSE, newClient(), NOW), NO_SERVER);
});

test('clients denied by client_acl go to the abuse server, or nowhere without one', () => {
  const st = state(2);
  nth(st.acls, 1).push(parseAclEntry(['permit', '127.0.0.1']));
  st.settings.clientAcl = 1;
  assert.equal(chooseInitial(st, newClient('127.0.0.2'), NOW), NO_SERVER);
  st.servers.abuse = { ...emptyServer(), family: 4, address: '127.0.0.1', port: 9 };
  assert.equal(chooseInitial(st, newClient('127.0.0.2'), NOW), ABUSE);
  assert.equal(chooseInitial(st, newClient('127.0.0.1'), NOW), 1);
});

test('a server ACL that denies the client makes it fail over', () => {
  const st = state(2, [{ acl: 2 }]);
  nth(st.acls, 2).push(parseAclEntry(['deny', '127.0.0.1']));
  assert.equal(canTry(st, 0, newClient('127.0.0.1'), NOW), false);
  assert.equal(canTry(st, 0, newClient('127.0.0.3'), NOW), true);
  assert.equal(failoverNext(st, 0, 0, newClient('127.0.0.1'), NOW), 1);
});

test('slots without an address and port 0 are never tried', () => {
  const st = state(2, [{ family: 0, address: '' }, { port: 0 }]);
  assert.equal(canTry(st, 0, newClient(), NOW), false);
  assert.equal(canTry(st, 1, newClient(), NOW), false);
});
