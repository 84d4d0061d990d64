// The command registry, in process: pen's argument syntax, pen's replies, and the effect on state.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { COMMANDS } from '../../shared/commands.ts';
import { aclPermits } from '../../server/core/acl.ts';
import { Balancer } from '../../server/core/balancer.ts';
import { isBlacklisted } from '../../server/core/servers.ts';
import { HANDLERS } from '../../server/control/commands.ts';
import { formatConfig } from '../../server/control/config.ts';
import type { CommandContext } from '../../server/control/context.ts';
import { execute, lookup, runConfigFile } from '../../server/control/registry.ts';
import { subscribe } from '../../server/core/events.ts';
import { nth } from '../helpers/nth.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-registry-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// commands given junk (`write x`, `log -1`) create files relative to the working directory
process.chdir(dir);

function fresh(): CommandContext & { exits: number } {
  const ctx = { pen: new Balancer(), runtime: { exit: () => { ctx.exits += 1; }, argv: [] }, origin: 'cli' as const, exits: 0 };
  return ctx;
}

async function run(ctx: CommandContext, ...lines: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const l of lines) out.push((await execute(ctx, l)).reply);
  return out;
}

test('every spec has exactly one handler and every handler a spec', () => {
  const names = COMMANDS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, 'no command is listed twice');
  assert.deepEqual([...names].sort(), Object.keys(HANDLERS).sort());
});

test('lookup() reads a line as execute() runs it: the same spec, so the same scope', async () => {
  const odd = [
    '', '   ', '# blacklist 5', '#blacklist', '  blacklist  5  ', 'no  keepalive', 'no such', 'no', 'BLACKLIST 5',
    '\tblacklist 5', 'blacklist\tx', 'servers\nroundrobin', 'roundrobin\r\nservers', 'include /nonexistent/x', ' no http',
  ];
  // every command, spaced out as pen's tokenizer allows
  const lines = [...odd, ...COMMANDS.map((c) => `  ${c.name.replace(' ', '   ')} `)];
  for (const line of lines) {
    const ran = await execute(fresh(), line);
    assert.equal(lookup(line)?.spec ?? null, ran.spec, JSON.stringify(line));
  }
  assert.equal(lookup('  no  keepalive')?.spec.name, 'no keepalive');
  assert.equal(lookup('roundrobin\r\nservers')?.spec.scope, 'admin', 'only the first line counts');
  assert.equal(lookup('servers\nroundrobin')?.spec.scope, 'read');
  assert.deepEqual(lookup(' include  a.cfg')?.args, ['a.cfg']);
  for (const line of ['', '#blacklist 5', 'BLACKLIST 5', '\tblacklist 5', 'no such']) assert.equal(lookup(line), null, line);
});

test('every command runs with no arguments and with junk without throwing', async () => {
  for (const c of COMMANDS) {
    if (c.name === 'exit') continue;
    const ctx = fresh();
    for (const line of [c.name, `${c.name} x`, `${c.name} -1 -1 -1`]) {
      const r = await execute(ctx, line);
      assert.equal(typeof r.reply, 'string', line);
      assert.equal(r.spec?.name, c.name, line);
    }
  }
});

test('read commands change nothing', async () => {
  const ctx = fresh();
  await run(ctx, 'server 0 address 127.0.0.1 port 80', 'acl 1 permit 10.0.0.1');
  const before = formatConfig(ctx.pen, 'f', new Date(0));
  for (const c of COMMANDS.filter((x) => x.scope === 'read')) await run(ctx, `${c.name} 1`, c.name);
  assert.equal(formatConfig(ctx.pen, 'f', new Date(0)), before);
});

test('numeric settings report their value and take a new one, as pen prints them', async () => {
  const ctx = fresh();
  assert.deepEqual(await run(ctx, 'blacklist', 'blacklist 7', 'blacklist', 'timeout', 'tracking 60', 'debug', 'clients_max', 'conn_max'),
    ['30\n', '7\n', '7\n', '3\n', '60\n', '0\n', '2048\n', '500\n']);
  assert.equal(ctx.pen.settings.blacklistTime, 7);
  assert.equal(ctx.pen.settings.trackingTime, 60);
  // garbage reads as 0, like C's atoi
  assert.deepEqual(await run(ctx, 'debug x', 'debug 2abc'), ['0\n', '2\n']);
});

test('tables only grow: clients_max and conn_max never shrink', async () => {
  const ctx = fresh();
  assert.deepEqual(await run(ctx, 'clients_max 4000', 'clients_max 10', 'conn_max 600', 'conn_max 5'), ['4000\n', '4000\n', '600\n', '600\n']);
  assert.equal(ctx.pen.clients.size, 4000);
  assert.equal(ctx.pen.settings.connMax, 600);
});

test('ACL numbers outside 0..9 reset to 0; tarpit_acl allows -1 and has no newline', async () => {
  const ctx = fresh();
  assert.deepEqual(await run(ctx, 'client_acl 3', 'client_acl 12', 'control_acl -1', 'tarpit_acl', 'tarpit_acl 12', 'tarpit_acl 4'),
    ['3\n', '0\n', '0\n', 'tarpit_acl = -1', 'tarpit_acl = 0', 'tarpit_acl = 4']);
});

test('mode reports all five selection flags', async () => {
  const ctx = fresh();
  assert.deepEqual(await run(ctx, 'mode'), ['no hash no roundrobin no stubborn no weight no prio\n']);
  await run(ctx, 'hash', 'roundrobin', 'stubborn', 'weight', 'prio');
  assert.deepEqual(await run(ctx, 'mode'), ['hash roundrobin stubborn weight prio\n']);
  await run(ctx, 'no hash', 'no prio');
  assert.deepEqual(await run(ctx, 'mode'), ['no hash roundrobin stubborn weight no prio\n']);
});

test('unknown commands get pen\'s error reply and change nothing; comments and "no junk" are silent', async () => {
  const ctx = fresh();
  const before = formatConfig(ctx.pen, 'f', new Date(0));
  const r = await execute(ctx, 'foo bar');
  assert.equal(r.reply, "do_cmd: ignoring command starting with 'foo'\n");
  assert.equal(r.spec, null);
  assert.ok(r.error);
  // tabs are not separators in pen
  assert.equal((await execute(ctx, 'blacklist\t5')).reply, "do_cmd: ignoring command starting with 'blacklist\t5'\n");
  assert.deepEqual(await run(ctx, '# blacklist 5', 'no such', 'no', '', '   '), ['', '', '', '', '']);
  // penctl.1 documents these, pen's dispatcher does not have them
  assert.equal((await execute(ctx, 'block')).reply, "do_cmd: ignoring command starting with 'block'\n");
  assert.equal(formatConfig(ctx.pen, 'f', new Date(0)), before);
});

test('only the first line counts, and runs of spaces are fine', async () => {
  const ctx = fresh();
  assert.deepEqual(await run(ctx, '  blacklist   9\r\nblacklist 3\n'), ['9\n']);
  assert.equal(ctx.pen.settings.blacklistTime, 9);
});

test('server N creates slots; unset slots show pen\'s "(unknown address family 0"', async () => {
  const ctx = fresh();
  await run(ctx, 'server 2 address 127.0.0.1 port 8080 max 5 hard 10 weight 2 prio 1 bogus 1 acl 3');
  assert.deepEqual(await run(ctx, 'servers'), [
    '0 addr (unknown address family 0 port 0 conn 0 max 0 hard 0 weight 0 prio 0 sx 0 rx 0\n'
    + '1 addr (unknown address family 0 port 0 conn 0 max 0 hard 0 weight 0 prio 0 sx 0 rx 0\n'
    + '2 addr 127.0.0.1 port 8080 conn 0 max 5 hard 10 weight 2 prio 1 sx 0 rx 0\n',
  ]);
  assert.equal(ctx.pen.servers.list[2]?.acl, 3);
  // a new address without a port has port 0, as in pen; no N and negative N do nothing
  await run(ctx, 'server 3 address localhost', 'server', 'server -1 address 127.0.0.1');
  assert.equal(ctx.pen.servers.list.length, 4);
  assert.equal(ctx.pen.servers.list[3]?.port, 0);
});

test('an unresolvable server address stops the rest of the line', async () => {
  const ctx = fresh();
  const r = await execute(ctx, 'server 0 port 81 address no-such-host.invalid max 7');
  assert.equal(r.reply, '');
  assert.equal(ctx.pen.servers.list[0]?.port, 81);
  assert.equal(ctx.pen.servers.list[0]?.maxc, 0);
});

test('server N blacklist T blacklists for T seconds and 0 brings it back', async () => {
  const ctx = fresh();
  await run(ctx, 'server 0 address 127.0.0.1 port 80', 'server 0 blacklist 30');
  const s = nth(ctx.pen.servers.list, 0);
  const now = ctx.pen.now();
  assert.ok(isBlacklisted(s, now + 29, ctx.pen.settings.blacklistTime));
  assert.ok(!isBlacklisted(s, now + 30, ctx.pen.settings.blacklistTime));
  await run(ctx, 'server 0 blacklist 0');
  assert.ok(!isBlacklisted(s, now, ctx.pen.settings.blacklistTime));
});

test('acl entries use pen\'s matching; errors are silent and add nothing', async () => {
  const ctx = fresh();
  const { pen } = ctx;
  await run(ctx, 'acl 1 permit 127.0.0.1', 'acl 1 deny ::1/64', 'acl 1 permit 10.0.0.0 255.0.0.0', 'acl 2 deny 1.2.3');
  assert.equal(pen.acls[1]?.length, 3);
  assert.ok(aclPermits(pen.acls, 1, '127.0.0.1'));
  assert.ok(aclPermits(pen.acls, 1, '10.9.9.9'));
  assert.ok(!aclPermits(pen.acls, 1, '127.0.0.2'), 'no match: the opposite of the last entry');
  assert.ok(!aclPermits(pen.acls, 1, '::1'));
  assert.ok(!aclPermits(pen.acls, 2, '1.2.0.3'), 'inet_aton reads 1.2.3 as 1.2.0.3');
  const silent = await run(ctx, 'acl 1 allow 1.2.3.4', 'acl 1 permit 1.2.3.4.5', 'acl 1 permit 1.2.3.4 255.x', 'acl 11 permit 1.2.3.4',
    'acl 1 permit zz::zz', 'acl 1 permit', 'acl 1 permit country');
  assert.deepEqual(silent, ['', '', '', '', '', '', '']);
  assert.equal(pen.acls[1]?.length, 3);
  await run(ctx, 'no acl 1');
  assert.equal(pen.acls[1]?.length, 0);
});

test('acl country without a GeoIP database is refused with one clear line', async () => {
  const ctx = fresh();
  const r = await execute(ctx, 'acl 1 permit country SE');
  assert.match(r.reply, /^acl: country ACLs need a GeoIP database[^\n]*\n$/);
  assert.equal(ctx.pen.acls[1]?.length, 0);
});

test('inputs that crash C pen are answered with one line and change nothing', async () => {
  const ctx = fresh();
  for (const line of ['no acl', 'source', 'ssl_client_renegotiation_interval', 'ssl_ocsp_response']) {
    const r = await execute(ctx, line);
    assert.match(r.reply, /^[^\n]+\n$/, line);
    assert.ok(r.error, line);
  }
  assert.equal((await execute(ctx, 'idlers 3')).reply, 'Idlers: 0/3\n');
  assert.equal(ctx.pen.settings.source, null);
});

test('source takes an address; an unresolvable one gets pen\'s reply without newline', async () => {
  const ctx = fresh();
  assert.equal((await execute(ctx, 'source 127.0.0.1')).reply, '');
  assert.equal(ctx.pen.settings.source, '127.0.0.1');
  assert.equal((await execute(ctx, 'source 1.2.3.4.5')).reply, "unable to set source address to '1.2.3.4.5'");
  assert.equal(ctx.pen.settings.source, null);
});

test('exit needs -X', async () => {
  const ctx = fresh();
  assert.equal((await execute(ctx, 'exit')).reply, 'Exit is not enabled; restart with -X flag\n');
  assert.equal(ctx.exits, 0);
  ctx.pen.settings.exitEnabled = true;
  assert.equal((await execute(ctx, 'exit')).reply, '');
  assert.equal(ctx.exits, 1);
});

test('connection, close and socket answer for any slot and refuse out-of-range ones', async () => {
  const ctx = fresh();
  assert.deepEqual(await run(ctx, 'connection', 'connection 600', 'close 3', 'close -1', 'socket', 'socket 9'), [
    'Connection 0:\nstate = 0\ndownfd = -1, upfd = -1\nclient = 0, server = 0\npend = 0\n',
    'Connection 600 out of range\n',
    'Forcibly closing connection 3\n',
    'Connection -1 out of range\n',
    'Socket 0 belongs to connection -1\n',
    'Socket 9 belongs to connection -1\n',
  ]);
  assert.equal(ctx.pen.connsUsed, 0, 'closing an unused slot does not corrupt the count');
});

test('small replies match pen: idle_timeout, idlers, tcp_fastclose, pid, control, web_stats, log', async () => {
  const ctx = fresh();
  assert.deepEqual(await run(ctx, 'idle_timeout', 'idle_timeout -5', 'idle_timeout 4', 'idlers', 'tcp_fastclose', 'tcp_fastclose up', 'control', 'web_stats', 'log', 'status'), [
    'Idle timeout: 0 seconds\n', 'Idle timeout: 0 seconds\n', 'Idle timeout: 4 seconds\n', 'Idlers: 0/0\n',
    'do_cmd: ignoring tcp_fastclose without argument\n', '', '(null)\n', '', '', 'Unable to create webstats\n',
  ]);
  assert.equal(ctx.pen.settings.tcpFastclose, 'up');
  await run(ctx, 'tcp_fastclose sideways');
  assert.equal(ctx.pen.settings.tcpFastclose, 'off');
  assert.equal((await execute(ctx, 'pid')).reply, `${process.pid}\n`);
  const html = join(dir, 'w.html');
  assert.equal((await execute(ctx, `web_stats ${html}`)).reply, `${html}\n`);
  const page = (await execute(ctx, 'status')).reply;
  assert.match(page, /^<html>\n<head>\n<title>Pen status page/);
  // unlike pen, a read changes nothing: the -w file is written on USR1, not by `status`
  assert.equal(existsSync(html), false, 'status does not write the -w file');
  const logFile = join(dir, 'req.log');
  assert.equal((await execute(ctx, `log ${logFile}`)).reply, `${logFile}\n`);
  assert.ok(ctx.pen.requestLog);
  await run(ctx, 'no log');
  assert.equal(ctx.pen.requestLog, null);
  assert.equal((await execute(ctx, 'log /nonexistent-dir/x.log')).reply.split('\n').length, 2, 'one error line, pen keeps running');
});

test('ssl_* commands fill the TLS settings', async () => {
  const ctx = fresh();
  await run(ctx, 'ssl_ciphers HIGH', 'ssl_option no_tlsv1', 'ssl_option bogus', 'ssl_option no_tlsv1', 'ssl_sni_path /etc/sni',
    'ssl_ocsp_response /tmp/o.der', 'ssl_client_renegotiation_interval 60');
  const ssl = ctx.pen.settings.ssl;
  assert.equal(ssl.ciphers, 'HIGH');
  assert.deepEqual(ssl.options, ['no_tlsv1']);
  assert.equal(ssl.sniPath, '/etc/sni');
  assert.equal(ssl.ocspResponse, '/tmp/o.der');
  assert.equal(ssl.renegotiationInterval, 60);
  await run(ctx, 'ssl_ciphers');
  assert.equal(ssl.ciphers, null);
});

test('DSR is refused with one clear line, and changes nothing', async () => {
  const ctx = fresh();
  const before = JSON.stringify(ctx.pen.settings);
  for (const l of ['dsr_if eth0', 'dsr_ip 10.0.0.1']) {
    const r = await execute(ctx, l);
    assert.match(r.reply, /Direct Server Return[^\n]*\n$/);
    assert.equal(r.error?.code, 'PEN_ERR_UNSUPPORTED');
  }
  assert.equal(JSON.stringify(ctx.pen.settings), before);
});

test('write then a fresh read reproduces servers, modes, ACLs and settings', async () => {
  const a = fresh();
  const file = join(dir, 'round.cfg');
  a.pen.settings.configFile = file;
  await run(a, 'server 0 address 127.0.0.1 port 8080 max 10 hard 20 weight 3 prio 4', 'server 1 address ::1 port 8081 acl 2 weight 5',
    'server 3 address 127.0.0.2 port 99', 'acl 2 deny ::1/64', 'acl 2 permit 10.0.0.0 255.0.0.0', 'acl 0 permit 127.0.0.1',
    'ascii', 'blacklist 10', 'client_acl 2', 'control_acl 1', 'debug 1', 'hash', 'http', 'roundrobin', 'stubborn',
    'tcp_fastclose both', 'tcp_nodelay', 'timeout 2', 'tracking 60', `web_stats ${join(dir, 'x.html')}`, 'prio',
    `log ${join(dir, 'rt.log')}`, 'idle_timeout 9', 'pending_max 7', 'keepalive', 'source 127.0.0.1', 'ssl_option no_tlsv1',
    'clients_max 3000', 'conn_max 700', 'write');
  const written = readFileSync(file, 'latin1');
  const b = fresh();
  await runConfigFile(b, file);
  const body = (text: string) => text.split('\n').slice(2).join('\n');
  assert.equal(body(formatConfig(b.pen, file)), body(written));
  const a2 = await run(a, 'servers', 'mode', 'blacklist', 'timeout', 'tracking', 'client_acl', 'control_acl', 'idle_timeout');
  const b2 = await run(b, 'servers', 'mode', 'blacklist', 'timeout', 'tracking', 'client_acl', 'control_acl', 'idle_timeout');
  assert.deepEqual(b2, a2);
  assert.deepEqual(b.pen.acls, a.pen.acls);
  a.pen.requestLog?.close();
  b.pen.requestLog?.close();
});

test('write with default settings is exactly pen\'s layout', async () => {
  const ctx = fresh();
  await run(ctx, 'server 0 address 127.0.0.1 port 19432', 'server 1 address 127.0.0.1 port 19433', 'acl 1 permit 1.2.3');
  ctx.pen.settings.control = '127.0.0.1:19431';
  ctx.pen.settings.listen = '127.0.0.1:19430';
  Object.assign(ctx.pen.settings, { foreground: true, exitEnabled: true, user: 'root' });
  const text = formatConfig(ctx.pen, '/tmp/w.cfg', new Date(2026, 10, 24, 7, 3, 58));
  // captured from Debian's pen 0.34.1 with the same state
  assert.equal(text, `# Generated by pen 2026-11-24 07:03:58
# pen -f -X -u 'root' -F '/tmp/w.cfg' -C 127.0.0.1:19431 127.0.0.1:19430
no acl 0
no acl 1
acl 1 permit 1.2.0.3 255.255.255.255
${[2, 3, 4, 5, 6, 7, 8, 9].map((n) => `no acl ${n}\n`).join('')}no ascii
blacklist 30
client_acl 0
control_acl 0
debug 0
no hash
no http
no log
no roundrobin
server 0 acl 0 address 127.0.0.1 port 19432 max 0 hard 0
server 1 acl 0 address 127.0.0.1 port 19433 max 0 hard 0
no stubborn
tcp_fastclose off
no tcp_nodelay
timeout 3
tracking 0
no web_stats
no weight
no prio
`);
});

test('include runs another file; a file including itself stops', async () => {
  const ctx = fresh();
  const inner = join(dir, 'inner.cfg');
  const outer = join(dir, 'outer.cfg');
  writeFileSync(inner, 'blacklist 11\ntracking 5\n');
  writeFileSync(outer, `# a comment\ninclude ${inner}\ntimeout 4\n`);
  assert.equal(await runConfigFile(ctx, outer), '11\n5\n4\n');
  const loop = join(dir, 'loop.cfg');
  writeFileSync(loop, `debug\ninclude ${loop}\n`);
  const out = await runConfigFile(ctx, loop);
  // the cycle is refused at its first step (an -F file's replies are pen's own: see runConfigFile)
  assert.equal(out, `0\ninclude: ${loop}: includes itself (directly or through other files)\n`);
  assert.equal(await runConfigFile(ctx, join(dir, 'missing.cfg')), '');
});

test('changes are announced as config events, reads are not', async () => {
  const ctx = fresh();
  const seen: string[] = [];
  subscribe(ctx.pen, (e: { type: string; message: string }) => seen.push(`${e.type}:${e.message}`));
  await run(ctx, 'blacklist', 'servers', 'blacklist 5', 'hash', 'foo');
  assert.deepEqual(seen, ['config:blacklist 5', 'config:hash']);
});
