// The TCP listener is level-triggered: it accepts setMultiAccept(n) clients per wake-up (pen's -m,
// 1 by default) and leaves the rest to the next one. A listener that cannot accept (paused, or
// EMFILE) is switched off, so the engine waits instead of being told about it on every epoll_wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { echoServer, harness, sleep } from './harness.ts';

/** Connect n clients that wait (the listener is paused): their connects complete in the backlog. */
async function queued(port: number, n: number): Promise<net.Socket[]> {
  const cs = Array.from({ length: n }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
  await Promise.all(cs.map((c) => new Promise((r) => c.once('connect', r))));
  return cs;
}

/** Resume the paused listener and give the batch number of each select that follows. */
async function acceptBatches(h: ReturnType<typeof harness>, id: number, n: number): Promise<number[]> {
  const seen: number[] = [];
  h.choose = () => { seen.push(h.eng.stats().batches); return 0; };
  h.eng.pauseListener(id, false);
  for (let i = 0; i < 200 && seen.length < n; i++) await sleep(10);
  assert.equal(seen.length, n, 'every waiting client was accepted');
  return seen;
}

test('one accept per wake-up by default, up to setMultiAccept(n) after', async () => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  try {
    const { id, port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    h.eng.pauseListener(id, true);
    let cs = await queued(port, 4);
    const one = await acceptBatches(h, id, 4);
    assert.equal(new Set(one).size, 4, `one client per batch: ${one.join(',')}`);
    for (const c of cs) c.destroy();
    await h.waitClosed(4);

    h.eng.setMultiAccept(100);
    h.eng.pauseListener(id, true);
    cs = await queued(port, 4);
    const many = await acceptBatches(h, id, 4);
    assert.equal(new Set(many).size, 1, `all four in one batch: ${many.join(',')}`);
    for (const c of cs) c.destroy();
    await h.waitClosed(8);
    assert.throws(() => h.eng.setMultiAccept(0), RangeError);
    assert.throws(() => (h.eng.setMultiAccept as (n: unknown) => void)('2'), RangeError);
  } finally { h.destroy(); await be.close(); }
});

test('a paused listener with clients waiting raises no event (level-triggered, it would spin)', async () => {
  const h = harness([{ address: '127.0.0.1', port: 9 }]);
  try {
    const { id, port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    h.eng.pauseListener(id, true);
    const cs = await queued(port, 3);
    const batches = h.eng.stats().batches;
    await sleep(200);
    assert.equal(h.eng.stats().batches, batches, 'no wake-up while paused');
    assert.equal(h.selects.length, 0);
    for (const c of cs) c.destroy();
  } finally { h.destroy(); }
});

/** The listener's accept queue as the kernel reports it (ss's Recv-Q), for a failure message. */
const backlog = (port: number): string =>
  spawnSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).stdout?.trim().split(/\s+/)[1] ?? '?';

const softLimit = (): { soft: number; hard: string } => {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').split(/\s{2,}/).slice(1, 3);
  return { soft: Number(soft), hard: hard ?? '' };
};

test('EMFILE on accept switches the listener off until JS resumes it; the waiting client is served then', async (t) => {
  if (spawnSync('prlimit', ['--version']).status !== 0) return t.skip('prlimit (util-linux) is needed');
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }]);
  const { soft, hard } = softLimit();
  const fillers: number[] = [];
  // spawnSync needs a dozen free descriptors (pipes, the child's own), so restoring the limit
  // only works once fillers are closed: the limit is set above the highest open fd so there are
  // always at least FILLERS of them, whatever holes the process's fd table has (CI had none)
  const FILLERS = 32;
  const restore = () => {
    while (fillers.length) closeSync(fillers.pop()!);
    return spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${soft}:${hard}`]).status;
  };
  try {
    const { id, port } = h.eng.listen('tcp', '127.0.0.1', 0, 128);
    h.eng.pauseListener(id, true);
    const cs = await queued(port, 1);
    await sleep(50);   // the sockets that earlier tests destroyed are closed by now
    // no free descriptor left: every number below the limit is taken
    const top = Math.max(...readdirSync('/proc/self/fd').map(Number)) + 1 + FILLERS;
    assert.equal(spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${top}:${hard}`]).status, 0);
    for (let i = 0; i < top; i++) {
      try { fillers.push(openSync('/dev/null', 'r')); } catch { break; }
    }
    h.eng.pauseListener(id, false);
    await sleep(100);
    const batches = h.eng.stats().batches;
    await sleep(200);
    const st = h.eng.stats();
    assert.equal(restore(), 0, 'prlimit restores the descriptor limit');
    assert.equal(st.acceptErrors, 1, 'one failed accept, then the listener is off');
    assert.ok(st.batches - batches <= 1, `${st.batches - batches} wake-ups while accept fails: it must not spin`);
    assert.equal(h.selects.length, 0);
    // what the balancer's sweep does: resume whenever acceptErrors moved since it last looked
    let seenErrors = -1;
    for (let i = 0; i < 500 && h.selects.length < 1; i++) {
      const errors = h.eng.stats().acceptErrors;
      if (errors !== seenErrors) { seenErrors = errors; h.eng.pauseListener(id, false); }
      await sleep(10);
    }
    const after = h.eng.stats();
    assert.equal(h.selects.length, 1, `the client that waited is accepted once resumed (acceptErrors ${after.acceptErrors}, ` +
      `accepted ${after.accepted}, batches ${after.batches - st.batches} since, backlog ${backlog(port)})`);
    for (const c of cs) c.destroy();
    await h.waitClosed(1);
  } finally { restore(); h.destroy(); await be.close(); }
});
