// TLS handshakes read no file: SNI certificates and OCSP staples are read when the listener is
// built and when they change (tls-files.ts), and the handshake callbacks only look in memory.
// A real TLS server from tlsServerFactory on loopback, real certificates, fs calls counted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { Balancer } from '../../server/core/balancer.ts';
import { tlsServerFactory } from '../../server/core/tls.ts';
import { execute } from '../../server/control/registry.ts';
import { countFsCalls } from '../helpers/fscount.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-tlsfiles-'));
const f = (name: string) => join(dir, name);
let server: Server;
let port = 0;
let run: (line: string) => Promise<unknown>;

/** The DER shape pen staples, carrying `text` so staples can be told apart (as in tls.test.ts). */
function ocspDer(text: string): Buffer {
  const body = Buffer.from(text);
  const octets = Buffer.concat([Buffer.from([0x04, body.length]), body]);
  const tagged = Buffer.concat([Buffer.from([0xa0, octets.length]), octets]);
  const inner = Buffer.concat([Buffer.from([0x0a, 0x01, 0x00]), tagged]);
  return Buffer.concat([Buffer.from([0x30, inner.length]), inner]);
}

function selfSigned(cn: string, key: string, crt: string): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${cn}`, '-keyout', key, '-out', crt], { stdio: 'ignore' });
}

before(async () => {
  selfSigned('localhost', f('key.pem'), f('cert.pem'));
  mkdirSync(f('sni'));
  selfSigned('foo.test', f('sni/foo.test.key'), f('sni/foo.test.crt'));
  writeFileSync(f('sni/foo.test.ocsp'), ocspDer('foo'));
  writeFileSync(f('default.ocsp'), ocspDer('default'));
  const pen = new Balancer();
  pen.settings.ssl.cert = f('cert.pem');
  pen.settings.ssl.key = f('key.pem');
  const ctx = { pen, runtime: { exit() {}, argv: ['pen'] }, origin: 'cli' as const };
  run = (line) => execute(ctx, line);
  await run(`ssl_sni_path ${f('sni')}`);
  await run(`ssl_ocsp_response ${f('default.ocsp')}`);
  server = tlsServerFactory(pen.settings)((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** One handshake: the certificate's CN and the staple the server sent (null: none). */
async function handshake(servername: string): Promise<{ cn: string; staple: string | null }> {
  const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, requestOCSP: true } as tls.ConnectionOptions);
  let staple: string | null = null;
  s.on('OCSPResponse', (resp: Buffer | null) => { staple = resp ? resp.subarray(9).toString() : null; });
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', resolve);
      s.once('error', reject);
      setTimeout(() => reject(new Error('no handshake in 5 s')), 5000).unref();
    });
    return { cn: String(s.getPeerCertificate().subject.CN), staple };
  } finally {
    s.destroy();
  }
}

test('handshakes, SNI names known or not and OCSP requests, read no file', async () => {
  // the files were read when the listener was built; wait for that as a first client would
  assert.deepEqual(await handshake('foo.test'), { cn: 'foo.test', staple: 'foo' });
  const counter = countFsCalls();
  let results;
  try {
    results = [];
    for (const name of ['foo.test', 'FOO.test', 'bar.test', 'localhost', 'foo.test', 'baz.test']) results.push(await handshake(name));
  } finally {
    counter.restore();
  }
  assert.deepEqual(results, [
    { cn: 'foo.test', staple: 'foo' }, { cn: 'foo.test', staple: 'foo' }, { cn: 'localhost', staple: 'default' },
    { cn: 'localhost', staple: 'default' }, { cn: 'foo.test', staple: 'foo' }, { cn: 'localhost', staple: 'default' },
  ]);
  // (only calls naming the test's files count: the test runner may look at its own)
  assert.deepEqual(counter.calls.filter((c) => c.includes(dir)), [], 'no handshake touched the TLS files');
});

test('a name whose files appear, and a changed staple, are served from the next handshake on', async () => {
  selfSigned('baz.test', f('sni/baz.test.key.tmp'), f('sni/baz.test.crt'));
  execFileSync('mv', [f('sni/baz.test.key.tmp'), f('sni/baz.test.key')]); // the key last, by rename, as a deploy would
  writeFileSync(f('default.ocsp'), ocspDer('newer'));
  assert.deepEqual(await handshake('baz.test'), { cn: 'baz.test', staple: null });
  assert.deepEqual(await handshake('localhost'), { cn: 'localhost', staple: 'newer' });
  // and those handshakes, too, found them in memory
  const counter = countFsCalls();
  try {
    assert.deepEqual(await handshake('baz.test'), { cn: 'baz.test', staple: null });
  } finally {
    counter.restore();
  }
  assert.deepEqual(counter.calls.filter((c) => c.includes(dir)), []);
});

test('ssl_sni_path and ssl_ocsp_response given while listening are read before the next handshake', async () => {
  mkdirSync(f('other'));
  writeFileSync(f('other.ocsp'), ocspDer('other'));
  await run(`ssl_sni_path ${f('other')}`);
  await run(`ssl_ocsp_response ${f('other.ocsp')}`);
  assert.deepEqual(await handshake('foo.test'), { cn: 'localhost', staple: 'other' }, 'the new directory has no foo.test');
  await run(`ssl_sni_path ${f('sni')}`);
  assert.deepEqual(await handshake('foo.test'), { cn: 'foo.test', staple: 'foo' });
});
