// GeoIP lookups from a real .mmdb file written at test time, the acl entries that use them, and
// the `geoip` command's handling of files that do not open.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { aclPermits, emptyAcls, parseAclEntry } from '../../server/core/acl.ts';
import { Balancer } from '../../server/core/balancer.ts';
import { PenError } from '../../server/core/errors.ts';
import { firstPick } from '../../server/core/pick.ts';
import { DEFAULT_GEOIP_FILE, openDefaultGeoip, openGeoip } from '../../server/core/geoip.ts';
import { formatConfig } from '../../server/control/config.ts';
import { execute } from '../../server/control/registry.ts';
import { freePort } from '../helpers/backends.ts';
import { countFsCalls } from '../helpers/fscount.ts';
import { mmdbUnavailable, writeTestMmdb } from '../helpers/mmdb.ts';
import { nth } from '../helpers/nth.ts';

const missing = mmdbUnavailable();
const db = missing === null ? writeTestMmdb() : '';
const scratch = mkdtempSync(join(tmpdir(), 'pen-geoip-'));
after(() => {
  if (db) rmSync(dirname(db), { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

const runtime = { exit() {}, argv: ['pen'] };
const run = (pen: Balancer, line: string) => execute({ pen, runtime, origin: 'cli' }, line);

describe('geoip lookups', { skip: missing ?? false }, () => {
  test('an address maps to its country, IPv4-mapped IPv6 included; unknown addresses to null', async () => {
    const country = await openGeoip(db);
    assert.equal(country('127.0.0.1'), 'SE');
    assert.equal(country('127.0.1.5'), 'NO');
    assert.equal(country('::ffff:127.0.1.5'), 'NO');
    assert.equal(country('127.0.3.1'), null);
    assert.equal(country('::1'), null);
  });

  test('a network with only a registered country answers with that', async () => {
    assert.equal((await openGeoip(db))('127.0.2.9'), 'DK');
  });

  test('a country entry decides by the looked-up country, and never matches without a database', async () => {
    const acls = emptyAcls();
    nth(acls, 1).push(parseAclEntry(['deny', 'country', 'no']));
    const country = await openGeoip(db);
    assert.equal(aclPermits(acls, 1, '127.0.1.5', country), false);
    assert.equal(aclPermits(acls, 1, '127.0.0.1', country), true);
    // no match: the opposite of the last entry (deny) permits
    assert.equal(aclPermits(acls, 1, '127.0.1.5'), true);
  });

  test('a file that is not a MaxMind DB, or is not there, or is a device, is one clear PEN_ERR_IO line', async () => {
    const bogus = join(scratch, 'bogus.mmdb');
    writeFileSync(bogus, 'not a database\n');
    const cases = [[bogus, /: not a MaxMind DB file/], [join(scratch, 'absent.mmdb'), /absent\.mmdb: no such file \(ENOENT\)/],
      ['/dev/zero', /^\/dev\/zero: not a regular file \(a character device\)$/]] as const;
    for (const [file, pattern] of cases) {
      await assert.rejects(openGeoip(file), (err: unknown) =>
        err instanceof PenError && err.code === 'PEN_ERR_IO' && pattern.test(err.message) && !err.message.includes('\n'));
    }
    assert.equal(await openDefaultGeoip(join(scratch, 'absent.mmdb')), null);
    assert.equal(await openDefaultGeoip(bogus), null);
    assert.equal((await openDefaultGeoip(db))?.('127.0.1.5'), 'NO');
  });

  test('`geoip FILE` loads, reports and is saved ahead of the country entries it makes possible', async () => {
    const pen = new Balancer();
    // like `log FILE` and `web_stats FILE`, it answers with the file now in use
    assert.equal((await run(pen, `geoip ${db}`)).reply, `${db}\n`);
    assert.equal((await run(pen, 'geoip')).reply, `${db}\n`);
    assert.equal((await run(pen, 'acl 3 permit country se')).reply, '');
    assert.deepEqual(pen.acls[3], [{ permit: true, kind: 'country', country: 'SE' }]);
    const text = formatConfig(pen, join(scratch, 'pen.cfg'));
    assert.ok(text.indexOf(`geoip ${db}\n`) >= 0 && text.indexOf(`geoip ${db}\n`) < text.indexOf('acl 3 permit country SE\n'), text);
  });

  test('`geoip` with a file that does not open answers an error line and keeps the database it had', async () => {
    const pen = new Balancer();
    await run(pen, `geoip ${db}`);
    const r = await run(pen, `geoip ${join(scratch, 'absent.mmdb')}`);
    assert.match(r.reply, /^geoip: .*absent\.mmdb: no such file \(ENOENT\)\n$/);
    assert.equal(r.error?.code, 'PEN_ERR_IO');
    assert.equal((await run(pen, 'geoip')).reply, `${db}\n`);
    assert.equal(pen.country?.('127.0.1.1'), 'NO');
  });

  test('the database is read asynchronously, and the last geoip command given wins', async () => {
    const pen = new Balancer();
    const loading = run(pen, `geoip ${db}`);
    assert.equal((await run(pen, 'no geoip')).reply, '');
    assert.equal((await loading).reply, '', 'the load finished after `no geoip` and was dropped');
    assert.equal(pen.settings.geoip, null);
  });
});

test('without a database, `acl N ... country CC` answers an error line naming `geoip FILE` and adds nothing',
  { skip: existsSync(DEFAULT_GEOIP_FILE) ? `${DEFAULT_GEOIP_FILE} exists, so there is always a database` : false }, async () => {
    const pen = new Balancer();
    const r = await run(pen, 'acl 1 deny country NO');
    assert.equal(r.reply, 'acl: country ACLs need a GeoIP database; load one with `geoip FILE`\n');
    assert.equal(r.error?.code, 'PEN_ERR_UNSUPPORTED');
    assert.deepEqual(pen.acls[1], []);
    assert.equal((await run(pen, 'geoip')).reply, '');
    assert.equal((await run(pen, 'no geoip')).reply, '');
    assert.equal(pen.country, undefined);
  });

test('the default database is looked for when the listener opens, and a pick reads no file', async () => {
  const pen = new Balancer();
  await run(pen, 'server 0 address 127.0.0.1 port 9');
  const client = { ip: '127.0.0.1', port: 40000, lastServer: -1, initial: -1 };
  const picking = countFsCalls();
  try {
    for (let i = 0; i < 3; i++) assert.deepEqual(firstPick(pen, client, pen.now()), { kind: 'server', s: 0 });
  } finally {
    picking.restore();
  }
  assert.deepEqual(picking.calls.filter((c) => c.includes('GeoIP')), [], 'no pick looks for the database');
  const listening = countFsCalls();
  try {
    await pen.listen(`127.0.0.1:${await freePort()}`);
  } finally {
    listening.restore();
    pen.shutdown();
  }
  assert.deepEqual(listening.calls.filter((c) => c.includes('GeoIP')), [`fs/promises.open ${DEFAULT_GEOIP_FILE}`], 'listen looks, once');
});
