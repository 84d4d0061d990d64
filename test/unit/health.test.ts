// Health checks without sockets: the command language (shared/health.ts), the up/down state
// machine (core/health.ts), the http check's status-line reader (http-check.ts) and selection
// skipping health-down and draining servers (select.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyAcls } from '../../server/core/acl.ts';
import { freshHealth, recordResult } from '../../server/core/health.ts';
import { statusCode } from '../../server/core/http-check.ts';
import { canTry, chooseInitial, failoverNext, type ClientInfo, type SelectState } from '../../server/core/select.ts';
import { EMERGENCY, NO_SERVER, emptyServer, type Server } from '../../server/core/servers.ts';
import { defaultSettings } from '../../server/core/settings.ts';
import { HealthSyntaxError, formatHealth, parseHealth, statusMatches } from '../../shared/health.ts';

test('health words parse with the documented defaults and write back the same words', () => {
  assert.deepEqual(parseHealth(['tcp']), { kind: 'tcp', interval: 5, timeout: 2, rise: 2, fall: 3 });
  assert.deepEqual(parseHealth(['http', '/healthz']), { kind: 'http', path: '/healthz', status: '200', interval: 5, timeout: 2, rise: 2, fall: 3 });
  assert.deepEqual(parseHealth(['http', '/', '2xx', 'fall', '1']).status, '2xx');
  assert.deepEqual(parseHealth(['dns', 'example.com', 'interval', '1', 'timeout', '1', 'rise', '3', 'fall', '2']),
    { kind: 'dns', name: 'example.com', interval: 1, timeout: 1, rise: 3, fall: 2 });
  for (const line of ['off', 'tcp', 'tcp interval 1 fall 2', 'http /healthz', 'http /x 2xx timeout 1', 'dns example.com rise 1']) {
    assert.equal(formatHealth(parseHealth(line.split(' '))), line);
  }
  assert.equal(formatHealth(parseHealth(['tcp']), true), 'tcp interval 5 timeout 2 rise 2 fall 3');
});

test('bad health words are refused with a reason', () => {
  const bad: [string, RegExp][] = [
    ['', /expected off, tcp/], ['ping', /expected off, tcp/], ['http', /PATH/], ['http healthz', /PATH/],
    ['dns', /NAME/], ['dns bad..name', /NAME/], ['tcp interval', /needs a number/], ['tcp interval 0', /less than 1/],
    ['tcp interval 1.5', /needs a number/], ['tcp fall 101', /more than 100/], ['tcp every 5', /unknown option/],
    ['tcp rise -1', /needs a number/],
  ];
  for (const [line, why] of bad) {
    assert.throws(() => parseHealth(line === '' ? [] : line.split(' ')), (e: Error) => e instanceof HealthSyntaxError && why.test(e.message), line);
  }
});

test('status patterns: exact codes and x as any digit', () => {
  assert.ok(statusMatches('200', 200));
  assert.ok(!statusMatches('200', 204));
  assert.ok(statusMatches('2xx', 204));
  assert.ok(!statusMatches('2xx', 500));
  assert.ok(statusMatches('30x', 302));
});

test('the http check reads the status code from the bytes of the status line, or -1 for anything else', () => {
  const table: [string, number][] = [
    ['HTTP/1.1 200 OK', 200], ['HTTP/1.0 404 Not Found', 404], ['HTTP/2 503', 503], ['HTTP/1.1 2000', 200],
    ['HTTP/1.1 20', -1], ['HTTP/1.x 200', -1], ['HTTP/1. 200', -1], ['http/1.1 200', -1], ['HTTP/11 200', -1],
    ['HTTP/1.1  200', -1], ['HTTP/', -1], ['', -1], ['SSH-2.0-OpenSSH', -1], ['HTTP/1.1 abc', -1],
  ];
  for (const [line, code] of table) {
    // the line sits at the start of a bigger buffer (the shared read buffer): bytes past its end do not count
    const bytes = Buffer.from(`${line}999 trailing`, 'latin1');
    assert.equal(statusCode(bytes, line.length), code, line);
  }
});

test('a server goes down after `fall` failures in a row and up after `rise` successes', () => {
  const h = freshHealth();
  assert.equal(recordResult(h, true, 2, 3), null);
  assert.equal(h.state, 'unknown', 'one success is not yet rise 2');
  assert.equal(recordResult(h, true, 2, 3), null, 'unknown → up is quiet');
  assert.equal(h.state, 'up');
  assert.equal(recordResult(h, false, 2, 3), null);
  assert.equal(recordResult(h, false, 2, 3), null);
  assert.equal(recordResult(h, true, 2, 3), null, 'a success in between starts the count again');
  assert.deepEqual([false, false, false].map(() => recordResult(h, false, 2, 3)), [null, null, 'down']);
  assert.equal(h.state, 'down');
  assert.equal(recordResult(h, false, 2, 3), null, 'down stays down quietly');
  assert.equal(recordResult(h, true, 2, 3), null);
  assert.equal(recordResult(h, true, 2, 3), 'up');
  assert.equal(h.failuresTotal, 6);
  assert.equal(h.checks, 11);
  const fresh = freshHealth();
  assert.equal(recordResult(fresh, false, 2, 1), 'down', 'an unknown server that fails goes down');
});

// ---- selection ----

const NOW = 1_000_000;

function state(n: number, patch: Partial<Server>[] = []): SelectState {
  const list = Array.from({ length: n }, (_, i) => ({ ...emptyServer(), family: 4 as const, address: '127.0.0.1', port: 1000 + i, weight: 1, ...patch[i] }));
  return {
    servers: { list, emergency: null, abuse: null, current: NO_SERVER },
    settings: defaultSettings(), acls: emptyAcls(), rrCursor: 0,
  };
}

const client = (lastServer = NO_SERVER, ip = '127.0.0.1'): ClientInfo => ({ ip, port: 40000, lastServer });

/** What tcp.ts does: the initial choice, or failover from it when it cannot be tried. */
function pick(st: SelectState, c: ClientInfo): number {
  const initial = chooseInitial(st, c, NOW);
  return canTry(st, initial, c, NOW) ? initial : failoverNext(st, initial, initial, c, NOW);
}

const MODES: [string, (st: SelectState) => void][] = [
  ['tracking', () => {}],
  ['round robin', (st) => { st.settings.roundrobin = true; }],
  ['hash', (st) => { st.settings.hash = true; }],
  ['weight', (st) => { st.settings.weight = true; }],
  ['prio', (st) => { st.settings.prio = true; }],
];

for (const [flag, patch] of [['health-down', { healthDown: true }], ['draining', { drain: true }]] as const) {
  for (const [mode, set] of MODES) {
    test(`${mode}: a ${flag} server gets no new pick, returning clients included, as a blacklisted one`, () => {
      const st = state(3, [{}, patch, {}]);
      set(st);
      const picks = new Set<number>();
      for (let k = 0; k < 12; k++) picks.add(pick(st, client(NO_SERVER, `10.0.0.${k}`)));
      assert.ok(!picks.has(1), `${[...picks]}`);
      assert.notEqual(pick(st, client(1, '10.0.0.1')), 1, 'a client whose last server it was goes elsewhere');
      // the same holds for blacklisting: the server table says which servers are out, one rule
      const [out, bl] = [state(3, [{}, patch, {}]), state(3, [{}, { status: NOW }, {}])];
      set(out);
      set(bl);
      assert.equal(pick(out, client(1, '10.0.0.1')), pick(bl, client(1, '10.0.0.1')));
    });
  }
  test(`stubborn: a client whose server is ${flag} is closed, as pen does for a blacklisted one`, () => {
    const st = state(2, [{}, patch]);
    st.settings.stubborn = true;
    assert.equal(pick(st, client(1)), NO_SERVER);
  });
  test(`all servers ${flag}: the emergency server takes the client`, () => {
    const st = state(2, [patch, patch]);
    st.servers.emergency = { ...emptyServer(), family: 4, address: '127.0.0.1', port: 9 };
    assert.equal(pick(st, client()), EMERGENCY);
  });
}
