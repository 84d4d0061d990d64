// Country ACLs with a real pen process and a real .mmdb file: clients from a denied country go
// to the abuse server, the database and the country entries survive a `write` round trip, and
// without a database the country entry is refused with an error line.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_GEOIP_FILE } from '../../server/core/geoip.ts';
import { freePort, get, httpBackend, type HttpBackend } from '../helpers/backends.ts';
import { mmdbUnavailable, writeTestMmdb } from '../helpers/mmdb.ts';
import { nth } from '../helpers/nth.ts';
import { penctl, startPen } from '../helpers/pen.ts';

const missing = mmdbUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'pen-geoip-it-'));
let db = '';
let a: HttpBackend;
let abuse: HttpBackend;
before(async () => {
  if (missing === null) db = writeTestMmdb();
  [a, abuse] = [await httpBackend('A'), await httpBackend('Abuse')];
});
after(async () => {
  await Promise.all([a.close(), abuse.close()]);
  if (db) rmSync(dirname(db), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

function ask(ctl: string, command: string): string {
  const r = penctl(ctl, command.split(' '));
  assert.equal(r.code, 0, `penctl ${command}: ${r.stderr}`);
  return r.stdout;
}

describe('country ACLs with a GeoIP database', { skip: missing ?? false }, () => {
  test('a client from a denied country gets the abuse server, others the normal one; write keeps geoip and the entry', async () => {
    const [port, cport] = [await freePort(), await freePort()];
    const ctl = `127.0.0.1:${cport}`;
    const cfg = join(dir, 'saved.cfg');
    const first = await startPen([
      '-u', 'root', '-C', ctl, '-B', `127.0.0.1:${abuse.port}`,
      '-O', `geoip ${db}`, '-O', 'acl 1 deny country NO', '-O', 'client_acl 1',
      `127.0.0.1:${port}`, `127.0.0.1:${a.port}`,
    ], { waitPort: port });
    let written: string;
    try {
      assert.equal(await get(port, { localAddress: '127.0.1.5' }), 'Abuse', '127.0.1.5 is in NO');
      assert.equal(await get(port, { localAddress: '127.0.0.1' }), 'A', '127.0.0.1 is in SE');
      assert.equal(await get(port, { localAddress: '127.0.3.1' }), 'A', '127.0.3.1 has no country');
      assert.equal(ask(ctl, 'geoip'), `${db}\n`);
      assert.equal(ask(ctl, `write ${cfg}`), '');
      written = readFileSync(cfg, 'utf8');
    } finally {
      await first.stop();
    }
    assert.match(written, new RegExp(`^geoip ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n(.*\\n)*acl 1 deny country NO\\n`, 'm'));

    // a fresh pen from the written file behaves the same
    const comment = nth(written.split('\n'), 1);
    const args = [...comment.matchAll(/'([^']*)'|(\S+)/g)].flatMap((m) => m[1] ?? m[2] ?? []).slice(2).filter((x) => x !== '-f');
    const second = await startPen(args, { waitPort: port });
    try {
      assert.equal(ask(ctl, 'geoip'), `${db}\n`);
      assert.equal(await get(port, { localAddress: '127.0.1.5' }), 'Abuse');
      assert.equal(await get(port, { localAddress: '127.0.0.1' }), 'A');
    } finally {
      await second.stop();
    }
  });

  test('a control_acl with a country entry keeps other countries off the control port', async () => {
    const [port, cport] = [await freePort(), await freePort()];
    const ctl = `127.0.0.1:${cport}`;
    const pen = await startPen([
      '-u', 'root', '-C', ctl, '-O', `geoip ${db}`, '-O', 'acl 2 permit country SE', '-O', 'control_acl 2',
      `127.0.0.1:${port}`, `127.0.0.1:${a.port}`,
    ], { waitPort: port });
    try {
      // penctl connects from 127.0.0.1 (SE): allowed
      assert.equal(ask(ctl, 'control_acl'), '2\n');
      // appended after `permit country SE`, this entry never decides: the first match does
      assert.equal(ask(ctl, 'acl 2 deny country SE'), '');
      assert.equal(ask(ctl, 'control_acl'), '2\n');
      // a list that denies SE first: the port closes on 127.0.0.1 without an answer
      assert.equal(ask(ctl, 'no acl 2'), '');
      assert.equal(ask(ctl, 'acl 2 deny country SE'), '');
      assert.equal(penctl(ctl, ['control_acl']).stdout, '');
    } finally {
      await pen.stop();
    }
  });
});

test('without a GeoIP database the country entry is refused with an error line and nothing changes',
  { skip: existsSync(DEFAULT_GEOIP_FILE) ? `${DEFAULT_GEOIP_FILE} exists, so there is always a database` : false }, async () => {
    const [port, cport] = [await freePort(), await freePort()];
    const ctl = `127.0.0.1:${cport}`;
    const pen = await startPen(['-u', 'root', '-C', ctl, '-B', `127.0.0.1:${abuse.port}`, '-O', 'client_acl 1',
      `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
    try {
      assert.equal(ask(ctl, 'acl 1 deny country NO'), 'acl: country ACLs need a GeoIP database; load one with `geoip FILE`\n');
      assert.equal(ask(ctl, 'geoip'), '');
      assert.equal(await get(port, { localAddress: '127.0.1.5' }), 'A', 'list 1 is still empty, so everybody is permitted');
      const cfg = join(dir, 'plain.cfg');
      ask(ctl, `write ${cfg}`);
      const text = readFileSync(cfg, 'utf8');
      assert.doesNotMatch(text, /^geoip |country/m);
    } finally {
      await pen.stop();
    }
  });
