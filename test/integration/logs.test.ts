// In the foreground everything pen says goes to stderr, one whole line per message: pen's debug
// lines in pen's text, the admin plane's pino lines as JSON. That is what journald (or any log
// collector) needs to keep them apart, also when it falls behind and the pipe fills up. The -l
// request log is written off the data path: in order, whole, and counted when it cannot keep up.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, get, httpBackend, sleep } from '../helpers/backends.ts';
import { penctl, startPen } from '../helpers/pen.ts';

const DEBUG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: /;

test('debug lines and admin log lines stay whole on stderr while its reader falls behind', async () => {
  const [port, admin] = [await freePort(), await freePort()];
  const pen = await startPen(['-d', '--admin', `127.0.0.1:${admin}`, `127.0.0.1:${port}`, '127.0.0.1:1'], { waitPort: admin });
  const n = 300;
  try {
    // a slow log reader: stop reading stderr, so the pipe fills while both kinds of line are written
    pen.child.stderr!.pause();
    const replies = Array.from({ length: n }, (_, i) => fetch(`http://127.0.0.1:${admin}/penctl`, {
      method: 'POST', headers: { 'content-type': 'text/plain' },
      body: `server ${i + 1} address 127.0.${Math.floor(i / 250)}.${(i % 250) + 2} max ${'1'.repeat(1 + (i % 5))}`,
      signal: AbortSignal.timeout(30000),
    }));
    await sleep(1500);
    pen.child.stderr!.resume();
    for (const r of await Promise.all(replies)) assert.equal(r.status, 200, await r.text());
  } finally {
    await pen.stop();
  }
  // pen has exited; read what is still on its way through the pipe (bounded)
  const stderr = pen.child.stderr!;
  if (!stderr.readableEnded) await Promise.race([once(stderr, 'end'), sleep(10000)]);
  assert.equal(pen.stdout(), '', 'nothing on stdout');
  const lines = pen.stderr().split('\n').filter((l) => l !== '');
  let changes = 0;
  let debugs = 0;
  for (const line of lines) {
    if (DEBUG_LINE.test(line)) {
      assert.match(line, /^[^{}]*$/, `a debug line with JSON inside: ${line}`);
      debugs += 1;
      continue;
    }
    let json: { mod?: string; msg?: string };
    try {
      json = JSON.parse(line) as typeof json;
    } catch {
      assert.fail(`neither a debug line nor a JSON line: ${line.slice(0, 300)}`);
    }
    assert.equal(json.mod, 'admin', line);
    if (json.msg === 'admin change') changes += 1;
  }
  assert.ok(lines.some((l) => /^\S+ \S+: pen-ts \S+ starting$/.test(l)), "-d keeps pen's text");
  assert.equal(changes, n, 'one log line per change');
  assert.ok(debugs >= n, 'one debug line per server address change');
});

test('-l: every request line reaches the file in order and in pen\'s format, through `log FILE` and SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pen-reqlog-'));
  const backend = await httpBackend('A');
  const [port, cport] = [await freePort(), await freePort()];
  const [first, second] = [join(dir, 'first.log'), join(dir, 'second.log')];
  const pen = await startPen(['-u', 'root', '-C', `127.0.0.1:${cport}`, '-l', first, `127.0.0.1:${port}`, `127.0.0.1:${backend.port}`], { waitPort: port });
  const N = 150;
  const numbers = (file: string) => readFileSync(file, 'latin1').split('\n').slice(0, -1).map((l) => {
    const m = /^127\.0\.0\.1 \d{10} 127\.0\.0\.1 GET \/r(\d+) HTTP\/1\.1$/.exec(l);
    assert.ok(m, `pen's line format: ${JSON.stringify(l)}`);
    return Number(m[1]);
  });
  try {
    // (the readiness probe sends nothing, so it makes no line)
    for (let i = 0; i < N; i++) assert.equal(await get(port, { path: `/r${i}` }), 'A');
    assert.equal(penctl(`127.0.0.1:${cport}`, ['log', second]).stdout, `${second}\n`);
    for (let i = N; i < 2 * N; i++) assert.equal(await get(port, { path: `/r${i}` }), 'A');
  } finally {
    assert.equal(await pen.stop(), 0);
    await backend.close();
  }
  try {
    assert.deepEqual(numbers(first), [...Array(N).keys()], 'the first file has the first lines, all of them');
    assert.deepEqual(numbers(second), Array.from({ length: N }, (_, i) => N + i), 'the second the rest, written out at exit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-l onto a full disk drops the lines and counts them in /stats and /metrics, and forwarding goes on', async () => {
  const backend = await httpBackend('A');
  const [port, admin] = [await freePort(), await freePort()];
  const pen = await startPen(['-l', '/dev/full', '--admin', `127.0.0.1:${admin}`, `127.0.0.1:${port}`, `127.0.0.1:${backend.port}`], { waitPort: admin });
  try {
    const stats = async () => ((await (await fetch(`http://127.0.0.1:${admin}/stats`)).json()) as { totals: { logDropped: number; syslogDropped: number } }).totals;
    const before = (await stats()).logDropped;
    const N = 40;
    for (let i = 0; i < N; i++) assert.equal(await get(port, { path: `/f${i}` }), 'A');
    let totals = await stats();
    for (let k = 0; k < 40 && totals.logDropped < before + N; k++) {
      await sleep(50);
      totals = await stats();
    }
    assert.equal(totals.logDropped - before, N, 'one dropped line per request');
    assert.equal(totals.syslogDropped, 0);
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    assert.match(metrics, new RegExp(`^pen_request_log_dropped_lines_total ${totals.logDropped}$`, 'm'));
    assert.match(metrics, /^pen_syslog_dropped_lines_total 0$/m);
  } finally {
    await pen.stop();
    await backend.close();
  }
});
