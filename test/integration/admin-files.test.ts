// What REST may do to the file system: nothing at all on a read (every GET route in the OpenAPI
// document, every read-scope command, with a read token), and files named by a change only inside
// the configuration directory, while the penctl port keeps pen's behaviour.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { COMMANDS } from '../../shared/commands.ts';
import { commandSlug } from '../../shared/api.ts';
import { formatConfig } from '../../server/control/config.ts';
import { openControlPort } from '../../server/control/port.ts';
import { writeWebStats } from '../../server/stats/html.ts';
import { freePort } from '../helpers/backends.ts';
import { ADMIN_TOKEN, READ_TOKEN, adminFixture, bearer, penctlPort, type Fixture } from './admin-fixture.ts';
import { subscribe } from '../../server/core/events.ts';

const scratch = mkdtempSync(join(tmpdir(), 'pen-admin-files-'));
const root = join(scratch, 'etc-pen');
const outside = join(scratch, 'elsewhere');
mkdirSync(root);
mkdirSync(outside);
const cfg = join(root, 'pen.cfg');
writeFileSync(cfg, 'blacklist 30\n');
symlinkSync(outside, join(root, 'link'));
symlinkSync(join(outside, 'made-by-link.cfg'), join(root, 'dangling'));

let f: Fixture;
const events: string[] = [];
before(async () => {
  f = await adminFixture({ tokens: true });
  f.pen.settings.configFile = cfg;
  await f.cmd(`web_stats ${join(root, 'status.html')}`);
  writeWebStats(f.pen);
  subscribe(f.pen, (e: { type: string }) => events.push(e.type));
});
after(async () => {
  await f.close();
  rmSync(scratch, { recursive: true, force: true });
  rmSync('/tmp/pen-escape.cfg', { force: true });
});

/** Everything a command could change, without the time stamp. */
function fingerprint(): string {
  const p = f.pen;
  return JSON.stringify({
    config: formatConfig(p, 'F').split('\n').slice(1),
    status: p.servers.list.map((s) => s.status), acls: p.acls, settings: p.settings, conns: p.connsUsed,
    log: p.requestLog !== null, events: events.length, exits: f.runtime.exits, out: f.runtime.out.length,
  });
}

/** Every file under the scratch directory with its size, mtime and content hash. */
function files(dir = scratch): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) out[p] = 'link';
    else if (e.isDirectory()) Object.assign(out, files(p));
    else {
      const st = statSync(p);
      out[p] = `${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  }
  return out;
}

/** an argument for each command that takes one (read commands only need a few) */
const READ_SAMPLES: Record<string, string[][]> = { connection: [['0'], ['x']], recent: [['60']], socket: [['3']] };

test('no route reachable with GET or a read token changes state or touches a file', async () => {
  const h = bearer(READ_TOKEN);
  const before = { state: fingerprint(), files: files() };
  const doc = JSON.parse((await f.app.inject({ method: 'GET', url: '/openapi.json' })).body) as { paths: Record<string, Record<string, unknown>> };
  let requests = 0;
  const check = (what: string, status: number) => {
    requests += 1;
    // /healthz answers 503 by design while this fixture's pen is not listening
    assert.ok(status < 500 || (status === 503 && what.includes('/healthz')), `${what}: ${status}`);
    assert.equal(fingerprint(), before.state, `${what} changed state`);
    assert.deepEqual(files(), before.files, `${what} touched a file`);
  };
  for (const [path, ops] of Object.entries(doc.paths)) {
    // the two streams never end (admin-stream and ha-peer test them)
    if (!ops.get || path === '/stream' || path === '/peer') continue;
    for (const n of ['0', '1', '99']) {
      const url = path.replace(/\{[^}]+\}/g, n);
      check(`GET ${url}`, (await f.app.inject({ method: 'GET', url, headers: h })).statusCode);
      check(`HEAD ${url}`, (await f.app.inject({ method: 'HEAD', url, headers: h })).statusCode);
    }
  }
  for (const spec of COMMANDS.filter((c) => c.scope === 'read')) {
    const path = `/commands/${commandSlug(spec.name)}`;
    for (const args of [[], ...(READ_SAMPLES[spec.name] ?? [])]) {
      const line = [spec.name, ...args].join(' ');
      const qs = args.map((a) => `args=${encodeURIComponent(a)}`).join('&');
      const get = await f.app.inject({ method: 'GET', url: `${path}${qs ? `?${qs}` : ''}`, headers: h });
      check(`GET ${path}?${qs}`, get.statusCode);
      check(`POST ${path} ${line}`, (await f.app.inject({ method: 'POST', url: path, payload: { args }, headers: h })).statusCode);
      const raw = await f.app.inject({ method: 'POST', url: '/penctl', payload: line, headers: { ...h, 'content-type': 'text/plain' } });
      check(`POST /penctl ${line}`, raw.statusCode);
      if (spec.name === 'status') assert.match(get.body, /Pen status page/, 'status still renders the page');
    }
  }
  // and with a read token, every change is refused and leaves nothing behind
  for (const spec of COMMANDS.filter((c) => c.scope === 'admin')) {
    const r = await f.app.inject({ method: 'POST', url: '/penctl', payload: `${spec.name} ${join(outside, 'x')}`, headers: { ...h, 'content-type': 'text/plain' } });
    assert.equal(r.statusCode, 403, spec.name);
    check(`read token: ${spec.name}`, r.statusCode);
  }
  assert.ok(requests > 100, `${requests} requests`);
});

const admin = { ...bearer(ADMIN_TOKEN) };
const penctl = (line: string) => f.app.inject({ method: 'POST', url: '/penctl', payload: line, headers: { ...admin, 'content-type': 'text/plain' } });

test('through REST, a file outside the configuration directory is a 403 that says why, and nothing happens', async () => {
  const before = { state: fingerprint(), files: files() };
  const escapes = [
    join(outside, 'x.cfg'), join(root, '..', 'elsewhere', 'x.cfg'), join(root, 'link', 'x.cfg'), join(root, 'dangling'),
    '../../../../../../tmp/pen-escape.cfg', `${root}-sibling/x.cfg`, outside,
  ];
  const lines = (file: string) => [
    `write ${file}`, `log ${file}`, `include ${file}`, `web_stats ${file}`, `geoip ${file}`, `ssl_ocsp_response ${file}`,
    `ssl_sni_path ${file}`, `listen ${file}/sock`,
  ];
  for (const file of escapes) {
    for (const line of lines(file)) {
      const r = await penctl(line);
      assert.equal(r.statusCode, 403, line);
      assert.match(JSON.parse(r.body).message, /outside the configuration directory/, line);
    }
    const cases = [
      ['POST', '/write', { file }], ['POST', '/commands/write', { args: [file] }], ['POST', '/commands/include', { args: [file] }],
      ['PATCH', '/settings', { web_stats: file }], ['PATCH', '/settings', { log: file }], ['POST', '/commands/log', { args: [file] }],
    ] as const;
    for (const [method, url, payload] of cases) {
      const r = await f.app.inject({ method, url, payload, headers: admin });
      assert.equal(r.statusCode, 403, `${method} ${url} ${file}`);
    }
  }
  assert.equal(existsSync(join(outside, 'made-by-link.cfg')), false);
  assert.equal(existsSync('/tmp/pen-escape.cfg'), false);
  assert.equal(fingerprint(), before.state);
  assert.deepEqual(files(), before.files);
  // (only read, never named to a writing command: a regression must not damage the machine)
  const shadow = await penctl('include /etc/passwd');
  assert.equal(shadow.statusCode, 403);
  assert.doesNotMatch(shadow.body, /root/, 'nothing of the file is quoted back');
});

test('through REST, files inside the configuration directory work; the penctl port keeps pen\'s behaviour', async () => {
  const saved = join(root, 'saved.cfg');
  assert.equal((await f.app.inject({ method: 'POST', url: '/write', payload: { file: saved }, headers: admin })).statusCode, 200);
  assert.match(readFileSync(saved, 'utf8'), /^blacklist 30$/m);
  assert.equal((await penctl(`write ${join(root, 'sub', '..', 'again.cfg')}`)).statusCode, 200);
  assert.ok(existsSync(join(root, 'again.cfg')));
  assert.equal((await penctl('write')).statusCode, 200, 'the -F file itself');
  assert.equal((await f.app.inject({ method: 'PATCH', url: '/settings', payload: { log: join(root, 'req.log') }, headers: admin })).statusCode, 200);
  assert.equal(f.pen.settings.logFile, join(root, 'req.log'));
  assert.equal((await penctl('log 127.0.0.1:9')).statusCode, 200, 'a UDP log target is not a file');
  await f.cmd('no log');
  // the control port: pen's behaviour, wherever the file is
  const address = `127.0.0.1:${await freePort()}`;
  const control = await openControlPort({ pen: f.pen, runtime: f.runtime, origin: 'port' }, address);
  try {
    await penctlPort(Number(address.split(':')[1]), `write ${join(outside, 'port.cfg')}`);
    assert.ok(existsSync(join(outside, 'port.cfg')));
  } finally {
    control.close();
    rmSync(join(outside, 'port.cfg'), { force: true });
  }
});

test('--admin-file-root names the directory; without it or -F, REST may name no file', async () => {
  const g = await adminFixture({ fileRoot: outside });
  const h = await adminFixture();
  try {
    const w = (fx: Fixture, file: string) => fx.app.inject({ method: 'POST', url: '/write', payload: { file } });
    assert.equal((await w(g, join(outside, 'ok.cfg'))).statusCode, 200);
    assert.equal((await w(g, join(root, 'no.cfg'))).statusCode, 403);
    const none = await w(h, join(outside, 'no.cfg'));
    assert.equal(none.statusCode, 403);
    assert.match(JSON.parse(none.body).message, /-F or --admin-file-root/);
    assert.equal(existsSync(join(outside, 'no.cfg')), false);
  } finally {
    await g.close();
    await h.close();
    rmSync(join(outside, 'ok.cfg'), { force: true });
  }
});
