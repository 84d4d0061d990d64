// In the foreground everything pen says goes to stderr, one whole line per message: pen's debug
// lines in pen's text, the admin plane's pino lines as JSON. That is what journald (or any log
// collector) needs to keep them apart, also when it falls behind and the pipe fills up.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { freePort, sleep } from '../helpers/backends.ts';
import { startPen } from '../helpers/pen.ts';

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
