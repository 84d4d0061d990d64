// The pen process: arguments, daemon mode, pid file, signals, logging, X-Forwarded-For, half-close.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, get, httpBackend, sleep, tcpBackend, type HttpBackend } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';
import { alive, runPen, startPen } from '../helpers/pen.ts';

let a: HttpBackend;
let dir: string;
before(async () => {
  a = await httpBackend('A');
  dir = mkdtempSync(join(tmpdir(), 'pen-process-'));
});
after(async () => {
  await a.close();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

describe('command line', () => {
  test('--help prints the usage and exits 0', () => {
    const r = runPen(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage:\n  pen \[-C addr:port\]/);
    assert.match(r.stdout, /-x N      max number of simultaneous connections \[500\]/);
  });

  test('no arguments prints the usage', () => {
    const r = runPen([]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^usage:/);
  });

  test('bad arguments exit non-zero with one line naming the argument, and nothing starts', async () => {
    const port = await freePort();
    const cases: [string[], RegExp][] = [
      [['-v', `${port}`, 'localhost:80'], /unknown option '-v'/],
      [['-x', 'many', `${port}`, 'localhost:80'], /-x: 'many' is not a number/],
      [['-t', '0', `${port}`, 'localhost:80'], /-t: connect timeout must be at least 1/],
      [['-x', '0', `${port}`, 'localhost:80'], /-x: '0' must be at least 1/],
      [['-c', '0', `${port}`, 'localhost:80'], /-c: '0' must be at least 1/],
      [[`127.0.0.1:99999`, 'localhost:80'], /invalid listen address '127.0.0.1:99999'/],
      [[`${port}`, '::1:80'], /invalid server '::1:80'/],
      [[`${port}`, 'localhost:80:lots'], /invalid server 'localhost:80:lots': bad max 'lots'/],
      [[`${port}`, 'no-such-host.invalid:80'], /unknown or invalid address \[no-such-host.invalid\]/],
      [['-L', 'tls9', `${port}`, 'localhost:80'], /protocol version tls9 not known/],
      [['-u', 'no-such-user', `${port}`, 'localhost:80'], /Can't getpwnam\(no-such-user\)/],
      [['-C'], /option '-C' requires an argument|-C/],
    ];
    for (const [args, message] of cases) {
      const r = runPen(['-f', ...args]);
      assert.notEqual(r.code, 0, `${args.join(' ')} must fail`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    }
    assert.equal(await get(port, { timeoutMs: 500 }), '', 'nothing listens');
  });

  test('grouped flags, attached values and options after the listen address are accepted', async () => {
    const port = await freePort();
    const pen = await startPen([`-rx5`, '-dd', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, '-b', '7', '-O', 'blacklist'], { waitPort: port });
    try {
      assert.equal(await get(port), 'A');
      assert.equal(pen.stdout(), '7\n', '-O runs at its place, after -b 7');
    } finally {
      await pen.stop();
    }
  });

  test('obsolete flags print pen\'s notice and carry on', async () => {
    const port = await freePort();
    const pen = await startPen(['-D', '-n', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
    try {
      assert.match(pen.stderr(), /making the -D option obsolete/);
      assert.match(pen.stderr(), /making the -n option obsolete/);
      assert.equal(await get(port), 'A');
    } finally {
      await pen.stop();
    }
  });
});

describe('daemon mode', () => {
  test('without -f the parent exits 0 once listening; the pid file has the daemon pid; TERM removes it', async () => {
    const port = await freePort();
    const pidFile = join(dir, 'pen.pid');
    const r = runPen(['-p', pidFile, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(pidFile, 'utf8');
    assert.match(text, /^\d+$/, 'pid without a trailing newline');
    const pid = Number(text);
    try {
      assert.ok(alive(pid));
      assert.equal(await get(port), 'A', 'the daemon is listening when the parent returns');
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    assert.ok(await waitFor(() => !alive(pid)), 'the daemon exits on TERM');
    assert.equal(existsSync(pidFile), false, 'and removes its pid file');
  });

  test('a daemon that cannot bind makes the parent print the error and exit non-zero', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = runPen([`127.0.0.1:${port}`, `127.0.0.1:${a.port}`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /can't bind local address/);
    } finally {
      busy.close();
    }
  });
});

describe('signals and logging', () => {
  test('SIGTERM closes the listener and open connections and exits 0', async () => {
    const x = await tcpBackend('X');
    const port = await freePort();
    const pen = await startPen([`127.0.0.1:${port}`, `127.0.0.1:${x.port}`], { waitPort: port });
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    const closed = new Promise((r) => client.on('close', r));
    await new Promise((r) => client.once('data', r));
    assert.equal(await pen.stop('SIGTERM'), 0);
    await closed;
    assert.equal(await get(port, { timeoutMs: 500 }), '');
    await x.close();
  });

  test('SIGUSR1 prints pen\'s statistics to stderr in the foreground', async () => {
    const port = await freePort();
    const pen = await startPen([`127.0.0.1:${port}`, `127.0.0.1:${a.port}:5:6`], { waitPort: port });
    try {
      await get(port);
      pen.child.kill('SIGUSR1');
      assert.ok(await waitFor(() => /Active connections:/.test(pen.stderr())), pen.stderr());
      const err = pen.stderr();
      assert.match(err, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: Time .*, 1 servers, 0 current/);
      assert.match(err, /Server 0 status:\naddress 127\.0\.0\.1\n0\nport \d+\n\d+ connections \(5 soft, 6 hard\)\n\d+ sent, \d+ received/);
      assert.match(err, /Client \d+ status:\naddress 127\.0\.0\.1\n/);
    } finally {
      await pen.stop();
    }
  });

  test('-l logs one line per client read in pen\'s format, and HUP reopens it', async () => {
    const port = await freePort();
    const log = join(dir, 'req.log');
    const pen = await startPen(['-l', log, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
    try {
      await get(port, { path: '/x1' });
      assert.ok(await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('/x1')));
      assert.match(readFileSync(log, 'utf8'), /^127\.0\.0\.1 \d{10} 127\.0\.0\.1 GET \/x1 HTTP\/1\.1\n/m);
      rmSync(log);
      pen.child.kill('SIGHUP');
      await sleep(200);
      await get(port, { path: '/x2' });
      assert.ok(await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('/x2')), 'a new file after HUP');
    } finally {
      await pen.stop();
    }
  });

  test('-H adds X-Forwarded-For and X-Forwarded-Proto to each request', async () => {
    const port = await freePort();
    const pen = await startPen(['-H', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
    try {
      a.requests.length = 0;
      await get(port, { localAddress: '127.0.0.5' });
      assert.match(nth(a.requests, 0), /x-forwarded-for: 127\.0\.0\.5/);
      assert.match(nth(a.requests, 0), /x-forwarded-proto: http/);
    } finally {
      await pen.stop();
    }
  });
});

describe('forwarding', () => {
  test('a half-closed client still gets the whole reply, and bytes are counted both ways', async () => {
    const x = await tcpBackend('X');
    const port = await freePort();
    const pen = await startPen([`127.0.0.1:${port}`, `127.0.0.1:${x.port}`], { waitPort: port });
    try {
      const big = Buffer.alloc(1 << 20, 7);
      const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      let got = 0;
      client.on('data', (d) => { got += d.length; });
      const ended = new Promise((r) => client.on('end', r));
      client.end(big);
      // the echo backend ends its side after echoing everything (pipe), so pen must pass it all back
      await Promise.race([ended, sleep(5000)]);
      assert.equal(got, 2 + big.length, 'greeting plus the echoed megabyte');
      client.destroy();
    } finally {
      await pen.stop();
      await x.close();
    }
  });

  test('a backend that does not accept in time is blacklisted after -t and the client fails over', async (t) => {
    if (spawnSync('python3', ['--version']).status !== 0) return t.skip('python3 is needed for a backend with a full accept queue');
    // a listener with a full accept queue drops SYNs, so connects to it time out
    const py = spawn('python3', ['-c', `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for i in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    fill.append(c)
print(port, flush=True)
time.sleep(30)
`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const blackhole = Number(await new Promise<string>((r) => py.stdout.once('data', (d) => r(String(d)))));
      const port = await freePort();
      const pen = await startPen(['-r', '-t', '1', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${blackhole}`], { waitPort: port });
      try {
        // round robin's first pick is server 1, the black hole: the first client waits out -t 1
        const started = Date.now();
        assert.equal(await get(port), 'A');
        const waited = Date.now() - started;
        assert.ok(waited >= 900 && waited < 5000, `the first client failed over after the connect timeout (${waited} ms)`);
        assert.equal(await get(port), 'A');
        assert.ok(await waitFor(() => /blacklisting server 1 because of connect timeout/.test(pen.stderr()), 3000), pen.stderr());
        assert.equal(pen.stderr().match(/blacklisting server 1/g)?.length, 1, 'blacklisted once, by the first client');
      } finally {
        await pen.stop();
      }
    } finally {
      py.kill();
    }
  });
});

describe('privileges and files', () => {
  test('-u drops privileges after the listener is bound', async () => {
    const port = await freePort();
    const pen = await startPen(['-u', 'nobody', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
    try {
      // startPen returns once start-up has ended, and the drop comes before that
      const status = readFileSync(`/proc/${pen.child.pid}/status`, 'utf8');
      assert.match(status, /^Uid:\s+65534\s+65534/m);
      assert.equal(await get(port), 'A');
    } finally {
      await pen.stop();
    }
  });

  test('-j is refused with a clear error, since Node.js cannot chroot', () => {
    const r = runPen(['-f', '-j', dir, '8080', 'localhost:80']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /-j .*chroot is not available/);
  });

  test('SIGUSR1 with -w writes pen\'s HTML status page to the file', async () => {
    const port = await freePort();
    const page = join(dir, 'status.html');
    const pen = await startPen(['-w', page, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
    try {
      await get(port);
      pen.child.kill('SIGUSR1');
      assert.ok(await waitFor(() => existsSync(page) && readFileSync(page, 'utf8').includes('</html>')));
      const html = readFileSync(page, 'utf8');
      assert.match(html, /<title>Pen status page<\/title>/);
      assert.match(html, /<td>127\.0\.0\.1<\/td>/);
    } finally {
      await pen.stop();
    }
  });
});
