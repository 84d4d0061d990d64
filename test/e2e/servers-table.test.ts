// The server table in chromium: a stats tick that changes only the per-second numbers updates them
// in the DOM without rendering the table or its rows again; a change of what a row is (its state)
// renders that row and no other. Counted with Preact's options.vnode (servers-table-harness.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import type { ServerSnapshot, Snapshot } from '../../shared/snapshot.ts';
import { ROOT } from '../helpers/pen.ts';
import { haveChromium, launch, openPage, type WatchedPage } from './browser.ts';

const skip = haveChromium() ? false : 'no chromium at /usr/bin/chromium (.ci/run installs it)';

function server(index: number, n: number, over: Partial<ServerSnapshot> = {}): ServerSnapshot {
  return {
    index, address: `127.0.0.${index + 1}`, port: 80, state: 'up', blacklistLeft: 0, status: 0,
    connections: n, maxc: 100, hard: 0, weight: 1, prio: 0, acl: -1,
    sx: 1000 * n, rx: 2000 * n, sxRate: 10 * n, rxRate: 20 * n, drain: false,
    health: {
      check: { kind: 'tcp' }, own: false, state: 'up', lastCheck: 1_700_000_000_000 + n, durationMs: n,
      lastError: null, successes: n, failures: 0, checks: n, failuresTotal: 0,
    },
    ...over,
  } as ServerSnapshot;
}

/** A frame whose numbers are n: the same rows, every counter and rate moved. */
function frame(n: number, over: Partial<ServerSnapshot> = {}): Snapshot {
  return {
    time: 1_700_000_000 + n, timeMs: 1_700_000_000_000 + n * 1000, pid: 1, uptime: n, listen: null, protocol: 'tcp',
    mode: { tracking: false, roundrobin: true, hash: false, weight: false, prio: false, stubborn: false },
    current: n % 2, servers: [server(0, n, over), server(1, n + 1)], emergency: null, abuse: null,
    clients: [], clientsMax: 0, connections: [], connMax: 0,
    totals: {
      connections: 0, accepted: n, dropped: 0, fdPauses: 0, logDropped: 0, syslogDropped: 0,
      sx: 0, rx: 0, sxRate: 0, rxRate: 0,
    },
    eventLoopDelayMs: 0, datapath: { path: 'portable', reason: 'test' },
  } as unknown as Snapshot;
}

describe('servers table renders', { skip, timeout: 60_000 }, () => {
  let browser: Browser;
  let w: WatchedPage;
  type H = { harness: { renders(): Record<string, number>; frame(f: unknown): void } };
  const counts = () => w.page.evaluate(() => (window as unknown as H).harness.renders());
  const send = (s: Snapshot) => w.page.evaluate((f) => (window as unknown as H).harness.frame(f), s);
  const text = (id: string) => w.page.evaluate((i) => document.querySelector(`[data-testid=${i}]`)?.textContent ?? null, id);

  before(async () => {
    const out = await build({
      entryPoints: [`${ROOT}test/e2e/servers-table-harness.ts`], bundle: true, write: false, format: 'iife',
      outdir: '/nonexistent', jsx: 'automatic', jsxImportSource: 'preact', logLevel: 'warning', target: 'es2022',
    });
    const js = out.outputFiles.find((f) => f.path.endsWith('.js'));
    assert.ok(js);
    browser = await launch();
    w = await openPage(browser);
    await w.page.setContent('<!doctype html><div id="app"></div>');
    await w.page.addScriptTag({ content: js.text });
  });

  after(async () => {
    await browser?.close();
  });

  it('updates the numbers of a tick in place, without rendering the table or a row', async () => {
    await send(frame(1));
    await w.page.getByTestId('server-row-1').waitFor();
    const first = await counts();
    assert.deepEqual(first, { servers: 1, 'server-row-0': 1, 'server-row-1': 1 });
    // the same DOM row across ticks
    await w.page.evaluate(() => { (window as unknown as { row: Element | null }).row = document.querySelector('[data-testid=server-row-0]'); });
    for (const n of [2, 3, 4]) {
      await send(frame(n));
      assert.equal(await text('server-conns-0'), String(n));
      assert.equal(await text('server-conns-1'), String(n + 1));
      assert.equal(await text('current'), String(n % 2));
    }
    const title = await w.page.getByTestId('server-health-0').getAttribute('title');
    assert.match(title ?? '', /\(4 ms\)/, 'the check\'s title follows the ticks');
    const row = await w.page.getByTestId('server-row-0').innerText();
    for (const shown of ['3.9 KiB', '40 B/s', '7.8 KiB', '80 B/s']) assert.ok(row.includes(shown), `${shown} in ${row}`);
    assert.deepEqual(await counts(), first, 'three ticks rendered no row and not the table');
    assert.equal(await w.page.evaluate(() => (window as unknown as { row: Element | null }).row === document.querySelector('[data-testid=server-row-0]')), true);
  });

  it('renders one row again when what it is changes, and only that row', async () => {
    const before = await counts();
    await send(frame(5, { state: 'blacklisted', blacklistLeft: 30 }));
    assert.equal(await w.page.getByTestId('server-row-0').getAttribute('data-state'), 'blacklisted');
    const after = await counts();
    assert.equal(after['server-row-0'], (before['server-row-0'] ?? 0) + 1);
    assert.equal(after['server-row-1'], before['server-row-1']);
    assert.equal(after.servers, before.servers);
    assert.match(await w.page.getByTestId('server-row-0').innerText(), /blacklisted 30s/);
    await send(frame(6, { state: 'blacklisted', blacklistLeft: 29 }));
    assert.match(await w.page.getByTestId('server-row-0').innerText(), /blacklisted 29s/, 'the countdown is a signal');
    assert.deepEqual(await counts(), after);
    assert.deepEqual(w.errors, []);
  });
});
