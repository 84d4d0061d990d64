// The penctl port of a real pen process, driven with Debian's /usr/bin/penctl and with ours:
// every command in the registry answers both the same (the commands' effects on traffic and the
// port's own behaviour are in control-port-effects.test.ts).
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { COMMANDS } from '../../shared/commands.ts';
import { get } from '../helpers/backends.ts';
import { CLIENTS, a, abuse, ask, dir, ourPen, withBackends } from './control-fixture.ts';

withBackends();

const include = join(dir, 'inc.cfg');
writeFileSync(include, 'blacklist 30\n');

/** One invocation per command, and the reply it must get (a RegExp where it varies). */
const SAMPLES: Record<string, [string, string | RegExp]> = {
  abort_on_error: ['abort_on_error', ''],
  'no abort_on_error': ['no abort_on_error', ''],
  acl: ['acl 5 permit 10.0.0.0 255.0.0.0', ''],
  'no acl': ['no acl 5', ''],
  ascii: ['ascii', ''],
  geoip: ['geoip', ''],
  'no geoip': ['no geoip', ''],
  'no ascii': ['no ascii', ''],
  blacklist: ['blacklist 30', '30\n'],
  client_acl: ['client_acl', '0\n'],
  clients_max: ['clients_max', '2048\n'],
  close: ['close 499', 'Forcibly closing connection 499\n'],
  conn_max: ['conn_max', '500\n'],
  connection: ['connection 499', 'Connection 499:\nstate = 0\ndownfd = -1, upfd = -1\nclient = 0, server = 0\npend = 0\n'],
  control: ['control', /^127\.0\.0\.1:\d+\n$/],
  control_acl: ['control_acl 0', '0\n'],
  debug: ['debug', '0\n'],
  dsr_if: ['dsr_if eth0', /^Direct Server Return .*\n$/],
  dsr_ip: ['dsr_ip 10.0.0.1', /^Direct Server Return .*\n$/],
  dummy: ['dummy', ''],
  'no dummy': ['no dummy', ''],
  epoll: ['epoll', ''],
  poll: ['poll', ''],
  select: ['select', ''],
  kqueue: ['kqueue', ''],
  exit: ['exit', 'Exit is not enabled; restart with -X flag\n'],
  health: ['health', 'off\n'],
  hash: ['hash', ''],
  'no hash': ['no hash', ''],
  http: ['http', ''],
  'no http': ['no http', ''],
  idle_timeout: ['idle_timeout', 'Idle timeout: 0 seconds\n'],
  idlers: ['idlers', 'Idlers: 0/0\n'],
  include: [`include ${include}`, ''],
  keepalive: ['keepalive', ''],
  'no keepalive': ['no keepalive', ''],
  listen: ['listen', /^127\.0\.0\.1:\d+\n$/],
  log: ['log', ''],
  'no log': ['no log', ''],
  mode: ['mode', 'no hash no roundrobin no stubborn no weight no prio\n'],
  peek: ['peek', ''],
  'no peek': ['no peek', ''],
  pending_max: ['pending_max 100', ''],
  pid: ['pid', /^\d+\n$/],
  prio: ['prio', ''],
  'no prio': ['no prio', ''],
  recent: ['recent', ''],
  roundrobin: ['roundrobin', ''],
  'no roundrobin': ['no roundrobin', ''],
  server: ['server 1 max 0', ''],
  servers: ['servers', /^0 addr 127\.0\.0\.1 port \d+ conn 0 max 0 hard 0 weight 0 prio 0 sx 0 rx 0\n1 addr 127\.0\.0\.1 port \d+ conn 0 max 0 hard 0 weight 0 prio 0 sx 0 rx 0\n$/],
  socket: ['socket 1000', 'Socket 1000 belongs to connection -1\n'],
  source: ['source 1.2.3.4.5', "unable to set source address to '1.2.3.4.5'"],
  ssl_ciphers: ['ssl_ciphers HIGH', ''],
  ssl_client_renegotiation_interval: ['ssl_client_renegotiation_interval 3600', ''],
  ssl_ocsp_response: [`ssl_ocsp_response ${join(dir, 'ocsp.der')}`, ''],
  ssl_option: ['ssl_option no_sslv3', ''],
  ssl_sni_path: [`ssl_sni_path ${dir}`, ''],
  status: ['status', 'Unable to create webstats\n'],
  stubborn: ['stubborn', ''],
  'no stubborn': ['no stubborn', ''],
  tarpit_acl: ['tarpit_acl', 'tarpit_acl = -1'],
  tcp_fastclose: ['tcp_fastclose off', ''],
  tcp_nodelay: ['tcp_nodelay', ''],
  'no tcp_nodelay': ['no tcp_nodelay', ''],
  timeout: ['timeout', '3\n'],
  tracking: ['tracking', '0\n'],
  transparent: ['transparent', ''],
  'no transparent': ['no transparent', ''],
  web_stats: ['web_stats', ''],
  'no web_stats': ['no web_stats', ''],
  weight: ['weight', ''],
  'no weight': ['no weight', ''],
  write: [`write ${join(dir, 'sample.cfg')}`, ''],
};

test('every command in the registry answers both penctls the same, with the expected reply', { timeout: 120_000 }, async () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), COMMANDS.map((c) => c.name).sort(), 'one sample per command');
  const p = await ourPen();
  try {
    for (const c of COMMANDS) {
      const [line, expected] = SAMPLES[c.name] ?? assert.fail(`no sample for ${c.name}`);
      const replies = CLIENTS.map(([, bin]) => ask(p.ctl, line, bin));
      for (const r of replies) {
        if (typeof expected === 'string') assert.equal(r, expected, line);
        else assert.match(r, expected, line);
      }
      assert.equal(new Set(replies).size, 1, `${line}: both penctls get the same bytes`);
    }
    assert.ok(existsSync(join(dir, 'sample.cfg')), 'write wrote its file');
    assert.equal(await get(p.port), 'B', 'traffic still flows after every command');
  } finally {
    await p.pen.stop();
  }
});

for (const [who, bin] of CLIENTS) {
  describe(`through ${who}`, () => {
    test('server 1 blacklist 30 sends the next connection elsewhere; blacklist 0 brings it back', async () => {
      const p = await ourPen(['-r']);
      try {
        assert.deepEqual([await get(p.port), await get(p.port)], ['B', 'A']);
        assert.equal(ask(p.ctl, 'server 1 blacklist 30', bin), '');
        assert.deepEqual([await get(p.port), await get(p.port), await get(p.port)], ['A', 'A', 'A']);
        assert.match(ask(p.ctl, 'status', bin), /^Unable/);
        assert.equal(ask(p.ctl, 'server 1 blacklist 0', bin), '');
        assert.deepEqual([await get(p.port), await get(p.port)], ['B', 'A']);
      } finally {
        await p.pen.stop();
      }
    });

    test('acl, client_acl and server acl send denied clients to the abuse server or nowhere', async () => {
      const p = await ourPen(['-B', `127.0.0.1:${abuse.port}`], [`127.0.0.1:${a.port}`]);
      try {
        ask(p.ctl, 'acl 1 permit 127.0.0.1', bin);
        assert.equal(ask(p.ctl, 'client_acl 1', bin), '1\n');
        assert.equal(await get(p.port), 'A');
        assert.equal(await get(p.port, { localAddress: '127.0.0.2' }), 'Abuse', 'no match: the opposite of the last entry');
        assert.equal(ask(p.ctl, 'client_acl 0', bin), '0\n');
        assert.equal(await get(p.port, { localAddress: '127.0.0.2' }), 'A');
        ask(p.ctl, 'server 0 acl 1', bin);
        assert.equal(await get(p.port), 'A');
        assert.equal(await get(p.port, { localAddress: '127.0.0.2' }), '', 'the only server refuses it and there is no emergency server');
        ask(p.ctl, 'no acl 1', bin);
        assert.equal(await get(p.port, { localAddress: '127.0.0.2' }), 'A', 'an empty list permits');
      } finally {
        await p.pen.stop();
      }
    });

    test('selection commands change where traffic goes', async () => {
      const p = await ourPen();
      try {
        assert.equal(await get(p.port), 'B', 'round robin gives a new client server 1 first');
        assert.equal(await get(p.port), 'B', 'tracking keeps the client on its server');
        ask(p.ctl, 'roundrobin', bin);
        assert.deepEqual([await get(p.port), await get(p.port)], ['A', 'B']);
        ask(p.ctl, 'no roundrobin', bin);
        ask(p.ctl, 'prio', bin);
        ask(p.ctl, 'server 0 prio 5', bin);
        ask(p.ctl, 'server 1 prio 1', bin);
        assert.equal(await get(p.port, { localAddress: '127.0.0.3' }), 'B', 'a new client gets the lowest prio');
        ask(p.ctl, 'no prio', bin);
        ask(p.ctl, 'weight', bin);
        ask(p.ctl, 'server 0 weight 1', bin);
        assert.equal(await get(p.port, { localAddress: '127.0.0.4' }), 'A', 'weight 0 servers are never chosen');
        assert.equal(ask(p.ctl, 'mode', bin), 'no hash no roundrobin no stubborn weight no prio\n');
        ask(p.ctl, 'dummy', bin);
        assert.equal(await get(p.port), 'Ulric was here.');
        ask(p.ctl, 'no dummy', bin);
        assert.match(ask(p.ctl, 'recent', bin), /^127\.0\.0\.1 connects 5 sx \d+ rx \d+\n/);
      } finally {
        await p.pen.stop();
      }
    });
  });
}
