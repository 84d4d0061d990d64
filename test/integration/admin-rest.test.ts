// The admin REST API through inject (and once over a real socket): resources, validation, the
// change log, and POST /penctl against the real control port.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PenError } from '../../server/core/errors.ts';
import { openControlPort } from '../../server/control/port.ts';
import { startAdmin } from '../../server/admin/server.ts';
import { freePort, hold, sleep } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';
import { adminFixture, penctlPort, type Fixture } from './admin-fixture.ts';

let f: Fixture;
before(async () => { f = await adminFixture(); });
after(async () => { await f.close(); });

const json = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown> & unknown[];

test('GET /servers lists every server with its address, port and state', async () => {
  const r = await f.app.inject({ method: 'GET', url: '/servers' });
  assert.equal(r.statusCode, 200);
  const servers = json(r) as unknown as { index: number; address: string; port: number; state: string }[];
  assert.deepEqual(servers.map((s) => [s.index, s.address, s.port, s.state]),
    f.backends.map((b, i) => [i, '127.0.0.1', b.port, 'up']));
});

test('PATCH /servers/1 changes exactly the given fields, as `server 1 …` does', async () => {
  const r = await f.app.inject({ method: 'PATCH', url: '/servers/1', payload: { max: 5, hard: 7, weight: 3, prio: 2, acl: 4 } });
  assert.equal(r.statusCode, 200);
  const fields = (({ maxc, hard, weight, prio, acl }) => ({ maxc, hard, weight, prio, acl }))(json(r) as never);
  assert.deepEqual(fields, { maxc: 5, hard: 7, weight: 3, prio: 2, acl: 4 });
  assert.match(await f.cmd('servers'), new RegExp(`^1 addr 127.0.0.1 port ${nth(f.backends, 1).port} conn 0 max 5 hard 7 weight 3 prio 2 `, 'm'));
  await f.cmd('server 1 max 0 hard 0 weight 0 prio 0 acl 0');
});

test('a change is logged with the command and the caller address', async () => {
  await f.app.inject({ method: 'PATCH', url: '/servers/0', payload: { weight: 1 }, remoteAddress: '127.0.0.9' });
  const line = f.logs.find((l) => l.command === 'server 0 weight 1');
  assert.ok(line, 'a log line for the change');
  assert.equal(line.remote, '127.0.0.9');
  assert.equal(line.msg, 'admin change');
  const reads = f.logs.length;
  await f.app.inject({ method: 'GET', url: '/servers' });
  assert.equal(f.logs.length, reads, 'reads are not logged');
  await f.cmd('server 0 weight 0');
});

test('bad bodies get 400 naming the field, and nothing changes', async () => {
  const before = await f.cmd('servers');
  const cases: [unknown, string][] = [
    [{ max: '5' }, 'max'],
    [{ bogus: 1 }, 'bogus'],
    [{ port: 70000 }, 'port'],
    [{ acl: 10 }, 'acl'],
    [{ weight: -1 }, 'weight'],
    [{ address: '127.0.0.1 port 1' }, 'address'],
    [{ address: 'no-such-host.invalid' }, 'address'],
    [{ max: 1.5 }, 'max'],
    [{}, 'body'],
  ];
  for (const [payload, field] of cases) {
    const r = await f.app.inject({ method: 'PATCH', url: '/servers/0', payload: payload as object });
    assert.equal(r.statusCode, 400, JSON.stringify(payload));
    const body = json(r);
    assert.equal(body.field, field, JSON.stringify(payload));
    assert.equal(body.error, 'Bad Request');
    assert.equal(typeof body.message, 'string');
  }
  const malformed = await f.app.inject({ method: 'PATCH', url: '/servers/0', payload: '{"max": 5', headers: { 'content-type': 'application/json' } });
  assert.equal(malformed.statusCode, 400);
  assert.equal(json(malformed).statusCode, 400);
  const seconds = await f.app.inject({ method: 'PUT', url: '/servers/0/blacklist', payload: { seconds: '30' } });
  assert.equal(seconds.statusCode, 400);
  assert.equal(json(seconds).field, 'seconds');
  assert.equal(await f.cmd('servers'), before);
});

test('unknown servers are 404 and a non-numeric index is 400', async () => {
  for (const [method, url] of [['GET', '/servers/9'], ['PATCH', '/servers/9'], ['GET', '/servers/9/blacklist'], ['DELETE', '/servers/9/blacklist']] as const) {
    const r = await f.app.inject({ method, url, payload: method === 'PATCH' ? { max: 1 } : undefined });
    assert.equal(r.statusCode, 404, `${method} ${url}`);
  }
  const r = await f.app.inject({ method: 'GET', url: '/servers/x' });
  assert.equal(r.statusCode, 400);
  assert.equal(json(r).field, 'n');
  assert.equal(f.pen.servers.list.length, 2, 'no slot was created');
});

test('PUT /servers/0/blacklist blacklists for that long; DELETE ends it', async () => {
  const put = await f.app.inject({ method: 'PUT', url: '/servers/0/blacklist', payload: { seconds: 40 } });
  assert.equal(put.statusCode, 200);
  assert.deepEqual(json(put), { seconds: 40 });
  const get = await f.app.inject({ method: 'GET', url: '/servers/0/blacklist' });
  assert.ok((json(get) as unknown as { seconds: number }).seconds >= 39);
  const row = json(await f.app.inject({ method: 'GET', url: '/servers/0' }));
  assert.equal(row.state, 'blacklisted');
  const del = await f.app.inject({ method: 'DELETE', url: '/servers/0/blacklist' });
  assert.deepEqual(json(del), { seconds: 0 });
  assert.equal(json(await f.app.inject({ method: 'GET', url: '/servers/0' })).state, 'up');
});

test('POST /servers adds a server in the next slot', async () => {
  const g = await adminFixture({ backends: 1 });
  try {
    const r = await g.app.inject({ method: 'POST', url: '/servers', payload: { address: '127.0.0.1', port: 4321, max: 2 } });
    assert.equal(r.statusCode, 201);
    assert.equal(json(r).index, 1);
    assert.match(await g.cmd('servers'), /^1 addr 127\.0\.0\.1 port 4321 conn 0 max 2 /m);
    const bad = await g.app.inject({ method: 'POST', url: '/servers', payload: { address: 'no-such-host.invalid' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(g.pen.servers.list.length, 2, 'a bad address creates no slot');
  } finally {
    await g.close();
  }
});

test('GET /mode matches `mode`; PATCH /mode turns switches on and off', async () => {
  const r = await f.app.inject({ method: 'PATCH', url: '/mode', payload: { roundrobin: true, hash: true } });
  assert.equal(r.statusCode, 200);
  const mode = json(r);
  assert.equal(mode.roundrobin, true);
  assert.equal(mode.hash, true);
  assert.equal(mode.text, (await f.cmd('mode')).trim());
  assert.equal(mode.text, 'hash roundrobin no stubborn no weight no prio');
  await f.app.inject({ method: 'PATCH', url: '/mode', payload: { roundrobin: false, hash: false } });
  assert.equal((await f.cmd('mode')).trim(), 'no hash no roundrobin no stubborn no weight no prio');
  const bad = await f.app.inject({ method: 'PATCH', url: '/mode', payload: { roundrobin: 'yes' } });
  assert.equal(bad.statusCode, 400);
  assert.equal(json(bad).field, 'roundrobin');
});

test('PATCH /settings runs each field as its command; GET /settings reads them back', async () => {
  const r = await f.app.inject({ method: 'PATCH', url: '/settings', payload: { blacklist: 12, tracking: 60, http: true, tcp_fastclose: 'both', conn_max: 3 } });
  assert.equal(r.statusCode, 200);
  // each field's command applied to typed arguments; its outcome says what it did
  assert.deepEqual(json(r).outcomes, {
    blacklist: { changed: true, setting: 'blacklist', value: 12 },
    tracking: { changed: true, setting: 'tracking', value: 60 },
    http: { changed: true, setting: 'http', value: true },
    tcp_fastclose: { changed: true, setting: 'tcp_fastclose', value: 'both' },
    conn_max: { changed: false, setting: 'conn_max', value: 500 }, // the table only grows
  });
  assert.deepEqual(json(r).replies, { blacklist: '12\n', tracking: '60\n', http: '', tcp_fastclose: '', conn_max: '500\n' }, "pen's replies too");
  assert.equal(await f.cmd('blacklist'), '12\n');
  assert.equal(await f.cmd('tracking'), '60\n');
  const s = json(await f.app.inject({ method: 'GET', url: '/settings' }));
  assert.equal(s.blacklist, 12);
  assert.equal(s.http, true);
  assert.equal(s.tcp_fastclose, 'both');
  await f.app.inject({ method: 'PATCH', url: '/settings', payload: { blacklist: 30, tracking: 0, http: false, tcp_fastclose: 'off' } });
  assert.equal(json(await f.app.inject({ method: 'GET', url: '/settings' })).http, false);
  for (const [payload, field] of [[{ timeout: 0 }, 'timeout'], [{ client_acl: 12 }, 'client_acl'], [{ control: 'x' }, 'control'], [{ tcp_fastclose: 'sometimes' }, 'tcp_fastclose']] as const) {
    const bad = await f.app.inject({ method: 'PATCH', url: '/settings', payload });
    assert.equal(bad.statusCode, 400, JSON.stringify(payload));
    assert.equal(json(bad).field, field);
  }
  assert.equal(await f.cmd('timeout'), '3\n');
});

test('clients and connections are listed; DELETE /connections/N closes one', async () => {
  const port = await freePort();
  await f.pen.listen(`127.0.0.1:${port}`);
  const { socket, greeting } = await hold(port);
  try {
    assert.match(greeting, /^b[01]$/);
    const conns = json(await f.app.inject({ method: 'GET', url: '/connections' })) as unknown as { index: number; clientAddress: string }[];
    assert.equal(conns.length, 1);
    const conn = nth(conns, 0);
    assert.equal(conn.clientAddress, '127.0.0.1');
    const one = await f.app.inject({ method: 'GET', url: `/connections/${conn.index}` });
    assert.equal(one.statusCode, 200);
    const clients = json(await f.app.inject({ method: 'GET', url: '/clients' })) as unknown as { address: string; connects: number }[];
    assert.deepEqual(clients.map((c) => c.address), ['127.0.0.1']);
    const closed = new Promise((resolve) => socket.on('close', resolve));
    const del = await f.app.inject({ method: 'DELETE', url: `/connections/${conn.index}` });
    assert.equal(del.statusCode, 200);
    assert.equal(json(del).reply, `Forcibly closing connection ${conn.index}\n`);
    await closed;
    const again = await f.app.inject({ method: 'DELETE', url: `/connections/${conn.index}` });
    assert.equal(again.statusCode, 404, 'an unused slot is not closed (pen would corrupt its counters)');
  } finally {
    socket.destroy();
    f.pen.listener?.close();
  }
});

test('ACL entries are added in pen\'s forms and listed; bad ones are 400; DELETE empties a list', async () => {
  const add = (payload: object) => f.app.inject({ method: 'POST', url: '/acls/3', payload });
  assert.equal((await add({ action: 'permit', address: '10.0.0.0', mask: 8 })).statusCode, 201);
  assert.equal((await add({ action: 'deny', address: '192.168.1.0', mask: '255.255.255.0' })).statusCode, 201);
  const last = await add({ action: 'permit', address: '2001:db8::/32' });
  assert.equal(last.statusCode, 201);
  assert.deepEqual((json(last) as unknown as { entries: { line: string }[] }).entries.map((e) => e.line), [
    'acl 3 permit 10.0.0.0 255.0.0.0', 'acl 3 deny 192.168.1.0 255.255.255.0', 'acl 3 permit 2001:db8::/32',
  ]);
  for (const [payload, field] of [
    [{ action: 'allow', address: '10.0.0.1' }, 'action'],
    [{ action: 'permit', address: '300.1.1.1' }, 'address'],
    [{ action: 'permit', address: '10.0.0.1', mask: 33 }, 'mask'],
    [{ action: 'permit' }, 'address'],
    [{ action: 'permit', address: '10.0.0.1', country: 'SE' }, 'address'],
  ] as const) {
    const r = await add(payload);
    assert.equal(r.statusCode, 400, JSON.stringify(payload));
    assert.equal(json(r).field, field, JSON.stringify(payload));
  }
  assert.equal(f.pen.acls[3]?.length, 3, 'rejected entries were not added');
  const del = await f.app.inject({ method: 'DELETE', url: '/acls/3' });
  assert.deepEqual(json(del), { index: 3, entries: [] });
  assert.equal((await f.app.inject({ method: 'GET', url: '/acls/10' })).statusCode, 400);
});

test('POST /penctl answers exactly what the control port answers', async () => {
  const port = await freePort();
  const control = await openControlPort({ pen: f.pen, runtime: f.runtime, origin: 'port' }, `127.0.0.1:${port}`);
  try {
    for (const line of ['servers', 'mode', 'blacklist', 'control', 'foo bar', 'connection 600', '', 'recent']) {
      const rest = await f.app.inject({ method: 'POST', url: '/penctl', payload: line, headers: { 'content-type': 'text/plain' } });
      assert.equal(rest.statusCode, 200, line);
      assert.match(String(rest.headers['content-type']), /^text\/plain/);
      assert.equal(rest.body, await penctlPort(port, line), line);
    }
  } finally {
    control.close();
  }
});

test('POST /penctl takes one text line of at most 4095 bytes', async () => {
  const long = await f.app.inject({ method: 'POST', url: '/penctl', payload: `servers ${'x'.repeat(5000)}`, headers: { 'content-type': 'text/plain' } });
  assert.equal(long.statusCode, 400);
  assert.equal(json(long).field, 'body');
  const asJson = await f.app.inject({ method: 'POST', url: '/penctl', payload: { line: 'servers' } });
  assert.equal(asJson.statusCode, 400);
  const twoLines = await f.app.inject({ method: 'POST', url: '/penctl', payload: 'blacklist\nblacklist 99', headers: { 'content-type': 'text/plain' } });
  assert.equal(twoLines.body, '30\n', 'only the first line runs, as on the port');
  assert.equal(await f.cmd('blacklist'), '30\n');
});

test('GET /status is pen\'s HTML page and GET /metrics is Prometheus text', async () => {
  const status = await f.app.inject({ method: 'GET', url: '/status' });
  assert.equal(status.statusCode, 200);
  assert.match(String(status.headers['content-type']), /^text\/html/);
  assert.match(status.body, /^<html>\n<head>\n<title>Pen status page<\/title>/);
  const metrics = await f.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(metrics.statusCode, 200);
  assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, new RegExp(`^pen_server_current_sessions\\{server="0",address="127\\.0\\.0\\.1:${nth(f.backends, 0).port}"\\} 0$`, 'm'));
  assert.match(metrics.body, /^# TYPE pen_server_bytes_in_total counter$/m);
  assert.match(metrics.body, /^pen_server_status\{server="1",address="[^"]+",state="up"\} 1$/m);
  assert.match(metrics.body, /^pen_frontend_limit_sessions 500$/m);
});

test('GET /stats is the snapshot; /openapi.json documents the routes; /docs is served', async () => {
  const stats = json(await f.app.inject({ method: 'GET', url: '/stats' }));
  assert.equal((stats.servers as unknown[]).length, 2);
  assert.equal(typeof stats.eventLoopDelayMs, 'number');
  const doc = json(await f.app.inject({ method: 'GET', url: '/openapi.json' })) as unknown as { paths: Record<string, Record<string, unknown>> };
  for (const [path, method] of [['/servers/{n}', 'patch'], ['/servers/{n}/blacklist', 'put'], ['/settings', 'patch'], ['/acls/{n}', 'post'], ['/penctl', 'post'], ['/stats', 'get'], ['/metrics', 'get']] as const) {
    assert.ok(doc.paths[path]?.[method], `${method} ${path} is documented`);
  }
  const docs = await f.app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
});

test('startAdmin serves over a real socket on loopback', async () => {
  const admin = await startAdmin(f.pen, f.runtime, { address: '127.0.0.1:0', logger: f.app.log });
  try {
    assert.ok(admin.port > 0);
    const base = `http://127.0.0.1:${admin.port}`;
    const patch = await fetch(`${base}/servers/1`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ max: 9 }) });
    assert.equal(patch.status, 200);
    assert.equal(((await patch.json()) as { maxc: number }).maxc, 9);
    const list = await fetch(`${base}/servers`);
    assert.equal(((await list.json()) as unknown[]).length, 2);
    const text = await fetch(`${base}/penctl`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'server 1 max 0' });
    assert.equal(await text.text(), '');
    assert.equal(f.pen.servers.list[1]?.maxc, 0);
  } finally {
    await admin.close();
  }
  await sleep(10);
});

test('a non-loopback admin address without tokens is refused at start-up', async () => {
  await assert.rejects(startAdmin(f.pen, f.runtime, { address: '0.0.0.0:0' }), (err: unknown) => {
    assert.ok(err instanceof PenError);
    assert.match(err.message, /--admin-token-file/);
    return true;
  });
  await assert.rejects(startAdmin(f.pen, f.runtime, { address: 'example.com:0' }), PenError);
  await assert.rejects(startAdmin(f.pen, f.runtime, { address: 'nonsense' }), PenError);
});
