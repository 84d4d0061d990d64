// pen -U as a real process, queried with dig (as pen's own testsuite does) against small DNS
// responders whose A answer names the backend; blacklisting through the real penctl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { afterEach, describe, test } from 'node:test';
import { freePort } from '../helpers/backends.ts';
import { dnsBackend, freeUdpPort, type DnsBackend } from '../helpers/dns.ts';
import { nth } from '../helpers/nth.ts';
import { penctl, startPen, type PenProcess } from '../helpers/pen.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** dig +short: the answer, or `exit N` when dig failed (9 = no reply). */
function dig(port: number, opts: { server?: string; source?: string } = {}): Promise<string> {
  const args = ['+short', '+time=2', '+tries=1', '-p', String(port), `@${opts.server ?? '127.0.0.1'}`, 'example.com'];
  if (opts.source) args.unshift('-b', opts.source);
  return new Promise((resolve) => {
    execFile('dig', args, { timeout: 10000 }, (err, stdout) => {
      if (err) resolve(`exit ${(err as { code?: number }).code}`);
      else resolve(stdout.trim());
    });
  });
}

/** n backends answering 10.0.0.1, 10.0.0.2, …; a tuple for the counts the tests destructure */
async function backends(n: 1, host?: string): Promise<[DnsBackend]>;
async function backends(n: 2, host?: string): Promise<[DnsBackend, DnsBackend]>;
async function backends(n: number, host?: string): Promise<DnsBackend[]>;
async function backends(n: number, host = '127.0.0.1'): Promise<DnsBackend[]> {
  const list: DnsBackend[] = [];
  for (let i = 0; i < n; i++) {
    const b = await dnsBackend(`10.0.0.${i + 1}`, host);
    cleanups.push(() => b.close());
    list.push(b);
  }
  return list;
}

/** Start pen -U and wait until it has bound its UDP port. */
async function udpPen(args: string[], port: number): Promise<PenProcess> {
  const pen = await startPen(args, { waitPort: port });
  cleanups.push(() => pen.stop());
  return pen;
}

describe('pen -U with dig', () => {
  test('a client is sticky to its server, and a second client address gets the next server', async () => {
    const [a, b] = await backends(2);
    const port = await freeUdpPort();
    await udpPen(['-U', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], port);
    const first = await dig(port);
    assert.equal(first, '10.0.0.2', 'round robin starts at server 1');
    assert.equal(await dig(port), first);
    assert.equal(await dig(port), first);
    const other = await dig(port, { source: '127.0.0.2' });
    assert.equal(other, '10.0.0.1', 'a new client gets the next server');
    assert.equal(await dig(port, { source: '127.0.0.2' }), other);
    assert.equal(await dig(port), first, 'the first client is still on its server');
  });

  test('-r sends each new query to the next server in turn', async () => {
    const list = await backends(3);
    const port = await freeUdpPort();
    await udpPen(['-U', '-r', `127.0.0.1:${port}`, ...list.map((b) => `127.0.0.1:${b.port}`)], port);
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await dig(port));
    // pen's round robin advances before use: 1, 2, 0, 1, 2, 0
    assert.deepEqual(answers, ['10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
  });

  test('blacklisting through penctl fails queries over; with every server blacklisted dig gets no reply', async () => {
    // pen's testsuite case "UDP failover (issue #19)", with penctl on a TCP control port
    const list = await backends(3);
    const port = await freeUdpPort();
    const ctl = await freePort();
    await udpPen(['-U', '-r', '-u', 'root', '-C', `127.0.0.1:${ctl}`, `127.0.0.1:${port}`, ...list.map((b) => `127.0.0.1:${b.port}`)], port);
    const target = `127.0.0.1:${ctl}`;
    const blacklist = (n: number, secs: number) => {
      const r = penctl(target, ['server', String(n), 'blacklist', String(secs)]);
      assert.equal(r.code, 0, r.stderr);
    };
    blacklist(1, 30);
    blacklist(2, 30);
    for (let i = 0; i < 3; i++) assert.equal(await dig(port), '10.0.0.1', 'only server 0 is left');
    blacklist(0, 30);
    assert.equal(await dig(port), 'exit 9', 'all blacklisted: the query is dropped');
    blacklist(0, 0);
    assert.equal(await dig(port), '10.0.0.1', 'server 0 is back');
    blacklist(1, 0);
    const servers = penctl(target, ['servers']).stdout.split('\n').filter(Boolean);
    assert.equal(servers.length, 3);
    assert.match(nth(servers, 0), new RegExp(`^0 addr 127\\.0\\.0\\.1 port ${nth(list, 0).port} conn \\d+ `));
  });

  test('a sticky client follows its server\'s blacklisting and stays on the new server', async () => {
    const [a, b] = await backends(2);
    const port = await freeUdpPort();
    const ctl = await freePort();
    await udpPen(['-U', '-u', 'root', '-C', `127.0.0.1:${ctl}`, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], port);
    assert.equal(await dig(port), '10.0.0.2');
    penctl(`127.0.0.1:${ctl}`, ['server', '1', 'blacklist', '30']);
    assert.equal(await dig(port), '10.0.0.1');
    penctl(`127.0.0.1:${ctl}`, ['server', '1', 'blacklist', '0']);
    assert.equal(await dig(port), '10.0.0.1', 'the client now remembers server 0');
  });

  test('IPv6 listener with IPv4 backends, and an IPv4 listener with IPv6 backends', async () => {
    const [a] = await backends(1);
    const port6 = await freeUdpPort('::1');
    await udpPen(['-U', `::1:${port6}`, `127.0.0.1:${a.port}`], port6);
    assert.equal(await dig(port6, { server: '::1' }), '10.0.0.1');

    const [b6] = await backends(1, '::1');
    const port4 = await freeUdpPort();
    await udpPen(['-U', `127.0.0.1:${port4}`, `[::1]:${b6.port}`], port4);
    assert.equal(await dig(port4), '10.0.0.1');
    assert.equal(b6.queries[0]?.address, '::1');
  });

  test('a dual-stack listener (:::PORT) serves IPv4 and IPv6 clients', async () => {
    const [a] = await backends(1);
    const port = await freeUdpPort('::');
    await udpPen(['-U', `:::${port}`, `127.0.0.1:${a.port}`], port);
    assert.equal(await dig(port, { server: '::1' }), '10.0.0.1');
    assert.equal(await dig(port, { server: '127.0.0.1' }), '10.0.0.1');
  });

  test('client_acl is checked when a new client picks: a denied client goes to the abuse server (-B), or is dropped without one', async () => {
    const [a] = await backends(1);
    const abuse = await dnsBackend('10.0.0.9');
    cleanups.push(() => abuse.close());
    const acl = ['-O', 'acl 1 permit 127.0.0.1', '-O', 'client_acl 1'];
    const port = await freeUdpPort();
    await udpPen(['-U', '-B', `127.0.0.1:${abuse.port}`, ...acl, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], port);
    assert.equal(await dig(port), '10.0.0.1');
    assert.equal(await dig(port, { source: '127.0.0.2' }), '10.0.0.9', 'denied: the abuse server');
    assert.equal(await dig(port), '10.0.0.1', 'the permitted client is still served');
    const bare = await freeUdpPort();
    await udpPen(['-U', ...acl, `127.0.0.1:${bare}`, `127.0.0.1:${a.port}`], bare);
    assert.equal(await dig(bare, { source: '127.0.0.2' }), 'exit 9', 'denied and no abuse server: dropped');
    assert.equal(await dig(bare), '10.0.0.1');
  });
});
