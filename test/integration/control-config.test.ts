// Configuration files with real pen processes: -F at start-up and on SIGHUP, include, and a
// `write` from which a fresh start reproduces the same servers, modes and settings.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, get, httpBackend, sleep, type HttpBackend } from '../helpers/backends.ts';
import { penctl, startPen } from '../helpers/pen.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-config-'));
let a: HttpBackend;
let b: HttpBackend;
before(async () => {
  [a, b] = [await httpBackend('A'), await httpBackend('B')];
});
after(async () => {
  await Promise.all([a.close(), b.close()]);
  rmSync(dir, { recursive: true, force: true });
});

// the C client is quicker to start than ours; control-port.test.ts covers both
const CLIENT = existsSync('/usr/bin/penctl') ? '/usr/bin/penctl' : undefined;
const ask = (ctl: string, command: string) => penctl(ctl, command.split(' '), CLIENT).stdout;

test('-F is read at start-up, after the command line, and again on SIGHUP', async () => {
  const cfg = join(dir, 'hup.cfg');
  writeFileSync(cfg, `server 0 address 127.0.0.1 port ${a.port}\nblacklist 12\n`);
  const port = await freePort();
  // the option after the listen address, as pen's testsuite writes it
  const pen = await startPen([`127.0.0.1:${port}`, '-b', '5', '-F', cfg], { waitPort: port });
  try {
    assert.equal(await get(port), 'A');
    assert.match(pen.stdout(), /^12\n/, 'replies to file commands go to stdout');
    writeFileSync(cfg, `server 0 address 127.0.0.1 port ${b.port}\n`);
    pen.child.kill('SIGHUP');
    let seen = '';
    for (let i = 0; i < 40 && seen !== 'B'; i++) {
      await sleep(50);
      seen = await get(port);
    }
    assert.equal(seen, 'B');
  } finally {
    await pen.stop();
  }
});

test('include over the control port runs the file; its replies go to pen\'s stdout', async () => {
  const inner = join(dir, 'inner.cfg');
  writeFileSync(inner, 'tracking 45\n# comment\nno such command\n');
  const [port, cport] = [await freePort(), await freePort()];
  const ctl = `127.0.0.1:${cport}`;
  const pen = await startPen(['-u', 'root', '-C', ctl, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
  try {
    assert.equal(ask(ctl, `include ${inner}`), '');
    assert.equal(ask(ctl, 'tracking'), '45\n');
    for (let i = 0; i < 40 && !pen.stdout().includes('45\n'); i++) await sleep(50);
    assert.equal(pen.stdout(), '45\n');
    assert.equal(await get(port), 'A');
  } finally {
    await pen.stop();
  }
});

test('write, then a fresh pen started from the file has the same servers, modes and settings', async () => {
  const [port, cport] = [await freePort(), await freePort()];
  const ctl = `127.0.0.1:${cport}`;
  const cfg = join(dir, 'saved.cfg');
  const first = await startPen(['-u', 'root', '-C', ctl, '-F', join(dir, 'none.cfg'), `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
  const commands = [
    `server 1 address 127.0.0.1 port ${b.port} max 10 hard 20 weight 3 prio 2`, 'server 0 weight 1 acl 2',
    'acl 2 permit 127.0.0.0 255.0.0.0', 'acl 2 deny ::1/64', 'acl 4 permit 10.1.2.3', 'blacklist 9', 'tracking 30', 'timeout 2',
    'client_acl 0', 'control_acl 0', 'roundrobin', 'weight', 'stubborn', 'http', 'tcp_nodelay', 'tcp_fastclose down', 'ascii',
    `web_stats ${join(dir, 'saved.html')}`, 'idle_timeout 50', 'keepalive', 'clients_max 3000',
    // our extensions, which `write` puts last: checks and a drained slot (weight 0, so never picked here)
    'health http /healthz 2xx interval 7 fall 4', 'server 1 health tcp interval 9',
    `server 2 address 127.0.0.1 port ${a.port}`, 'server 2 health dns example.com rise 3', 'server 2 drain on',
  ];
  const readBack = ['servers', 'mode', 'blacklist', 'tracking', 'timeout', 'client_acl', 'control_acl', 'web_stats', 'idle_timeout', 'clients_max', 'health'];
  let before: string[];
  let written: string;
  try {
    for (const c of commands) ask(ctl, c);
    assert.equal(ask(ctl, `write ${cfg}`), '');
    before = readBack.map((c) => ask(ctl, c));
    written = readFileSync(cfg, 'latin1');
  } finally {
    await first.stop();
  }
  // our lines come after everything C pen reads
  assert.ok(written.endsWith('health http /healthz 2xx interval 7 fall 4\nserver 1 health tcp interval 9\nserver 2 health dns example.com rise 3\nserver 2 drain on\n'), written);
  // the second line says how to start pen again from the file
  const comment = written.split('\n')[1];
  assert.equal(comment, `# pen -f -c 3000 -u 'root' -F '${cfg}' -C ${ctl} 127.0.0.1:${port}`);
  const args = [...comment.matchAll(/'([^']*)'|(\S+)/g)].flatMap((m) => m[1] ?? m[2] ?? []).slice(2);
  const second = await startPen(args.filter((x) => x !== '-f'), { waitPort: port });
  try {
    const after = readBack.map((c) => ask(ctl, c));
    // neither pen has carried traffic yet, so even the live counters (conn, sx, rx) read back the same
    assert.deepEqual(after, before);
    ask(ctl, `write ${cfg}`);
    assert.equal(readFileSync(cfg, 'latin1').split('\n').slice(1).join('\n'), written.split('\n').slice(1).join('\n'));
    // and traffic follows the restored modes: under weight, equal loads go to the lowest index,
    // and a blacklisted server is passed over
    assert.equal(await get(port), 'A');
    ask(ctl, 'server 0 blacklist 30');
    assert.equal(await get(port), 'B');
  } finally {
    await second.stop();
  }
});

test('SIGUSR1 with -w writes the status page to the file', async () => {
  const html = join(dir, 'usr1.html');
  const port = await freePort();
  const pen = await startPen(['-w', html, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
  try {
    assert.equal(await get(port), 'A');
    assert.ok(!existsSync(html), 'written only on request');
    pen.child.kill('SIGUSR1');
    for (let i = 0; i < 40 && !existsSync(html); i++) await sleep(50);
    const page = readFileSync(html, 'latin1');
    assert.match(page, /^<html>\n<head>\n<title>Pen status page<\/title>\n/);
    assert.match(page, new RegExp(`<td>127\\.0\\.0\\.1</td>\n<td>0</td>\n<td>${a.port}</td>`));
    assert.match(page, /<\/body>\n<\/html>\n$/);
  } finally {
    await pen.stop();
  }
});
