// The penctl port of a real pen process: what commands do to live connections and traffic, and
// how the port itself behaves (ACLs, silent and partial clients, exit, Unix sockets, descriptors).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, get, hold, sleep, tcpBackend } from '../helpers/backends.ts';
import { penctl, startPen } from '../helpers/pen.ts';
import { CLIENTS, a, ask, b, dir, ourPen, withBackends } from './control-fixture.ts';

withBackends();

test('connection, socket and close act on a live connection', async () => {
  const echo = await tcpBackend('E');
  const p = await ourPen([], [`127.0.0.1:${echo.port}`]);
  try {
    const h = await hold(p.port);
    assert.equal(h.greeting, 'E');
    const slot = 0; // the first connection takes the first slot
    const conn = p.ctl2(`connection ${slot}`);
    const m = new RegExp(`^Connection ${slot}:\nstate = 2\ndownfd = (\\d+), upfd = (\\d+)\nclient = 0, server = 0\npend = 0\n$`).exec(conn);
    assert.ok(m, conn);
    assert.equal(p.ctl2(`socket ${m[2]}`), `Socket ${m[2]} belongs to connection ${slot}\n`);
    const closed = new Promise((resolve) => h.socket.on('close', resolve));
    assert.equal(p.ctl2(`close ${slot}`), `Forcibly closing connection ${slot}\n`);
    await closed;
    assert.match(p.ctl2(`connection ${slot}`), /state = 0\n/);
  } finally {
    await p.pen.stop();
    await echo.close();
  }
});

test('idle_timeout closes a silent connection', async () => {
  const echo = await tcpBackend('E');
  const p = await ourPen([], [`127.0.0.1:${echo.port}`]);
  try {
    assert.equal(p.ctl2('idle_timeout 1'), 'Idle timeout: 1 seconds\n');
    const h = await hold(p.port);
    const t0 = Date.now();
    await new Promise((resolve, reject) => {
      h.socket.on('close', resolve);
      setTimeout(() => reject(new Error('not closed')), 5000);
    });
    assert.ok(Date.now() - t0 >= 900);
  } finally {
    await p.pen.stop();
    await echo.close();
  }
});

test('idle_timeout counts a dummy connection from its accept, not from 1970', async () => {
  const p = await ourPen();
  try {
    assert.equal(p.ctl2('idle_timeout 5'), 'Idle timeout: 5 seconds\n');
    assert.equal(p.ctl2('dummy'), '');
    // connected, silent past a sweep (every 250 ms), then the request: a connection that was
    // idle "since 0" was closed by that sweep (control-compat's GET after dummy, under load)
    const c = net.connect(p.port, '127.0.0.1');
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    const closed = new Promise((resolve) => c.on('close', resolve));
    await new Promise((resolve) => c.on('connect', resolve));
    await sleep(600);
    c.write('GET / HTTP/1.0\r\n\r\n');
    await closed;
    assert.match(Buffer.concat(got).toString(), /\r\n\r\nUlric was here\.$/);
  } finally {
    await p.pen.stop();
  }
});

test('listen moves the listener; log and web_stats write their files', async () => {
  const p = await ourPen();
  try {
    const next = await freePort();
    assert.equal(p.ctl2(`listen 127.0.0.1:${next}`), `127.0.0.1:${next}\n`);
    assert.equal(await get(next), 'B');
    assert.equal(await get(p.port, { timeoutMs: 1000 }), '', 'the old address is closed');
    assert.match(p.ctl2('listen 127.0.0.1:99999'), /^listen: .*\n$/);
    assert.equal(p.ctl2('listen'), `127.0.0.1:${next}\n`, 'a bad address keeps the listener');
    assert.equal(await get(next), 'B');
    const log = join(dir, 'traffic.log');
    assert.equal(p.ctl2(`log ${log}`), `${log}\n`);
    await get(next, { path: '/logged' });
    const { readFileSync } = await import('node:fs');
    // -l lines are batched (written within 20 ms, core/requestlog.ts): wait up to 2 s for this one
    for (let i = 0; i < 40 && readFileSync(log, 'latin1') === ''; i++) await sleep(50);
    assert.match(readFileSync(log, 'latin1'), /^127\.0\.0\.1 \d+ 127\.0\.0\.1 GET \/logged HTTP\/1\.1\n/);
    const html = join(dir, 'live.html');
    p.ctl2(`web_stats ${html}`);
    const page = p.ctl2('status');
    assert.match(page, /<td>127\.0\.0\.1<\/td>/);
    // a read writes nothing (unlike C pen's status); SIGUSR1 writes the file
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(html), false, 'status leaves the -w file alone');
    p.pen.child.kill('SIGUSR1');
    for (let i = 0; i < 100 && !existsSync(html); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(readFileSync(html, 'latin1'), /<td>127\.0\.0\.1<\/td>/);
  } finally {
    await p.pen.stop();
  }
});

test('control_acl refuses other addresses without a reply', async () => {
  const p = await ourPen();
  try {
    p.ctl2('acl 3 permit 127.0.0.2');
    assert.equal(p.ctl2('control_acl 3'), '3\n');
    for (const [, bin] of CLIENTS) assert.equal(ask(p.ctl, 'servers', bin), '', 'closed without reading');
    // from the permitted address it still works
    const [host, port] = [p.ctl.split(':')[0], Number(p.ctl.split(':')[1])];
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect({ host, port, localAddress: '127.0.0.2' }, () => s.write('control_acl 0\n'));
      let out = '';
      s.on('data', (d) => { out += d; });
      s.on('close', () => resolve(out));
    });
    assert.equal(reply, '0\n');
    assert.match(p.ctl2('servers'), /^0 addr/);
  } finally {
    await p.pen.stop();
  }
});

test('a silent control client neither blocks traffic nor other commands', async () => {
  const p = await ourPen();
  try {
    const [host, port] = [p.ctl.split(':')[0], Number(p.ctl.split(':')[1])];
    const silent = net.connect({ host, port });
    silent.on('error', () => {});
    await new Promise((r) => silent.on('connect', r));
    const t0 = Date.now();
    assert.equal(await get(p.port), 'B');
    assert.equal(p.ctl2('blacklist'), '30\n');
    assert.ok(Date.now() - t0 < 2000);
    // and it is dropped after the read timeout
    await new Promise((resolve, reject) => {
      silent.on('close', resolve);
      setTimeout(() => reject(new Error('silent client never dropped')), 8000);
    });
  } finally {
    await p.pen.stop();
  }
});

test('a command without newline, or split over writes, still runs; the reply ends the connection', async () => {
  const p = await ourPen();
  try {
    const [host, port] = [p.ctl.split(':')[0], Number(p.ctl.split(':')[1])];
    const talk = (chunks: string[]) => new Promise<string>((resolve) => {
      const s = net.connect({ host, port }, async () => {
        for (const c of chunks) { s.write(c); await sleep(20); }
      });
      let out = '';
      s.on('data', (d) => { out += d; });
      s.on('close', () => resolve(out));
    });
    assert.equal(await talk(['timeout']), '3\n');
    assert.equal(await talk(['time', 'out 4\n']), '4\n');
    assert.equal(await talk(['timeout\nblacklist 1\n']), '4\n', 'one command per connection');
    assert.equal(p.ctl2('blacklist'), '30\n');
  } finally {
    await p.pen.stop();
  }
});

test('exit works only with -X, stops pen and removes the pid file', async () => {
  const pidFile = join(dir, 'pen.pid');
  const p = await ourPen(['-X', '-p', pidFile]);
  assert.ok(existsSync(pidFile), 'written before start-up ends (startPen waits for that)');
  assert.equal(p.ctl2('exit'), '');
  const code = await Promise.race([new Promise((r) => p.pen.child.on('exit', r)), sleep(5000).then(() => 'still running')]);
  assert.equal(code, 0);
  assert.ok(!existsSync(pidFile));
});

test('the control port can be a Unix socket', async () => {
  const path = join(dir, 'ctl.sock');
  const port = await freePort();
  const pen = await startPen(['-u', 'root', '-C', path, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
  try {
    for (const [, bin] of CLIENTS) {
      assert.equal(ask(path, 'control', bin), `${path}\n`);
      assert.match(ask(path, 'servers', bin), /^0 addr 127\.0\.0\.1 /);
    }
  } finally {
    await pen.stop();
  }
});

test('as root without -u pen runs without a control port, as pen does', { skip: process.getuid?.() !== 0 ? 'not root' : false }, async () => {
  const [port, cport] = [await freePort(), await freePort()];
  const pen = await startPen(['-C', `127.0.0.1:${cport}`, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
  try {
    assert.equal(await get(port), 'A');
    const r = penctl(`127.0.0.1:${cport}`, ['servers']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error connecting to server\n');
    assert.match(pen.stderr(), /Won't open control port running as root; use -u to run as different user/);
  } finally {
    await pen.stop();
  }
});

test('http, hash, stubborn and source change what clients and backends see', async () => {
  const p = await ourPen();
  const echo = await tcpBackend('E');
  try {
    p.ctl2('http');
    const before = a.requests.length + b.requests.length;
    await get(p.port, { path: '/xff' });
    const head = [...a.requests, ...b.requests].find((r) => r.startsWith('GET /xff'));
    assert.ok(head && /x-forwarded-for: 127\.0\.0\.1/.test(head) && /x-forwarded-proto: http/.test(head), head);
    assert.equal(a.requests.length + b.requests.length, before + 1);
    p.ctl2('no http');
    // -h: 127.0.0.x read little-endian is odd, so every such new client hashes to server 1
    p.ctl2('hash');
    assert.deepEqual([await get(p.port, { localAddress: '127.0.0.5' }), await get(p.port, { localAddress: '127.0.0.6' })], ['B', 'B']);
    p.ctl2('no hash');
    // stubborn: a client whose server is blacklisted is closed rather than moved
    p.ctl2('stubborn');
    const mine = await get(p.port, { localAddress: '127.0.0.7' });
    p.ctl2(`server ${mine === 'A' ? 0 : 1} blacklist 30`);
    assert.equal(await get(p.port, { localAddress: '127.0.0.7' }), '');
    p.ctl2('no stubborn');
    assert.notEqual(await get(p.port, { localAddress: '127.0.0.7' }), '');
    // source: backend connections come from the given address
    p.ctl2(`server 2 address 127.0.0.1 port ${echo.port}`);
    p.ctl2('server 0 blacklist 30');
    p.ctl2('server 1 blacklist 30');
    assert.equal(p.ctl2('source 127.0.0.9'), '');
    const h = await hold(p.port, '127.0.0.8');
    assert.equal(h.greeting, 'E');
    assert.deepEqual([...echo.sockets].map((s) => s.remoteAddress), ['127.0.0.9']);
    h.socket.destroy();
  } finally {
    await p.pen.stop();
    await echo.close();
  }
});

test('control connections are fully closed after the reply (no descriptor leak)', { skip: existsSync('/proc/self/fd') ? false : 'needs /proc' }, async () => {
  const p = await ourPen();
  try {
    const { readdirSync } = await import('node:fs');
    const fds = () => readdirSync(`/proc/${p.pen.child.pid}/fd`).length;
    p.ctl2('mode');
    await sleep(200);
    const before = fds();
    for (let i = 0; i < 30; i++) p.ctl2('mode');
    await sleep(500);
    assert.ok(fds() < before + 5, `${before} descriptors before, ${fds()} after 30 commands`);
  } finally {
    await p.pen.stop();
  }
});

test('dummy with no servers at all answers instead of crashing (C pen segfaults)', async () => {
  const p = await ourPen([], []);
  try {
    assert.equal(p.ctl2('servers'), '');
    assert.equal(p.ctl2('dummy'), '');
    assert.equal(await get(p.port), 'Ulric was here.');
    assert.equal(p.ctl2('idlers 2'), 'Idlers: 0/2\n', 'C pen crashes here too');
    assert.equal(await get(p.port), 'Ulric was here.');
  } finally {
    await p.pen.stop();
  }
});
