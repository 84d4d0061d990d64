// Health checks and drain in configuration files, with real pen processes: a SIGHUP with an
// edited -F file brings in its checks and drain states, and C pen reads a file we wrote (our
// lines come last, where it ignores them) and balances as before.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server as NetServer } from 'node:net';
import { after, before, test } from 'node:test';
import { freePort, get, httpBackend, sleep, type HttpBackend } from '../helpers/backends.ts';
import { penctl, startPen } from '../helpers/pen.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-health-config-'));
let a: HttpBackend;
let b: HttpBackend;
before(async () => {
  [a, b] = [await httpBackend('A'), await httpBackend('B')];
});
after(async () => {
  await Promise.all([a.close(), b.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const ask = (ctl: string, command: string) => penctl(ctl, command.split(' ')).stdout;

test('SIGHUP with an edited -F file reproduces its checks and drain states', async () => {
  const cfg = join(dir, 'hup.cfg');
  const out = join(dir, 'written.cfg');
  const servers = `server 0 address 127.0.0.1 port ${a.port}\nserver 1 address 127.0.0.1 port ${b.port}\n`;
  writeFileSync(cfg, `${servers}health tcp interval 1 fall 1\n`);
  const [port, cport] = [await freePort(), await freePort()];
  const ctl = `127.0.0.1:${cport}`;
  const pen = await startPen(['-u', 'root', '-r', '-C', ctl, '-F', cfg, `127.0.0.1:${port}`], { waitPort: port });
  try {
    assert.equal(ask(ctl, 'health'), 'tcp interval 1 timeout 2 rise 2 fall 1\n');
    writeFileSync(cfg, `${servers}health http /healthz interval 2\nserver 0 drain on\nserver 1 health tcp rise 1\n`);
    pen.child.kill('SIGHUP');
    let written = '';
    for (let i = 0; i < 100 && !written.includes('server 0 drain on'); i++) {
      await sleep(50);
      ask(ctl, `write ${out}`);
      written = existsSync(out) ? readFileSync(out, 'latin1') : '';
    }
    assert.ok(written.endsWith('health http /healthz interval 2\nserver 0 drain on\nserver 1 health tcp rise 1\n'), written);
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) bodies.add(await get(port));
    assert.deepEqual([...bodies], ['B'], 'the drained server gets no new client');
    // a fresh start from the written file has the same checks and drain states
    await pen.stop();
    const again = await startPen(['-u', 'root', '-r', '-C', ctl, '-F', out, `127.0.0.1:${port}`], { waitPort: port });
    try {
      ask(ctl, `write ${out}`);
      assert.equal(readFileSync(out, 'latin1').split('\n').slice(1).join('\n'), written.split('\n').slice(1).join('\n'));
      assert.equal(await get(port), 'B');
    } finally {
      await again.stop();
    }
  } finally {
    await pen.stop();
  }
});

test('a health line in a -F file checks the servers given on the command line', async () => {
  // the file runs before pen.ts adds the command line's servers: their checks must start too
  const cfg = join(dir, 'health-only.cfg');
  writeFileSync(cfg, 'health tcp interval 1\n');
  let accepted = 0;
  const probed: NetServer = createServer((sock) => { accepted += 1; sock.destroy(); });
  await new Promise<void>((resolve) => probed.listen(0, '127.0.0.1', resolve));
  const probedPort = (probed.address() as { port: number }).port;
  const port = await freePort();
  const pen = await startPen(['-r', '-F', cfg, `127.0.0.1:${port}`, `127.0.0.1:${probedPort}`], { waitPort: port });
  try {
    for (let i = 0; i < 40 && accepted < 2; i++) await sleep(100);
    assert.ok(accepted >= 2, `${accepted} checks reached the server in 4 s, no client connected`);
  } finally {
    await pen.stop();
    probed.close();
  }
});

test('C pen reads a file with health and drain lines and balances over its servers', { skip: !existsSync('/usr/bin/pen') && 'no C pen' }, async () => {
  const cfg = join(dir, 'for-c.cfg');
  const [port, cport] = [await freePort(), await freePort()];
  const ctl = `127.0.0.1:${cport}`;
  const ours = await startPen(['-u', 'root', '-r', '-C', ctl, `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], { waitPort: port });
  try {
    for (const c of ['health http /healthz 2xx interval 3', 'server 1 health tcp fall 1', 'server 1 drain on', `write ${cfg}`]) ask(ctl, c);
  } finally {
    await ours.stop();
  }
  const c = await startPen(['-r', '-F', cfg, `127.0.0.1:${port}`], { waitPort: port, binary: '/usr/bin/pen' });
  try {
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) bodies.push(await get(port));
    assert.deepEqual(bodies, ['B', 'A', 'B', 'A', 'B', 'A'], 'C pen ignores drain and balances over both');
  } finally {
    await c.stop();
  }
});
