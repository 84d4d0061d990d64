// The pen side of a keepalived pair, on loopback: GET /healthz answers 200 only while pen can
// forward; --health-file says 0 while serving and 1 once stopping; --drain keeps forwarding after
// SIGTERM (so VRRP can move the address first) and then stops.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { after, test } from 'node:test';
import { deadPort, freePort, get, httpBackend } from '../helpers/backends.ts';
import { runPen, startPen } from '../helpers/pen.ts';
import { waitFor } from '../helpers/netns.ts';

const dir = mkdtempSync(`${os.tmpdir()}/pen-ha-health-`);
after(() => rmSync(dir, { recursive: true, force: true }));

async function healthz(port: number): Promise<{ status: number; body: { ok: boolean; reason?: string } }> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: r.status, body: (await r.json()) as { ok: boolean; reason?: string } };
}

test('GET /healthz is 200 while a server is up and 503 with the reason when none is', async () => {
  const be = await httpBackend('be');
  const [listen, admin, dead] = [await freePort(), await freePort(), await deadPort()];
  const pen = await startPen(['--admin', String(admin), `127.0.0.1:${listen}`, `127.0.0.1:${be.port}`, `127.0.0.1:${dead}`], { waitPort: admin });
  try {
    assert.deepEqual(await healthz(admin), { status: 200, body: { ok: true } });
    // the dead server gets blacklisted when tried; the live one keeps the answer 200
    for (let i = 0; i < 4; i++) await get(listen);
    assert.equal((await healthz(admin)).status, 200);
    await be.close();
    for (let i = 0; i < 4; i++) await get(listen); // both refuse now: both blacklisted
    assert.deepEqual(await healthz(admin), { status: 503, body: { ok: false, reason: 'no server is up' } });
  } finally {
    await pen.stop();
    await be.close();
  }
});

test('SIGTERM with --drain: the health file says 1 and /healthz 503 at once, pen forwards until the drain ends, then exits', async () => {
  const be = await httpBackend('be');
  const [listen, admin] = [await freePort(), await freePort()];
  const file = `${dir}/health`;
  const pen = await startPen(['--admin', String(admin), '--health-file', file, '--drain', '1.5', `127.0.0.1:${listen}`, `127.0.0.1:${be.port}`], { waitPort: listen });
  try {
    assert.ok(existsSync(file), 'written before start-up ends (startPen waits for that)');
    assert.equal(readFileSync(file, 'utf8'), '0\n', 'serving');
    const t0 = Date.now();
    pen.child.kill('SIGTERM');
    assert.ok(await waitFor(() => readFileSync(file, 'utf8') === '1\n', 2000), 'the file says stopping at once');
    assert.deepEqual(await healthz(admin), { status: 503, body: { ok: false, reason: 'draining: stopping after SIGTERM' } });
    assert.equal(await get(listen), 'be', 'still forwarding while draining');
    const code = await new Promise<number | null>((resolve) => pen.child.once('exit', resolve));
    const took = Date.now() - t0;
    assert.equal(code, 0);
    assert.ok(took >= 1400 && took < 5000, `stopped after the drain (${took} ms)`);
    assert.equal(await get(listen), '', 'closed after the drain');
  } finally {
    await pen.stop();
    await be.close();
  }
});

test('without --drain SIGTERM stops at once, and the health file still says stopping', async () => {
  const be = await httpBackend('be');
  const listen = await freePort();
  const file = `${dir}/health-nodrain`;
  const pen = await startPen(['--health-file', file, `127.0.0.1:${listen}`, `127.0.0.1:${be.port}`], { waitPort: listen });
  try {
    const t0 = Date.now();
    assert.equal(await pen.stop('SIGTERM'), 0);
    assert.ok(Date.now() - t0 < 1400, 'no drain');
    assert.equal(readFileSync(file, 'utf8'), '1\n');
  } finally {
    await be.close();
  }
});

test('--drain and --peer refuse bad values before anything starts', () => {
  for (const [args, message] of [
    [['--drain', '61'], /--drain: expected seconds from 0 to 60/],
    [['--drain', 'soon'], /--drain: expected seconds/],
    [['--peer', 'ftp://x'], /--peer: expected the peer's admin URL/],
    [['--peer', 'http://user:pw@h:1'], /--peer: expected/],
  ] as const) {
    const r = runPen(['-f', ...args, '127.0.0.1:1', '127.0.0.1:2']);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, message);
  }
});
