import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aclPermits, emptyAcls, parseAclEntry } from '../../server/core/acl.ts';
import { parseBackend, parseListen } from '../../server/core/address.ts';
import { ClientTable } from '../../server/core/clients.ts';
import { insertForwardedHeaders } from '../../server/core/http.ts';
import { nth } from '../helpers/nth.ts';

test('the client table remembers clients and evicts the least recently used', () => {
  const t = new ClientTable(2);
  assert.equal(t.store('a', 'a', 1, 100, 0), 0);
  assert.equal(t.store('b', 'b', 1, 101, 0), 1);
  nth(t.slots, 0).server = 1;
  assert.equal(t.store('a', 'a', 2, 102, 0), 0);
  assert.equal(t.slots[0]?.server, 1, 'a returning client keeps its server');
  assert.equal(t.slots[0]?.connects, 2);
  assert.equal(t.store('c', 'c', 1, 103, 0), 1, 'b was least recently used');
  assert.equal(t.slots[1]?.server, -3);
  assert.equal(t.slots[1]?.connects, 1);
});

test('expired clients free their slot but are still matched until it is reused', () => {
  const t = new ClientTable(2);
  t.store('a', 'a', 1, 100, 10);
  nth(t.slots, 0).server = 1;
  assert.equal(t.store('a', 'a', 1, 200, 10), 0);
  assert.equal(t.slots[0]?.server, 1);
  assert.equal(t.isActive(nth(t.slots, 0), 211, 10), false);
  assert.equal(t.store('b', 'b', 1, 300, 10), 0, 'the expired slot is the first free one');
});

test('a client connecting twice in a row finds its slot again, also after that slot went to another client', () => {
  const t = new ClientTable(1);
  assert.equal(t.store('a', 'a', 1, 100, 0), 0);
  assert.equal(t.store('a', 'a', 2, 101, 0), 0, 'the same client again: its slot');
  assert.equal(t.slots[0]?.connects, 2);
  assert.equal(t.store('b', 'b', 1, 102, 0), 0, 'b takes the only slot');
  assert.equal(t.slots[0]?.connects, 1, 'b starts its own count');
  assert.equal(t.store('a', 'a', 3, 103, 0), 0, 'a comes back: the slot is taken again, not matched as b');
  assert.equal(t.slots[0]?.key, 'a');
  assert.equal(t.slots[0]?.connects, 1);
});

test('ACLs: first match decides, no match is the opposite of the last entry, masks are not applied to the entry', () => {
  const acls = emptyAcls();
  assert.equal(aclPermits(acls, 0, '10.1.1.1'), true, 'an empty list permits');
  nth(acls, 1).push(parseAclEntry(['permit', '127.0.0.1']));
  assert.equal(aclPermits(acls, 1, '127.0.0.1'), true);
  assert.equal(aclPermits(acls, 1, '127.0.0.2'), false);
  nth(acls, 2).push(parseAclEntry(['deny', '10.0.0.0', '255.0.0.0']));
  assert.equal(aclPermits(acls, 2, '10.9.9.9'), false);
  assert.equal(aclPermits(acls, 2, '11.0.0.1'), true);
  nth(acls, 3).push(parseAclEntry(['permit', '127.0.0.1', '255.0.0.0']));
  assert.equal(aclPermits(acls, 3, '127.0.0.1'), false, 'pen does not pre-mask the entry');
  nth(acls, 4).push(parseAclEntry(['deny', '::1/128']));
  assert.equal(aclPermits(acls, 4, '::1'), false);
  assert.equal(aclPermits(acls, 4, '127.0.0.1'), true, 'IPv6 entries skip IPv4 clients');
  assert.equal(aclPermits(acls, 1, '::ffff:127.0.0.1'), true, 'IPv4-mapped clients match IPv4 entries');
  assert.equal(aclPermits(acls, 1, null), true, 'Unix-socket clients always pass');
  assert.throws(() => parseAclEntry(['allow', '1.2.3.4']), /permit\|deny/);
  assert.throws(() => parseAclEntry(['permit', '1.2.3']), /bogus address/);
});

test('listen addresses and backend specs parse as pen writes them', () => {
  assert.deepEqual(parseListen('8080'), { text: '8080', family: 4, host: '0.0.0.0', port: 8080 });
  assert.equal(parseListen(':::8080').host, '::');
  assert.equal(parseListen('::1:8080').host, '::1');
  assert.equal(parseListen('[::1]:8080').port, 8080);
  assert.equal(parseListen('/tmp/x.sock').family, 'unix');
  assert.throws(() => parseListen('127.0.0.1:99999'), /bad port/);
  assert.throws(() => parseListen(':8080'), /empty host/);
  assert.deepEqual(parseBackend('h:81:10:20:3:4'), { host: 'h', port: 81, maxc: 10, hard: 20, weight: 3, prio: 4 });
  assert.deepEqual(parseBackend('h'), { host: 'h', port: null, maxc: 0, hard: 0, weight: 0, prio: 0 });
  assert.equal(parseBackend('[::1]:80').host, '::1');
  assert.throws(() => parseBackend('::1:80'), /brackets/);
  assert.throws(() => parseBackend('h:80:x'), /bad max/);
  assert.throws(() => parseBackend('h:notaservice'), /bad port/);
});

test('X-Forwarded-For and X-Forwarded-Proto go in before the blank line, as pen puts them', () => {
  const r = (s: string, https = false) => insertForwardedHeaders(Buffer.from(s), '127.0.0.1', https).toString();
  assert.equal(r('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'), 'GET /a HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: http\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n');
  assert.equal(r('GET /a HTTP/1.1\r\nx-forwarded-for: 1.2.3.4\r\n\r\n'), 'GET /a HTTP/1.1\r\nx-forwarded-for: 1.2.3.4\r\nX-Forwarded-Proto: http\r\n\r\n');
  assert.equal(r('PUT /a HTTP/1.1\r\n\r\n'), 'PUT /a HTTP/1.1\r\n\r\n');
  assert.equal(r('get /j HTTP/1.0\nHost: x\n\n'), 'get /j HTTP/1.0\nHost: x\r\nX-Forwarded-Proto: http\r\nX-Forwarded-For: 127.0.0.1\n\n');
  assert.equal(r('POST /p HTTP/1.1\r\nHost: x\r\n\r\nbody', true), 'POST /p HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 127.0.0.1\r\n\r\nbody');
  assert.equal(r('GET /a HTTP/1.1\r\nHost: x\r\n'), 'GET /a HTTP/1.1\r\nHost: x\r\n', 'no blank line, no insertion');
});
