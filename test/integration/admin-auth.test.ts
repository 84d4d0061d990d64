// Bearer-token auth: two scopes, 401/403, rate-limited failures, the token file, and the
// refusal to serve a non-loopback address without tokens.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PenError } from '../../server/core/errors.ts';
import { createFailureLimiter, loadTokenFile, parseTokens } from '../../server/admin/auth.ts';
import { isLoopback, parseAdminAddress, startAdmin } from '../../server/admin/server.ts';
import { ADMIN_TOKEN, READ_TOKEN, TOKEN_FILE, adminFixture, bearer, type Fixture } from './admin-fixture.ts';

let f: Fixture;
const scratch = mkdtempSync(join(tmpdir(), 'pen-admin-auth-'));
before(async () => { f = await adminFixture({ tokens: true }); });
after(async () => {
  await f.close();
  rmSync(scratch, { recursive: true, force: true });
});

const body = (r: { body: string }) => JSON.parse(r.body) as { statusCode: number; error: string; message: string };

test('a request without a token gets 401 with a JSON error and a Bearer challenge', async () => {
  for (const [method, url] of [['GET', '/servers'], ['GET', '/stats'], ['PATCH', '/servers/0']] as const) {
    const r = await f.app.inject({ method, url, payload: method === 'PATCH' ? { max: 1 } : undefined });
    assert.equal(r.statusCode, 401, `${method} ${url}`);
    assert.equal(r.headers['www-authenticate'], 'Bearer');
    assert.deepEqual(Object.keys(body(r)).sort(), ['error', 'message', 'statusCode']);
  }
  assert.equal(f.pen.servers.list[0]?.maxc, 0);
});

test('GET /whoami without a token says a token is needed, without an error status', async () => {
  const r = await f.app.inject({ method: 'GET', url: '/whoami' });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(JSON.parse(r.body), { scope: null, auth: true });
  const wrong = await f.app.inject({ method: 'GET', url: '/whoami', headers: bearer('x'.repeat(20)), remoteAddress: '127.0.0.51' });
  assert.equal(wrong.statusCode, 401, 'a wrong token is still refused (and counted)');
});

test('a wrong token gets 401 and changes nothing', async () => {
  const wrong = `${ADMIN_TOKEN.slice(0, -1)}x`;
  const r = await f.app.inject({ method: 'PATCH', url: '/servers/0', payload: { max: 3 }, headers: bearer(wrong), remoteAddress: '127.0.0.50' });
  assert.equal(r.statusCode, 401);
  assert.equal(body(r).message, 'invalid token');
  assert.equal(f.pen.servers.list[0]?.maxc, 0);
  const malformed = await f.app.inject({ method: 'GET', url: '/servers', headers: { authorization: 'Basic abc' }, remoteAddress: '127.0.0.50' });
  assert.equal(malformed.statusCode, 401);
});

test('a read token may read but gets 403 on every change', async () => {
  const h = bearer(READ_TOKEN);
  assert.equal((await f.app.inject({ method: 'GET', url: '/servers', headers: h })).statusCode, 200);
  assert.equal((await f.app.inject({ method: 'GET', url: '/commands/servers', headers: h })).statusCode, 200);
  assert.deepEqual(JSON.parse((await f.app.inject({ method: 'GET', url: '/whoami', headers: h })).body), { scope: 'read', auth: true });
  const changes = [
    ['PATCH', '/servers/0', { max: 3 }], ['PUT', '/servers/0/blacklist', { seconds: 30 }], ['DELETE', '/servers/0/blacklist', undefined],
    ['PATCH', '/mode', { roundrobin: true }], ['PATCH', '/settings', { blacklist: 5 }], ['POST', '/acls/1', { action: 'deny', address: '10.0.0.1' }],
    ['DELETE', '/acls/1', undefined], ['POST', '/commands/blacklist', { args: ['5'] }], ['POST', '/write', {}],
  ] as const;
  for (const [method, url, payload] of changes) {
    const r = await f.app.inject({ method, url, payload, headers: h });
    assert.equal(r.statusCode, 403, `${method} ${url}`);
  }
  const penctl = (line: string) => f.app.inject({ method: 'POST', url: '/penctl', payload: line, headers: { ...h, 'content-type': 'text/plain' } });
  assert.equal((await penctl('servers')).statusCode, 200, 'read-only commands are allowed through /penctl');
  assert.equal((await penctl('blacklist 5')).statusCode, 403);
  assert.equal((await penctl('roundrobin')).statusCode, 403);
  // read as execute() reads the line: spacing, `no X`, first line only, include
  for (const line of ['  blacklist  5', 'no  keepalive', ' roundrobin\r\nservers', 'include /dev/null', ' no http']) {
    assert.equal((await penctl(line)).statusCode, 403, JSON.stringify(line));
  }
  assert.equal((await penctl('servers\nroundrobin')).statusCode, 200, 'the second line is not run');
  assert.equal(await f.cmd('blacklist'), '30\n');
  assert.equal(f.pen.settings.roundrobin, false);
  assert.equal(f.pen.servers.list[0]?.maxc, 0);
  assert.equal(f.pen.acls[1]?.length, 0);
});

test('an admin token may change things', async () => {
  const h = bearer(ADMIN_TOKEN);
  assert.deepEqual(JSON.parse((await f.app.inject({ method: 'GET', url: '/whoami', headers: h })).body), { scope: 'admin', auth: true });
  const r = await f.app.inject({ method: 'PATCH', url: '/servers/0', payload: { max: 3 }, headers: h });
  assert.equal(r.statusCode, 200);
  assert.equal(f.pen.servers.list[0]?.maxc, 3);
  await f.cmd('server 0 max 0');
});

test('the OpenAPI document and the docs page need no token', async () => {
  assert.equal((await f.app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200);
  assert.equal((await f.app.inject({ method: 'GET', url: '/docs/' })).statusCode, 200);
});

test('the dashboard\'s files are served at / without a token; unknown paths are JSON 404s', async () => {
  const web = mkdtempSync(join(scratch, 'web-'));
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>pen</title>');
  const g = await adminFixture({ tokens: true, webRoot: web });
  try {
    const index = await g.app.inject({ method: 'GET', url: '/' });
    assert.equal(index.statusCode, 200);
    assert.match(index.body, /<title>pen<\/title>/);
    assert.equal((await g.app.inject({ method: 'GET', url: '/servers' })).statusCode, 401, 'the API still needs a token');
    const missing = await g.app.inject({ method: 'GET', url: '/no/such/thing' });
    assert.equal(missing.statusCode, 404);
    assert.equal(body(missing).error, 'Not Found');
  } finally {
    await g.close();
  }
});

test('repeated failures from one address are answered 429, even with a right token, while others pass', async () => {
  const g = await adminFixture({ tokens: true, authFailures: { max: 3, windowMs: 60_000 } });
  try {
    const ip = '127.0.0.77';
    for (let i = 0; i < 3; i++) {
      const r = await g.app.inject({ method: 'GET', url: '/servers', headers: bearer(`wrong-token-${i}-padding-padding`), remoteAddress: ip });
      assert.equal(r.statusCode, 401);
    }
    const blocked = await g.app.inject({ method: 'GET', url: '/servers', headers: bearer(ADMIN_TOKEN), remoteAddress: ip });
    assert.equal(blocked.statusCode, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    const other = await g.app.inject({ method: 'GET', url: '/servers', headers: bearer(ADMIN_TOKEN), remoteAddress: '127.0.0.78' });
    assert.equal(other.statusCode, 200);
  } finally {
    await g.close();
  }
});

test('the failure limiter forgets an address when its window ends', () => {
  let now = 0;
  const limiter = createFailureLimiter({ max: 2, windowMs: 1000, now: () => now });
  limiter.fail('a');
  assert.equal(limiter.retryAfter('a'), 0);
  limiter.fail('a');
  assert.equal(limiter.retryAfter('a'), 1);
  now = 1000;
  assert.equal(limiter.retryAfter('a'), 0);
});

test('tokens grant their scope and nothing else', () => {
  const store = parseTokens(TOKEN_FILE);
  assert.equal(store.enabled, true);
  assert.equal(store.scopeOf(ADMIN_TOKEN), 'admin');
  assert.equal(store.scopeOf(READ_TOKEN), 'read');
  assert.equal(store.scopeOf(ADMIN_TOKEN.toUpperCase()), null);
  assert.equal(store.scopeOf(`${READ_TOKEN} `), null);
  assert.equal(store.scopeOf(''), null);
});

test('a malformed token file is refused with the line that is wrong', () => {
  assert.throws(() => parseTokens('admin\n', 'f'), (e: unknown) => e instanceof PenError && /^f:1: /.test(e.message));
  assert.throws(() => parseTokens('# ok\nwrite abcdefghijklmnopqrstuvwxyz\n', 'f'), /f:2: expected/);
  assert.throws(() => parseTokens('admin short\n', 'f'), /at least 16/);
  const dir = mkdtempSync(join(scratch, 'tokens-'));
  assert.throws(() => loadTokenFile(join(dir, 'missing')), (e: unknown) => e instanceof PenError && e.code === 'PEN_ERR_IO');
  writeFileSync(join(dir, 'empty'), '# nothing\n');
  assert.throws(() => loadTokenFile(join(dir, 'empty')), /has no tokens/);
});

test('admin addresses parse as pen addresses do, and only loopback is loopback', () => {
  assert.deepEqual(parseAdminAddress('8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseAdminAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
  assert.deepEqual(parseAdminAddress('::1:9000'), { host: '::1', port: 9000 });
  assert.deepEqual(parseAdminAddress('[::1]:9000'), { host: '::1', port: 9000 });
  assert.throws(() => parseAdminAddress('host:99999'), PenError);
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com']) assert.equal(isLoopback(h), false, h);
});

test('with a token file, a non-loopback address is allowed and requests need tokens', async () => {
  const dir = mkdtempSync(join(scratch, 'tokens-'));
  const file = join(dir, 'tokens');
  writeFileSync(file, TOKEN_FILE);
  const admin = await startAdmin(f.pen, f.runtime, { address: '0.0.0.0:0', tokenFile: file, logger: f.app.log });
  try {
    const url = `http://127.0.0.1:${admin.port}/servers`;
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { headers: bearer(READ_TOKEN) })).status, 200);
  } finally {
    await admin.close();
  }
});
