// Files named by the operator (write, log, geoip, include, web_stats, -F, -l) with a real pen
// process: a FIFO or a device never stalls forwarding and gets a clear error, /dev/zero is not read
// into memory, an included file's lines are never echoed back, and include cycles stop at once.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync, constants, createReadStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync,
  writeFileSync, writeSync,
} from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, get, httpBackend, sleep, type HttpBackend } from '../helpers/backends.ts';
import { startPen, type PenProcess } from '../helpers/pen.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-files-'));
const fifo = join(dir, 'fifo');
let a: HttpBackend;
before(async () => {
  const r = spawnSync('mkfifo', [fifo]);
  assert.equal(r.status, 0, `mkfifo: ${r.stderr}`);
  a = await httpBackend('A');
});
after(async () => {
  await a.close();
  rmSync(dir, { recursive: true, force: true });
});

/** a probe through pen must be answered within this (generous: the machine is shared) */
const PROBE_MS = 3000;
/** a command must be answered within this */
const REPLY_MS = 5000;

/** One line to the control port; the reply, or null when none came within REPLY_MS. */
function ask(cport: number, line: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: cport });
    let out = '';
    const t = setTimeout(() => { s.destroy(); resolve(null); }, REPLY_MS);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${line}\n`));
    s.on('data', (d: string) => { out += d; });
    s.on('error', () => { clearTimeout(t); resolve(null); });
    s.on('close', () => { clearTimeout(t); resolve(out); });
  });
}

interface Running { pen: PenProcess; port: number; cport: number; admin: number }

async function withPen(extra: string[], body: (r: Running) => Promise<void>): Promise<void> {
  // three ports picked free can be taken by a parallel test file before pen binds them: new ones, up to 3 times
  for (let attempt = 1; ; attempt++) {
    const [port, cport, admin] = [await freePort(), await freePort(), await freePort()];
    let pen: PenProcess;
    try {
      pen = await startPen(['-u', 'root', '-C', `127.0.0.1:${cport}`, '--admin', `127.0.0.1:${admin}`, ...extra,
        `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: admin });
    } catch (err) {
      if (attempt < 3 && /EADDRINUSE/.test((err as Error).message)) continue;
      throw err;
    }
    return runWith(pen, { port, cport, admin }, body);
  }
}

async function runWith(pen: PenProcess, ports: Omit<Running, 'pen'>, body: (r: Running) => Promise<void>): Promise<void> {
  const { port, cport, admin } = ports;
  try {
    await body({ pen, port, cport, admin });
  } finally {
    await pen.stop();
  }
}

/** Three GETs through pen, each answered by the backend within PROBE_MS. */
async function assertForwards(port: number, what: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const body = await get(port, { timeoutMs: PROBE_MS });
    assert.equal(body, 'A', `${what}: probe ${i + 1} was not forwarded within ${PROBE_MS} ms (${Date.now() - t0} ms)`);
  }
}

/** Send `line` and, while it runs, check that forwarding goes on; returns the reply. */
async function askWhileForwarding(r: Running, line: string): Promise<string | null> {
  const reply = ask(r.cport, line);
  await sleep(100); // let the command reach pen before probing
  await assertForwards(r.port, line);
  return reply;
}

const isFifo = () => statSync(fifo).isFIFO();

test('log FIFO without a reader is refused at once and forwarding goes on', async () => {
  await withPen([], async (r) => {
    await assertForwards(r.port, 'before');
    const reply = await askWhileForwarding(r, `log ${fifo}`);
    assert.ok(reply !== null, 'log FIFO was answered');
    assert.match(reply, new RegExp(`log: .*${fifo}`), 'the error names the file');
    assert.equal(await ask(r.cport, 'log'), '', 'the log setting is unchanged');
  });
});

test('log FIFO with a reader is allowed: the reader gets the request lines', async () => {
  await withPen([], async (r) => {
    let got = '';
    // the test opens the reading end first, as a log reader would
    const stream = createReadStream(fifo, { encoding: 'utf8' });
    stream.on('data', (d) => { got += d; });
    try {
      // the open above completes once pen opens the writing end; retry until pen sees a reader
      let reply: string | null = null;
      for (let i = 0; i < 40 && reply !== `${fifo}\n`; i++) {
        reply = await ask(r.cport, `log ${fifo}`);
        if (reply !== `${fifo}\n`) await sleep(50);
      }
      assert.equal(reply, `${fifo}\n`);
      await assertForwards(r.port, 'logging to a FIFO');
      for (let i = 0; i < 40 && !got.includes('GET / HTTP/1.1'); i++) await sleep(50);
      assert.match(got, /^127\.0\.0\.1 \d+ 127\.0\.0\.1 GET \/ HTTP\/1\.1\n/);
      // a reader that stops reading must not stall pen: pause it, fill the pipe, keep forwarding
      stream.pause();
      const filler = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      try {
        // the paused stream still takes up to its highWaterMark, so fill until nothing more goes in
        let wrote = 1;
        for (let round = 0; round < 20 && wrote > 0; round++) {
          await sleep(200);
          wrote = 0;
          try {
            for (let i = 0; i < 1000; i++) wrote += writeSync(filler, Buffer.alloc(4096, 0x2e));
          } catch (e) {
            assert.equal((e as NodeJS.ErrnoException).code, 'EAGAIN');
          }
        }
        assert.equal(wrote, 0, 'the pipe is full');
      } finally {
        closeSync(filler);
      }
      await assertForwards(r.port, 'a stalled log reader');
    } finally {
      await ask(r.cport, 'no log');
      stream.destroy();
    }
  });
});

test('geoip FIFO and include FIFO are refused with an error naming the file; forwarding goes on', async () => {
  await withPen([], async (r) => {
    for (const cmd of ['geoip', 'include']) {
      const reply = await askWhileForwarding(r, `${cmd} ${fifo}`);
      assert.ok(reply !== null, `${cmd} FIFO was answered`);
      assert.match(reply, new RegExp(`${fifo}.*not a regular file`), `${cmd}: the reply says why`);
    }
    assert.equal(await ask(r.cport, 'geoip'), '', 'no database was set');
    assert.ok(isFifo());
  });
});

test('write FIFO does not block: it is refused (debug names the file) and the FIFO is left alone', async () => {
  await withPen([], async (r) => {
    const reply = await askWhileForwarding(r, `write ${fifo}`);
    assert.equal(reply, '', 'write answers nothing, as pen does');
    assert.match(r.pen.stderr(), new RegExp(`write: ${fifo}: not a regular file`));
    assert.ok(isFifo());
  });
});

test('web_stats FIFO, then status and SIGUSR1: no stall; status renders the page, SIGUSR1 refuses the FIFO', async () => {
  await withPen([], async (r) => {
    assert.equal(await ask(r.cport, `web_stats ${fifo}`), `${fifo}\n`);
    // status is a read: it renders the page without touching the -w file (only SIGUSR1 writes it)
    const reply = await askWhileForwarding(r, 'status');
    assert.match(reply ?? '', /^<html>\n<head>\n<title>Pen status page<\/title>/);
    r.pen.child.kill('SIGUSR1');
    await sleep(200);
    await assertForwards(r.port, 'SIGUSR1 with -w FIFO');
    for (let i = 0; i < 40 && !r.pen.stderr().includes(`${fifo}: not a regular file`); i++) await sleep(50);
    assert.match(r.pen.stderr(), new RegExp(`${fifo}: not a regular file`));
    assert.ok(isFifo());
  });
});

test('-F FIFO at start-up is refused and pen starts; -l FIFO exits at once naming the file', async () => {
  await withPen(['-F', fifo], async (r) => {
    await assertForwards(r.port, '-F FIFO');
    assert.match(r.pen.stderr(), new RegExp(`${fifo}: not a regular file`));
  });
  const port = await freePort();
  const t0 = Date.now();
  const pen = await startPen(['-l', fifo, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`]);
  const code = await Promise.race([new Promise((res) => pen.child.once('exit', res)), sleep(REPLY_MS).then(() => 'hung')]);
  await pen.stop();
  assert.equal(code, 1, `-l FIFO exits 1 (took ${Date.now() - t0} ms)`);
  assert.match(pen.stderr(), new RegExp(`Can't open logfile ${fifo}`));
});

test('-p FIFO (the pid file) exits at once naming the file, and leaves the FIFO alone', async () => {
  const port = await freePort();
  const pen = await startPen(['-p', fifo, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`]);
  const code = await Promise.race([new Promise((res) => pen.child.once('exit', res)), sleep(REPLY_MS).then(() => 'hung')]);
  await pen.stop();
  assert.equal(code, 1);
  assert.match(pen.stderr(), new RegExp(`Can't create pidfile ${fifo}: not a regular file \\(a FIFO\\)`));
  assert.ok(isFifo());
});

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

test('geoip /dev/zero is refused without reading it: RSS stays where it was', async () => {
  await withPen([], async (r) => {
    const pid = r.pen.child.pid!;
    await assertForwards(r.port, 'before');
    const before = rssKb(pid);
    let peak = before;
    // a watchdog: stop pen before it can eat the machine (the old code reads /dev/zero for ever)
    const watch = setInterval(() => {
      try {
        peak = Math.max(peak, rssKb(pid));
        if (peak - before > 512 * 1024) r.pen.child.kill('SIGKILL');
      } catch { /* gone */ }
    }, 50);
    try {
      const reply = await ask(r.cport, 'geoip /dev/zero');
      peak = Math.max(peak, rssKb(pid));
      console.log(`geoip /dev/zero: RSS ${before} kB before, peak ${peak} kB, reply ${JSON.stringify(reply)}`);
      assert.ok(reply !== null, 'geoip /dev/zero was answered');
      assert.match(reply, /\/dev\/zero.*not a regular file/);
      assert.ok(peak - before < 32 * 1024, `RSS grew by ${peak - before} kB`);
    } finally {
      clearInterval(watch);
    }
  });
});

/** POST /commands/include through the admin API; the JSON body. */
async function restInclude(admin: number, file: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`http://127.0.0.1:${admin}/commands/include`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args: [file] }),
    signal: AbortSignal.timeout(REPLY_MS),
  });
  return { status: res.status, text: await res.text(), ms: Date.now() - t0 };
}

test('include never echoes a line of the file: replies name the file and line number', async () => {
  const secrets = ['root:$6$S3cretHashValue:19000:0:99999:7:::', 'password=hunter2-S3cret', 'AKIAS3CRETKEY wJalrS3cret',
    'source S3cretHost.invalid', 'listen S3cretListen'];
  const file = join(dir, 'secrets.txt');
  writeFileSync(file, `tracking 44\n${secrets.join('\n')}\n`);
  // REST may name files only inside the configuration directory (--admin-file-root)
  await withPen(['--admin-file-root', dir], async (r) => {
    const res = await restInclude(r.admin, file);
    assert.equal(res.status, 200, res.text);
    for (const s of ['S3cret', 'hunter2', 'AKIA']) {
      assert.ok(!res.text.includes(s), `the reply holds "${s}": ${res.text}`);
      assert.ok(!r.pen.stdout().includes(s) && !r.pen.stderr().includes(s), `pen's output holds "${s}"`);
    }
    const { reply } = JSON.parse(res.text) as { reply: string };
    assert.match(reply, /^44\n/, 'the commands in it ran');
    for (const n of [2, 3, 4, 5, 6]) assert.ok(reply.includes(`${file}:${n}:`), `line ${n} is named: ${reply}`);
    assert.equal(await ask(r.cport, 'tracking'), '44\n');
    assert.equal(await ask(r.cport, 'listen'), `127.0.0.1:${r.port}\n`, 'listen was not changed');
    await assertForwards(r.port, 'after include');
  });
});

test('include of itself or of a two-file cycle is refused at once, and the rest of the file runs', async () => {
  const self = join(dir, 'self.cfg');
  writeFileSync(self, `tracking 21\ninclude ${self}\ninclude ${self}\ninclude ${self}\n`);
  const [one, two] = [join(dir, 'one.cfg'), join(dir, 'two.cfg')];
  writeFileSync(one, `include ${two}\ninclude ${two}\ninclude ${two}\ntracking 22\n`);
  writeFileSync(two, `include ${one}\ninclude ${one}\ninclude ${one}\n`);
  await withPen(['--admin-file-root', dir], async (r) => {
    for (const [file, value] of [[self, '21'], [one, '22']] as const) {
      const res = await restInclude(r.admin, file).catch((e: Error) => ({ status: 0, text: e.message, ms: REPLY_MS }));
      console.log(`include ${file}: ${res.ms} ms`);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.ms < 2000, `took ${res.ms} ms`);
      const { reply } = JSON.parse(res.text) as { reply: string };
      assert.match(reply, /includes itself/);
      assert.equal(await ask(r.cport, 'tracking'), `${value}\n`);
    }
    await assertForwards(r.port, 'after the cycles');
  });
});

/** A request over TLS with `servername`; the response text, or '' when none came within PROBE_MS. */
function tlsGet(port: number, servername: string): Promise<{ text: string; subject: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
    let text = '';
    let subject = '';
    const t = setTimeout(() => { s.destroy(); resolve({ text, subject }); }, PROBE_MS);
    s.on('secureConnect', () => {
      subject = String(s.getPeerCertificate().subject?.CN ?? '');
      s.end('GET / HTTP/1.0\r\n\r\n');
    });
    s.setEncoding('utf8');
    s.on('data', (d: string) => { text += d; });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(t); resolve({ text, subject }); });
  });
}

const key = join(dir, 'key.pem');
const cert = join(dir, 'cert.pem');
before(() => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
});

test('TLS: -E FIFO stops pen at start-up at once, naming the file', async () => {
  const port = await freePort();
  const bad = await startPen(['-E', fifo, '-K', key, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`]);
  const code = await Promise.race([new Promise((res) => bad.child.once('exit', res)), sleep(REPLY_MS).then(() => 'hung')]);
  await bad.stop();
  assert.equal(code, 1, '-E FIFO exits 1');
  assert.match(bad.stderr(), new RegExp(`can't read certificate file '${fifo}': not a regular file \\(a FIFO\\)`));
});

test('TLS: SNI files that are FIFOs never stall a handshake; that name gets the default certificate', async () => {
  const port = await freePort();
  const sni = join(dir, 'sni');
  mkdirSync(sni);
  for (const ext of ['crt', 'key']) assert.equal(spawnSync('mkfifo', [join(sni, `evil.test.${ext}`)]).status, 0);
  const pen = await startPen(['-E', cert, '-K', key, '-O', `ssl_sni_path ${sni}`, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`],
    { waitPort: port });
  try {
    for (let i = 0; i < 3; i++) {
      const evil = await tlsGet(port, 'evil.test');
      assert.equal(evil.subject, 'localhost', 'a name whose files are FIFOs gets the default certificate');
      assert.match(evil.text, /\r\n\r\nA$/);
      assert.match((await tlsGet(port, 'localhost')).text, /\r\n\r\nA$/);
    }
  } finally {
    await pen.stop();
  }
});

test('TLS: a file that is not an OCSP response is never stapled to clients (ssl_ocsp_response /etc/shadow)', async () => {
  const secret = join(dir, 'not-ocsp.txt');
  writeFileSync(secret, 'root:$6$S3cretHashValue:19000:0:99999:7:::\n');
  const port = await freePort();
  const pen = await startPen(['-E', cert, '-K', key, '-O', `ssl_ocsp_response ${secret}`, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`],
    { waitPort: port });
  try {
    const staples: Buffer[] = []; // Node reports "no staple" as an OCSPResponse event with null
    // requestOCSP is a TLSSocket option that @types/node leaves out of ConnectionOptions
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, requestOCSP: true } as tls.ConnectionOptions);
    s.on('OCSPResponse', (r: Buffer | null) => { if (r) staples.push(r); });
    s.on('error', () => {});
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => { text += d; });
    s.on('secureConnect', () => s.end('GET / HTTP/1.0\r\n\r\n'));
    await Promise.race([new Promise((res) => s.on('close', res)), sleep(PROBE_MS)]);
    s.destroy();
    assert.match(text, /\r\n\r\nA$/, 'the connection itself works');
    assert.ok(staples.every((r) => !r.toString('latin1').includes('S3cret')), `stapled: ${staples.map((r) => r.toString('latin1')).join()}`);
    for (let i = 0; i < 40 && !pen.stderr().includes('not a DER OCSP response'); i++) await sleep(50);
    assert.match(pen.stderr(), new RegExp(`${secret}: not a DER OCSP response`));
  } finally {
    await pen.stop();
  }
});
