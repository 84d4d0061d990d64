// TLS termination (-E -K -G -A -R, ssl_* commands) with pen as a real process, curl and
// openssl s_client as clients, and certificates generated at test time.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, afterEach, before, describe, test } from 'node:test';
import { freePort, httpBackend, tcpBackend } from '../helpers/backends.ts';
import { nth } from '../helpers/nth.ts';
import { runPen, startPen } from '../helpers/pen.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-tls-'));
const f = (name: string) => join(dir, name);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in OCSP response: the DER shape pen staples (SEQUENCE { responseStatus ENUMERATED,
 * [0] { OCTET STRING text } }), carrying `text` so a test can tell staples apart.
 */
function ocspDer(text: string): Buffer {
  const body = Buffer.from(text);
  const octets = Buffer.concat([Buffer.from([0x04, body.length]), body]);
  const tagged = Buffer.concat([Buffer.from([0xa0, octets.length]), octets]);
  const inner = Buffer.concat([Buffer.from([0x0a, 0x01, 0x00]), tagged]);
  return Buffer.concat([Buffer.from([0x30, inner.length]), inner]);
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

before(() => {
  // the listener's certificate, as the brief says: RSA 2048, self-signed, CN=localhost
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost', '-keyout', f('key.pem'), '-out', f('cert.pem'));
  writeFileSync(f('both.pem'), Buffer.concat([readFileSync(f('key.pem')), readFileSync(f('cert.pem'))]));
  // a CA with one client certificate, and a client certificate nobody vouches for
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=pen test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  openssl('req', ...ec, '-subj', '/CN=client', '-keyout', f('client.key'), '-out', f('client.csr'));
  openssl('x509', '-req', '-in', f('client.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-days', '1', '-out', f('client.pem'));
  openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=rogue', '-keyout', f('rogue.key'), '-out', f('rogue.pem'));
  // SNI directory: NAME.crt / NAME.key, plus a stapled OCSP "response" for it
  mkdirSync(f('sni'));
  openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=foo.test', '-keyout', f('sni/foo.test.key'), '-out', f('sni/foo.test.crt'));
  writeFileSync(f('sni/foo.test.ocsp'), ocspDer('staple for foo.test'));
  writeFileSync(f('default.ocsp'), ocspDer('staple for the default certificate'));
  mkdirSync(f('cadir'));
  copyFileSync(f('ca.pem'), f('cadir/ca.pem'));
});

function curl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', '5', ...args], (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, out: stdout });
    });
  });
}

function sClient(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { timeout: 5000 }, (_err, stdout, stderr) => resolve(stdout + stderr));
    p.stdin?.end();
  });
}

/** Start pen with TLS in front of one HTTP backend named A; returns pen's port. */
async function tlsPen(args: string[], backend?: { port: number }): Promise<number> {
  const b = backend ?? await httpBackend('A');
  if (!backend) cleanups.push(() => (b as Awaited<ReturnType<typeof httpBackend>>).close());
  const port = await freePort();
  const pen = await startPen([...args, `127.0.0.1:${port}`, `127.0.0.1:${b.port}`], { waitPort: port });
  cleanups.push(() => pen.stop());
  return port;
}

describe('TLS termination', () => {
  test('curl gets the backend\'s plaintext reply, and -H marks the request as https', async () => {
    const backend = await httpBackend('A');
    cleanups.push(() => backend.close());
    const port = await tlsPen(['-H', '-E', f('cert.pem'), '-K', f('key.pem')], backend);
    const r = await curl(['--cacert', f('cert.pem'), '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/x`]);
    assert.equal(r.code, 0, 'the certificate verifies against itself for the name localhost');
    assert.equal(r.out, 'A');
    assert.match(nth(backend.requests, 0), /x-forwarded-proto: https/);
    assert.match(nth(backend.requests, 0), /x-forwarded-for: 127\.0\.0\.1/);
    assert.equal((await curl([`http://127.0.0.1:${port}/`])).out, '', 'plain HTTP is not served');
  });

  test('-E alone reads the key from the certificate file; -L tls1 and -Z are accepted', async () => {
    const port = await tlsPen(['-E', f('both.pem'), '-L', 'tls1', '-Z']);
    assert.equal((await curl(['-k', `https://127.0.0.1:${port}/`])).out, 'A');
    const s = await sClient(port, []);
    assert.match(s, /subject=CN ?= ?localhost/);
    assert.match(s, /TLSv1\.3/);
  });

  test('-R with -G: no client certificate or an unknown one is refused, the CA\'s client is served', async () => {
    const port = await tlsPen(['-E', f('cert.pem'), '-K', f('key.pem'), '-R', '-G', f('ca.pem')]);
    const url = `https://127.0.0.1:${port}/`;
    const none = await curl(['-k', url]);
    assert.notEqual(none.code, 0);
    assert.equal(none.out, '');
    const rogue = await curl(['-k', '--cert', f('rogue.pem'), '--key', f('rogue.key'), url]);
    assert.notEqual(rogue.code, 0);
    assert.equal(rogue.out, '');
    const good = await curl(['-k', '--cert', f('client.pem'), '--key', f('client.key'), url]);
    assert.equal(good.code, 0);
    assert.equal(good.out, 'A');
  });

  test('-R with -A: the CA is found in a certificate directory', async () => {
    const port = await tlsPen(['-E', f('cert.pem'), '-K', f('key.pem'), '-R', '-A', f('cadir')]);
    const url = `https://127.0.0.1:${port}/`;
    assert.equal((await curl(['-k', '--cert', f('client.pem'), '--key', f('client.key'), url])).out, 'A');
    assert.notEqual((await curl(['-k', url])).code, 0);
  });

  test('ssl_sni_path serves NAME.crt for a known name and the default certificate otherwise', async () => {
    const port = await tlsPen(['-O', `ssl_sni_path ${f('sni')}`, '-E', f('cert.pem'), '-K', f('key.pem')]);
    assert.match(await sClient(port, ['-servername', 'foo.test']), /subject=CN ?= ?foo\.test/);
    assert.match(await sClient(port, ['-servername', 'FOO.test']), /subject=CN ?= ?foo\.test/, 'names are case-insensitive');
    assert.match(await sClient(port, ['-servername', 'bar.test']), /subject=CN ?= ?localhost/);
    assert.match(await sClient(port, ['-servername', '..']), /subject=CN ?= ?localhost/, 'no path tricks');
    const r = await curl(['-k', '--resolve', `foo.test:${port}:127.0.0.1`, `https://foo.test:${port}/`]);
    assert.equal(r.out, 'A');
  });

  test('OCSP stapling: ssl_ocsp_response for the default certificate, NAME.ocsp for SNI names', async () => {
    const port = await tlsPen(['-O', `ssl_sni_path ${f('sni')}`, '-O', `ssl_ocsp_response ${f('default.ocsp')}`,
      '-E', f('cert.pem'), '-K', f('key.pem')]);
    const staple = async (servername: string) => {
      // requestOCSP is a TLSSocket option that @types/node leaves out of ConnectionOptions
      const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, requestOCSP: true } as tls.ConnectionOptions);
      const [resp] = await once(s, 'OCSPResponse') as [Buffer];
      s.destroy();
      return resp;
    };
    assert.deepEqual(await staple('localhost'), ocspDer('staple for the default certificate'));
    assert.deepEqual(await staple('foo.test'), ocspDer('staple for foo.test'));
    // a changed file is picked up at the next handshake
    writeFileSync(f('default.ocsp'), ocspDer('a newer staple'));
    assert.deepEqual(await staple('localhost'), ocspDer('a newer staple'));
  });

  test('ssl_option no_tlsv1.2 leaves TLS 1.3 only; ssl_ciphers limits TLS 1.2 ciphers', async () => {
    const only13 = await tlsPen(['-O', 'ssl_option no_tlsv1.2', '-E', f('cert.pem'), '-K', f('key.pem')]);
    assert.notEqual((await curl(['-k', '--tls-max', '1.2', `https://127.0.0.1:${only13}/`])).code, 0);
    assert.equal((await curl(['-k', `https://127.0.0.1:${only13}/`])).out, 'A');

    const cipher = 'ECDHE-RSA-AES128-GCM-SHA256';
    const port = await tlsPen(['-O', `ssl_ciphers ${cipher}`, '-E', f('cert.pem'), '-K', f('key.pem')]);
    assert.match(await sClient(port, ['-tls1_2']), new RegExp(`Cipher is ${cipher}`));
    assert.notEqual((await curl(['-k', '--tls-max', '1.2', '--ciphers', 'ECDHE-RSA-AES256-GCM-SHA384', `https://127.0.0.1:${port}/`])).code, 0);
  });

  test('a client that renegotiates twice within ssl_client_renegotiation_interval is disconnected', async () => {
    const echo = await tcpBackend('E');
    cleanups.push(() => echo.close());
    const port = await tlsPen(['-O', 'ssl_client_renegotiation_interval 3600', '-E', f('cert.pem'), '-K', f('key.pem')], echo);
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
    s.on('error', () => {});
    s.resume(); // renegotiation needs the socket to be read
    await once(s, 'secureConnect');
    const closed = once(s, 'close');
    const renegotiate = () => new Promise<Error | null>((resolve) => {
      const ok = s.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ?? null));
      if (!ok) resolve(new Error('renegotiate refused locally'));
    });
    assert.equal(await renegotiate(), null, 'the first renegotiation is allowed');
    const second = await Promise.race([renegotiate().then((e) => (e ? 'error' : 'ok')), closed.then(() => 'closed')]);
    assert.notEqual(second, 'ok');
    await closed;
  });

  test('a TLS client that half-closes still receives the whole reply', async () => {
    const echo = await tcpBackend('E');
    cleanups.push(() => echo.close());
    const port = await tlsPen(['-E', f('cert.pem'), '-K', f('key.pem')], echo);
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    await once(s, 'secureConnect');
    let got = '';
    s.on('data', (d) => { got += d; });
    s.write('hello');
    s.end();
    await once(s, 'end');
    assert.equal(got, 'E\nhello');
  });

  test('unusable certificate or key files stop pen at start-up with a clear message', async () => {
    const missing = runPen(['-f', '-E', f('nope.pem'), '127.0.0.1:1', '127.0.0.1:2']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /can't read certificate file '.*nope\.pem': no such file \(ENOENT\)/);
    const noKey = runPen(['-f', '-E', f('cert.pem'), '127.0.0.1:1', '127.0.0.1:2']);
    assert.notEqual(noKey.code, 0);
    assert.match(noKey.stderr, /no private key in '.*cert\.pem' \(give the key with -K keyfile\)/);
    const wrongKey = runPen(['-f', '-E', f('cert.pem'), '-K', f('client.key'), '127.0.0.1:1', '127.0.0.1:2']);
    assert.notEqual(wrongKey.code, 0);
    assert.match(wrongKey.stderr, /Unable to create default context/);
    const badCiphers = runPen(['-f', '-O', 'ssl_ciphers NOT-A-CIPHER', '-E', f('both.pem'), '127.0.0.1:1', '127.0.0.1:2']);
    assert.notEqual(badCiphers.code, 0);
    assert.match(badCiphers.stderr, /Unable to create default context/);
  });
});
