// The browser guard (server/admin/guard.ts), over real sockets: the Host allowlist that stops DNS
// rebinding, the Origin checks that stop cross-site requests (CSRF), CORS only when asked for,
// the browser headers, and the stream's token kept out of URLs and logs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import net from 'node:net';
import pino from 'pino';
import { Balancer } from '../../server/core/balancer.ts';
import { execute } from '../../server/control/registry.ts';
import { startAdmin } from '../../server/admin/server.ts';
import { allowedHosts, hostEntry } from '../../server/admin/guard.ts';
import { STREAM_PROTOCOL, TOKEN_PROTOCOL_PREFIX } from '../../shared/stream-auth.ts';
import { ADMIN_TOKEN, READ_TOKEN, adminFixture, bearer, httpRequest, wsUpgrade } from './admin-fixture.ts';

const runtime = { argv: ['pen'], exit() {} };
let pen: Balancer;
let admin: { close(): Promise<void>; port: number };
let port: number;
const logs: string[] = [];

before(async () => {
  pen = new Balancer();
  await execute({ pen, runtime, origin: 'cli' }, 'server 0 address 127.0.0.1 port 9');
  const logger = pino({ level: 'info' }, { write: (s: string) => { logs.push(s); } });
  admin = await startAdmin(pen, runtime, { address: '127.0.0.1:0', logger });
  port = admin.port;
});
after(async () => {
  await admin.close();
  pen.shutdown();
});

const penctl = (line: string, headers: Record<string, string> = {}, host?: string | null) =>
  httpRequest(port, { method: 'POST', path: '/penctl', headers: { 'content-type': 'text/plain', ...headers }, body: line, host });

test('a Host that is not one of the server\'s names gets 403 before any route runs', async () => {
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`]) {
    assert.equal((await httpRequest(port, { path: '/whoami', host })).status, 200, host);
  }
  const refused = [
    `evil.example:${port}`, `127.evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost.evil.example:${port}`,
    `localhost:${port + 1}`, 'localhost', `127.0.0.1:${port}@evil.example`, `127.0.0.2:${port}`, '', `[::2]:${port}`,
  ];
  for (const host of refused) {
    const r = await httpRequest(port, { path: '/whoami', host });
    assert.equal(r.status, 403, `Host: ${host}`);
    assert.match(JSON.parse(r.body).message, /Host/);
  }
  // no Host at all: node's HTTP/1.1 parser refuses it (400) before we see it
  assert.ok([400, 403].includes((await httpRequest(port, { path: '/stats', host: null })).status), 'no Host at all');
  // a rebinding page's change is refused too, and nothing runs
  assert.equal((await penctl('blacklist 99', {}, `evil.example:${port}`)).status, 403);
  assert.equal((await penctl('blacklist', {})).body, '30\n');
  // the dashboard's files and the docs are behind the same check
  assert.equal((await httpRequest(port, { path: '/openapi.json', host: `evil.example:${port}` })).status, 403);
  assert.equal((await httpRequest(port, { path: '/nowhere', host: `evil.example:${port}` })).status, 403);
});

test('a WebSocket upgrade with a foreign Host is refused', async () => {
  const bad = await wsUpgrade(`ws://127.0.0.1:${port}/stream`, { headers: { host: `rebind.example:${port}` } });
  assert.equal(bad.status, 403);
  const good = await wsUpgrade(`ws://127.0.0.1:${port}/stream`, { headers: { host: `localhost:${port}` } });
  assert.equal(good.status, 101);
  good.ws?.close();
});

test('a non-loopback bind answers to its address and the --admin-host names only', async () => {
  const hosts = allowedHosts('192.0.2.7', false, ['Admin.Example', 'tunnel.example:8443']);
  assert.deepEqual(hosts, ['192.0.2.7', 'admin.example', 'tunnel.example:8443']);
  assert.deepEqual(allowedHosts('::1', true), ['[::1]', 'localhost', '127.0.0.1']);
  assert.throws(() => hostEntry('http://x'), /not a host name/);
  assert.throws(() => hostEntry('a b'), /not a host name/);
  const f = await adminFixture({ guard: { hosts, cors: [] } });
  try {
    const status = async (host: string) => (await f.app.inject({ method: 'GET', url: '/whoami', headers: { host } })).statusCode;
    for (const ok of ['192.0.2.7', 'admin.example', 'ADMIN.example:80', 'tunnel.example:8443']) assert.equal(await status(ok), 200, ok);
    for (const no of ['localhost', '127.0.0.1', 'tunnel.example:9', 'admin.example.evil', 'evil.admin.example']) assert.equal(await status(no), 403, no);
  } finally {
    await f.close();
  }
});

test('a change carrying a foreign Origin or a cross-site Sec-Fetch-Site is refused, whatever its content type', async () => {
  const other = `http://127.0.0.1:${port + 1}`;
  const attacks: Record<string, string>[] = [
    { origin: other }, { origin: 'null' }, { origin: `http://localhost:${port}` }, { origin: `http://evil.example` },
    { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: other, 'content-type': 'application/x-www-form-urlencoded' },
  ];
  for (const headers of attacks) {
    for (const line of ['server 0 blacklist 300', 'blacklist 77', 'roundrobin']) {
      const r = await penctl(line, headers);
      assert.equal(r.status, 403, `${line} with ${JSON.stringify(headers)}`);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    const patch = await httpRequest(port, { method: 'PATCH', path: '/servers/0', headers: { 'content-type': 'application/json', ...headers }, body: '{"max":5}' });
    assert.equal(patch.status, 403);
  }
  assert.equal(pen.servers.list[0]?.maxc, 0);
  assert.equal(pen.settings.roundrobin, false);
  assert.equal((await penctl('blacklist')).body, '30\n', 'nothing ran');
  assert.equal((await penctl('servers')).body.includes('blacklist'), false);
});

test('requests without Origin (curl, scripts) and from the server\'s own origin keep working', async () => {
  assert.equal((await penctl('blacklist 31')).status, 200);
  assert.equal((await penctl('blacklist 32', { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' })).status, 200);
  const viaLocalhost = await penctl('blacklist 33', { origin: `http://localhost:${port}` }, `localhost:${port}`);
  assert.equal(viaLocalhost.status, 200);
  assert.equal((await penctl('blacklist')).body, '33\n');
  await penctl('blacklist 30');
  // a read may come from anywhere (a link to the dashboard); it cannot be read back without CORS
  const read = await httpRequest(port, { path: '/stats', headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } });
  assert.equal(read.status, 200);
  assert.equal(read.headers['access-control-allow-origin'], undefined);
});

test('a WebSocket to /stream needs a same-origin Origin or none', async () => {
  const url = `ws://127.0.0.1:${port}/stream`;
  for (const origin of [`http://127.0.0.1:${port + 1}`, 'http://evil.example', 'null']) {
    assert.equal((await wsUpgrade(url, { headers: { origin } })).status, 403, origin);
  }
  for (const headers of [{}, { origin: `http://127.0.0.1:${port}` }] as Record<string, string>[]) {
    const r = await wsUpgrade(url, { headers });
    assert.equal(r.status, 101, JSON.stringify(headers));
    r.ws?.close();
  }
});

test('no CORS headers unless --admin-cors names the origin; that origin gets them and may change things', async () => {
  const dev = 'http://localhost:5173';
  const f = await adminFixture({ guard: { hosts: allowedHosts('127.0.0.1', true), cors: [dev] } });
  const g = await adminFixture();
  try {
    const pre = await f.app.inject({ method: 'OPTIONS', url: '/servers/0', headers: { origin: dev, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' } });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-origin'], dev);
    assert.match(String(pre.headers['access-control-allow-methods']), /PATCH/);
    assert.match(String(pre.headers['access-control-allow-headers']), /authorization/);
    const r = await f.app.inject({ method: 'PATCH', url: '/servers/0', headers: { origin: dev, 'sec-fetch-site': 'same-site' }, payload: { max: 4 } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['access-control-allow-origin'], dev);
    assert.equal(r.headers.vary, 'Origin');
    const other = await f.app.inject({ method: 'PATCH', url: '/servers/0', headers: { origin: 'http://localhost:5174' }, payload: { max: 5 } });
    assert.equal(other.statusCode, 403);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(f.pen.servers.list[0]?.maxc, 4);
    // without --admin-cors nobody gets them, not even for a preflight
    for (const [method, url] of [['OPTIONS', '/servers/0'], ['GET', '/stats'], ['PATCH', '/servers/0'], ['GET', '/nowhere']] as const) {
      const res = await g.app.inject({ method, url, headers: { origin: dev, 'access-control-request-method': 'PATCH' }, payload: method === 'PATCH' ? { max: 1 } : undefined });
      assert.deepEqual(Object.keys(res.headers).filter((h) => h.startsWith('access-control-')), [], `${method} ${url}`);
    }
    assert.equal(g.pen.servers.list[0]?.maxc, 0);
  } finally {
    await f.close();
    await g.close();
  }
});

test('every response carries the browser headers: CSP, nosniff, no-referrer', async () => {
  const f = await adminFixture({ webRoot: new URL('../../web/dist/', import.meta.url).pathname });
  try {
    for (const [url, host] of [['/', 'localhost:80'], ['/stats', 'localhost:80'], ['/nowhere', 'localhost:80'], ['/stats', 'evil.example'], ['/docs/', 'localhost']] as const) {
      const r = await f.app.inject({ method: 'GET', url, headers: { host } });
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'(;|$)/, url);
      // (Swagger UI's pages may use an inline style; no page may run inline script)
      assert.doesNotMatch(url.startsWith('/docs') ? csp.replace("style-src 'self' 'unsafe-inline'", '') : csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /connect-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
    }
  } finally {
    await f.close();
  }
});

test('the stream takes its token as a subprotocol, answers with the stream protocol only, and no token is ever logged', async () => {
  const logged: string[] = [];
  const p = new Balancer();
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'pen-guard-'));
  writeFileSync(join(dir, 'tokens'), `admin ${ADMIN_TOKEN}\nread ${READ_TOKEN}\n`);
  const a = await startAdmin(p, runtime, { address: '127.0.0.1:0', tokenFile: join(dir, 'tokens'), logger: pino({ level: 'debug' }, { write: (s: string) => { logged.push(s); } }) });
  try {
    const url = `ws://127.0.0.1:${a.port}/stream`;
    const proto = (t: string) => `${TOKEN_PROTOCOL_PREFIX}${Buffer.from(t).toString('base64url')}`;
    const ok = await wsUpgrade(url, { protocols: [STREAM_PROTOCOL, proto(READ_TOKEN)] });
    assert.equal(ok.status, 101);
    assert.equal(ok.protocol, STREAM_PROTOCOL, 'the token is never echoed back');
    ok.ws?.close();
    const wrong = await wsUpgrade(url, { protocols: [STREAM_PROTOCOL, proto(`${READ_TOKEN}x`)] });
    assert.equal(wrong.status, 401);
    assert.equal((await wsUpgrade(url)).status, 401);
    const q = await wsUpgrade(`${url}?token=${READ_TOKEN}`);
    assert.equal(q.status, 101, '?token= still works on /stream for tools');
    q.ws?.close();
    await wsUpgrade(`${url}?token=${ADMIN_TOKEN}zz`);
    // ?token= is only taken on /stream
    assert.equal((await httpRequest(a.port, { path: `/stats?token=${READ_TOKEN}` })).status, 401);
    await httpRequest(a.port, { path: `/nowhere?token=${ADMIN_TOKEN}`, headers: bearer(ADMIN_TOKEN) });
    await httpRequest(a.port, { method: 'POST', path: '/penctl', headers: { ...bearer(ADMIN_TOKEN), 'content-type': 'text/plain' }, body: 'blacklist 3' });
    assert.ok(logged.length > 0);
    for (const line of logged) {
      const leaked = line.includes(READ_TOKEN) || line.includes(ADMIN_TOKEN.slice(0, 20))
        || line.includes(proto(READ_TOKEN).slice(10));
      assert.equal(leaked, false, line);
    }
  } finally {
    await a.close();
    p.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a request without a Host line at all (HTTP/1.0) is refused', async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('no answer')));
    s.write('POST /penctl HTTP/1.0\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nblacklist 5');
  });
  assert.match(reply, /^HTTP\/1\.[01] 403/);
  assert.equal((await penctl('blacklist')).body, '30\n');
  assert.equal(logs.some((l) => l.includes('admin change') && l.includes('blacklist 5')), false);
});

test('--admin-host, --admin-cors and --admin-file-root are parsed, and bad values stop start-up with a clear error', async () => {
  const { parseCommandLine } = await import('../../server/cli/args.ts');
  const a = parseCommandLine(['--admin', '9000', '--admin-host', 'pen.example', '--admin-host', 'tunnel:8443', '--admin-cors', 'http://localhost:5173', '--admin-file-root', '/etc/pen', '127.0.0.1:80', '127.0.0.1:81']);
  assert.deepEqual([a.adminHosts, a.adminCors, a.adminFileRoot], [['pen.example', 'tunnel:8443'], ['http://localhost:5173'], '/etc/pen']);
  const p = new Balancer();
  try {
    for (const [opts, message] of [
      [{ hosts: ['evil example'] }, /--admin-host: 'evil example' is not a host name/],
      [{ cors: ['localhost:5173'] }, /--admin-cors: expected an origin/],
      [{ cors: ['http://localhost:5173/path'] }, /--admin-cors: expected an origin/],
    ] as const) {
      await assert.rejects(startAdmin(p, runtime, { address: '127.0.0.1:0', ...opts }), message);
    }
  } finally {
    p.shutdown();
  }
});
