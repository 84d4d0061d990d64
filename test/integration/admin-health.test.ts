// REST for health checks and drain: GET/PUT /health, GET/PUT/DELETE /servers/:n/health,
// PUT/DELETE /servers/:n/drain; typed bodies, the registry's refusals as 400s, the usual scopes,
// the snapshot, /metrics and the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';
import { ADMIN_TOKEN, READ_TOKEN, adminFixture, type Fixture } from './admin-fixture.ts';

let f: Fixture;
before(async () => { f = await adminFixture({ tokens: true }); });
after(async () => { await f.close(); });

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const read = { authorization: `Bearer ${READ_TOKEN}` };
const json = (r: { body: string }) => JSON.parse(r.body);

test('GET/PUT /health: the default check, set as `health …` sets it; a bad body changes nothing', async () => {
  assert.deepEqual(json(await f.app.inject({ method: 'GET', url: '/health', headers: read })), { kind: 'off', interval: 5, timeout: 2, rise: 2, fall: 3 });
  const r = await f.app.inject({ method: 'PUT', url: '/health', headers: admin, payload: { kind: 'tcp', interval: 1, fall: 2 } });
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(json(r), { kind: 'tcp', interval: 1, timeout: 2, rise: 2, fall: 2 });
  assert.equal(await f.cmd('health'), 'tcp interval 1 timeout 2 rise 2 fall 2\n');
  for (const payload of [{ kind: 'http' }, { kind: 'ping' }, { kind: 'tcp', interval: 0 }, { kind: 'http', path: '/a b' }, { kind: 'tcp', extra: 1 }]) {
    const bad = await f.app.inject({ method: 'PUT', url: '/health', headers: admin, payload });
    assert.equal(bad.statusCode, 400, JSON.stringify(payload));
  }
  assert.equal(await f.cmd('health'), 'tcp interval 1 timeout 2 rise 2 fall 2\n', 'unchanged');
  assert.equal((await f.app.inject({ method: 'PUT', url: '/health', headers: read, payload: { kind: 'off' } })).statusCode, 403);
});

test('the snapshot, /servers/:n/health and /metrics show each checked server\'s state', async () => {
  const deadline = Date.now() + 5000;
  let row;
  do {
    await sleep(50);
    row = json(await f.app.inject({ method: 'GET', url: '/servers/0', headers: read }));
  } while (row.health?.state !== 'up' && Date.now() < deadline);
  assert.equal(row.health.state, 'up');
  assert.equal(row.drain, false);
  assert.ok(row.health.lastCheck > 0 && row.health.successes >= 2 && row.health.lastError === null);
  const h = json(await f.app.inject({ method: 'GET', url: '/servers/0/health', headers: read }));
  assert.equal(h.own, null);
  assert.equal(h.check.kind, 'tcp');
  const metrics = (await f.app.inject({ method: 'GET', url: '/metrics', headers: read })).body;
  const port = nth(f.backends, 0).port;
  assert.match(metrics, new RegExp(`^pen_server_check_status\\{server="0",address="127\\.0\\.0\\.1:${port}",state="up"\\} 1$`, 'm'));
  assert.match(metrics, new RegExp(`^pen_server_check_duration_seconds\\{server="0",address="127\\.0\\.0\\.1:${port}"\\} [0-9.e-]+$`, 'm'));
  assert.match(metrics, new RegExp(`^pen_server_check_failures_total\\{server="0",address="127\\.0\\.0\\.1:${port}"\\} 0$`, 'm'));
  assert.match(metrics, new RegExp(`^pen_server_draining\\{server="0",address="127\\.0\\.0\\.1:${port}"\\} 0$`, 'm'));
});

test('PUT/DELETE /servers/:n/health: its own check, and back to the default', async () => {
  const r = await f.app.inject({ method: 'PUT', url: '/servers/1/health', headers: admin, payload: { kind: 'http', path: '/healthz', status: '2xx', timeout: 1 } });
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(json(r).own, { kind: 'http', path: '/healthz', status: '2xx', interval: 5, timeout: 1, rise: 2, fall: 3 });
  assert.equal(json(r).check.kind, 'http');
  const d = await f.app.inject({ method: 'DELETE', url: '/servers/1/health', headers: admin });
  assert.equal(json(d).own, null);
  assert.equal(json(d).check.kind, 'tcp');
  assert.equal((await f.app.inject({ method: 'PUT', url: '/servers/99/health', headers: admin, payload: { kind: 'tcp' } })).statusCode, 404);
  assert.equal((await f.app.inject({ method: 'DELETE', url: '/servers/1/health', headers: read })).statusCode, 403);
});

test('PUT/DELETE /servers/:n/drain', async () => {
  const on = await f.app.inject({ method: 'PUT', url: '/servers/1/drain', headers: admin });
  assert.deepEqual(json(on), { drain: true });
  assert.equal(json(await f.app.inject({ method: 'GET', url: '/servers/1', headers: read })).drain, true);
  assert.equal((await f.app.inject({ method: 'PUT', url: '/servers/1/drain', headers: read })).statusCode, 403);
  assert.deepEqual(json(await f.app.inject({ method: 'DELETE', url: '/servers/1/drain', headers: admin })), { drain: false });
  assert.equal((await f.app.inject({ method: 'PUT', url: '/servers/7/drain', headers: admin })).statusCode, 404);
});

test('the OpenAPI document has the health and drain routes', async () => {
  const doc = json(await f.app.inject({ method: 'GET', url: '/openapi.json' }));
  for (const path of ['/health', '/servers/{n}/health', '/servers/{n}/drain']) assert.ok(doc.paths[path], path);
  assert.ok(doc.paths['/health'].put.requestBody);
  assert.ok(doc.paths['/servers/{n}/drain'].delete);
});
