// The dashboard in a real browser (Debian chromium via playwright-core) against a real pen process
// with real HTTP backends: it loads without console errors, shows every server, follows live
// traffic, and its controls change what the balancer does.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { freePort, get, httpBackend, sleep, type HttpBackend } from '../helpers/backends.ts';
import { startPen, type PenProcess } from '../helpers/pen.ts';
import { ensureDashboardBuilt, launch, openPage, screenshot, haveChromium, type WatchedPage } from './browser.ts';

const skip = haveChromium() ? false : 'no chromium at /usr/bin/chromium (.ci/run installs it)';

interface Fixture {
  a: HttpBackend;
  b: HttpBackend;
  listen: number;
  admin: number;
  pen: PenProcess;
}

async function startFixture(): Promise<Fixture> {
  const [a, b] = await Promise.all([httpBackend('a'), httpBackend('b')]);
  const listen = await freePort();
  const admin = await freePort();
  const pen = await startPen(
    ['--admin', `127.0.0.1:${admin}`, `127.0.0.1:${listen}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`],
    { waitPort: admin },
  );
  return { a, b, listen, admin, pen };
}

async function restJson<T>(port: number, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as T;
}

/** n sequential GETs through pen; the backend names that answered */
async function through(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await get(port));
  return out;
}

describe('dashboard against a running balancer', { skip, timeout: 120_000 }, () => {
  let fx: Fixture;
  let browser: Browser;
  let w: WatchedPage;

  before(async () => {
    await ensureDashboardBuilt();
    fx = await startFixture();
    browser = await launch();
    w = await openPage(browser, { width: 1440, height: 900 });
    await w.page.goto(`http://127.0.0.1:${fx.admin}/`);
  });

  after(async () => {
    await browser?.close();
    await fx?.pen.stop();
    await fx?.a.close();
    await fx?.b.close();
  });

  it('loads live and shows every server with its address', async () => {
    const { page } = w;
    await page.locator('[data-testid=link]', { hasText: 'live' }).waitFor();
    for (const [i, backend] of [fx.a, fx.b].entries()) {
      const addr = page.getByTestId(`server-addr-${i}`);
      await addr.waitFor();
      assert.equal(await addr.textContent(), `127.0.0.1:${backend.port}`);
      assert.equal(await page.getByTestId(`server-row-${i}`).getAttribute('data-state'), 'up');
    }
    assert.equal(await page.getByTestId('listen').textContent(), `127.0.0.1:${fx.listen}`);
    assert.equal(await page.getByTestId('mode-name').textContent(), 'tracking');
    assert.deepEqual(w.errors, []);
  });

  it('reflects live traffic: accepted connections and an open connection on its server', async () => {
    const { page } = w;
    const accepted = async () => Number((await page.getByTestId('total-accepted').locator('div').nth(1).textContent())!.replace(/,/g, ''));
    const before = await accepted();
    const answers = await through(fx.listen, 6);
    assert.equal(answers.filter((x) => x === 'a' || x === 'b').length, 6);
    await page.waitForFunction(
      (min) => Number(document.querySelector('[data-testid=total-accepted] div:nth-child(2)')?.textContent?.replace(/,/g, '')) >= min,
      before + 6, { timeout: 10_000 },
    );

    // a connection held open shows up in the connections table and on its server's count
    const held = net.connect({ host: '127.0.0.1', port: fx.listen });
    held.on('error', () => {});
    try {
      await page.locator('[data-testid^=conn-row-]').first().waitFor({ timeout: 10_000 });
      await page.waitForFunction(() => {
        const n = ['server-conns-0', 'server-conns-1'].map((id) => Number(document.querySelector(`[data-testid=${id}]`)?.textContent));
        return n.reduce((sum, c) => sum + c, 0) >= 1;
      }, undefined, { timeout: 10_000 });
      assert.match((await page.getByTestId('connections').textContent())!, /127\.0\.0\.1/);
    } finally {
      held.destroy();
    }
    await page.locator('[data-testid^=conn-row-]').first().waitFor({ state: 'detached', timeout: 10_000 });
    assert.deepEqual(w.errors, []);
  });

  it('blacklisting a server from the dashboard moves new connections to the other server', async () => {
    const { page } = w;
    // tracking mode: this client sticks to one server
    const first = await through(fx.listen, 4);
    assert.equal(new Set(first).size, 1, `tracking should keep one server, got ${first}`);
    const sticky = first[0] === 'a' ? 0 : 1;
    const other = 1 - sticky;
    const otherName = other === 0 ? 'a' : 'b';

    await page.getByTestId(`blacklist-${sticky}`).click();
    const dialog = page.getByTestId('blacklist-dialog');
    await dialog.waitFor();
    await page.getByTestId('blacklist-seconds').fill('60');
    await page.getByTestId('blacklist-confirm').click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('toast-ok').filter({ hasText: `blacklist server ${sticky} for 60s` }).waitFor();
    await page.locator(`[data-testid=server-row-${sticky}][data-state=blacklisted]`).waitFor({ timeout: 10_000 });
    assert.match((await page.getByTestId(`server-row-${sticky}`).textContent())!, /blacklisted\s*\d+s/);

    // the balancer agrees, and real requests now go to the other server
    const bl = await restJson<{ seconds: number }>(fx.admin, 'GET', `/servers/${sticky}/blacklist`);
    assert.ok(bl.seconds > 50 && bl.seconds <= 60, `blacklist seconds ${bl.seconds}`);
    const after = await through(fx.listen, 8);
    assert.deepEqual(after, Array(8).fill(otherName));
    await page.waitForTimeout(1200); // one more snapshot, so the screenshot shows the traffic
    await screenshot(page, 'dashboard-blacklisted');
    assert.deepEqual(w.errors, []);
  });

  it('whitelisting from the dashboard clears the blacklist', async () => {
    const { page } = w;
    const row = page.locator('[data-state=blacklisted]');
    const index = Number((await row.getAttribute('data-testid'))!.replace('server-row-', ''));
    await page.getByTestId(`whitelist-${index}`).click();
    await page.locator(`[data-testid=server-row-${index}][data-state=up]`).waitFor({ timeout: 10_000 });
    const bl = await restJson<{ seconds: number }>(fx.admin, 'GET', `/servers/${index}/blacklist`);
    assert.equal(bl.seconds, 0);
    assert.deepEqual(w.errors, []);
  });

  it('switches to round robin and back, as the API reports', async () => {
    const { page } = w;
    await page.getByTestId('mode-roundrobin').click();
    await page.locator('[data-testid=mode-name]', { hasText: 'round robin' }).waitFor({ timeout: 10_000 });
    assert.equal((await restJson<{ roundrobin: boolean }>(fx.admin, 'GET', '/mode')).roundrobin, true);
    const spread = new Set(await through(fx.listen, 4));
    assert.deepEqual([...spread].sort(), ['a', 'b']);
    await page.getByTestId('mode-tracking').click();
    await page.locator('[data-testid=mode-name]', { hasText: /^tracking$/ }).waitFor({ timeout: 10_000 });
    assert.equal((await restJson<{ roundrobin: boolean }>(fx.admin, 'GET', '/mode')).roundrobin, false);
    assert.deepEqual(w.errors, []);
  });

  it('edits a server, and shows the error when write has no file to write to', async () => {
    const { page } = w;
    await page.getByTestId('edit-1').click();
    await page.getByTestId('server-editor').waitFor();
    await page.getByTestId('edit-weight').fill('7');
    await page.getByTestId('edit-prio').fill('2');
    await page.getByTestId('edit-save').click();
    await page.getByTestId('server-editor').waitFor({ state: 'detached' });
    const srv = await restJson<{ weight: number; prio: number }>(fx.admin, 'GET', '/servers/1');
    assert.equal(srv.weight, 7);
    assert.equal(srv.prio, 2);

    // `write` without a -F file is refused by pen: the error is shown, after the confirmation
    await page.getByTestId('write').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await page.getByTestId('confirm-ok').click();
    const toast = page.getByTestId('toast-error').filter({ hasText: 'write' });
    await toast.waitFor();
    assert.match((await toast.textContent())!, /Could not write the configuration: write: no file/);
    // the browser logs the refused request itself; that one line is all there is
    assert.deepEqual(w.errors, ['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    w.errors.length = 0;
  });

  it('asks before closing a connection, then closes it', async () => {
    const { page } = w;
    const held = net.connect({ host: '127.0.0.1', port: fx.listen });
    held.on('error', () => {});
    const closed = new Promise<void>((resolve) => held.on('close', () => resolve()));
    try {
      const row = page.locator('[data-testid^=conn-row-]').first();
      await row.waitFor({ timeout: 10_000 });
      await row.getByRole('button', { name: 'Close' }).click();
      await page.getByTestId('confirm-dialog').waitFor();
      await page.getByTestId('confirm-ok').click();
      await Promise.race([closed, sleep(5000).then(() => { throw new Error('the connection was not closed'); })]);
    } finally {
      held.destroy();
    }
    assert.deepEqual(w.errors, []);
  });

  it('a server at its soft limit shows "at limit"', async () => {
    const { page } = w;
    const held = net.connect({ host: '127.0.0.1', port: fx.listen });
    held.on('error', () => {});
    try {
      await page.waitForFunction(() => ['0', '1'].some((i) => document.querySelector(`[data-testid=server-conns-${i}]`)?.textContent === '1'), undefined, { timeout: 10_000 });
      const busy = (await page.getByTestId('server-conns-0').textContent()) === '1' ? 0 : 1;
      await page.getByTestId(`edit-${busy}`).click();
      await page.getByTestId('edit-max').fill('1');
      await page.getByTestId('edit-save').click();
      await page.getByTestId('server-editor').waitFor({ state: 'detached' });
      await page.locator(`[data-testid=server-row-${busy}][data-state=limit]`).waitFor({ timeout: 10_000 });
      assert.match((await page.getByTestId(`server-row-${busy}`).textContent())!, /at limit/);
      await restJson(fx.admin, 'PATCH', `/servers/${busy}`, { max: 0 });
    } finally {
      held.destroy();
    }
    assert.deepEqual(w.errors, []);
  });

  it('drains a server from its button: new connections go to the other one; undrain puts it back', async () => {
    const { page } = w;
    const first = await get(fx.listen);
    const index = first === 'a' ? 0 : 1;
    const other = first === 'a' ? 'b' : 'a';
    await page.getByTestId(`drain-${index}`).click();
    await page.getByTestId(`server-drain-${index}`).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId(`drain-${index}`).textContent(), 'Undrain');
    assert.equal((await restJson<{ drain: boolean }>(fx.admin, 'GET', `/servers/${index}`)).drain, true);
    assert.deepEqual(await through(fx.listen, 4), Array(4).fill(other), 'the returning client goes elsewhere');
    await page.getByTestId(`drain-${index}`).click();
    await page.getByTestId(`server-drain-${index}`).waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal((await restJson<{ drain: boolean }>(fx.admin, 'GET', `/servers/${index}`)).drain, false);
    assert.deepEqual(w.errors, []);
  });

  it('sets health checks in the editor and shows each server\'s verdict, with the reason it failed', async () => {
    const { page } = w;
    assert.equal(await page.getByTestId('server-health-1').getAttribute('data-health'), 'off');
    // server 1: an http check its backend passes
    await page.getByTestId('health-1').click();
    await page.getByTestId('health-editor').waitFor();
    await page.getByTestId('health-kind').selectOption('http');
    await page.getByTestId('health-path').fill('/healthz');
    await page.getByTestId('health-interval').fill('1');
    await page.getByTestId('health-rise').fill('1');
    await page.getByTestId('health-save').click();
    await page.getByTestId('health-editor').waitFor({ state: 'detached' });
    await page.locator('[data-testid=server-health-1][data-health=up]').waitFor({ timeout: 10_000 });
    // server 0: expecting 500 from a backend that answers 200 takes it down
    await page.getByTestId('health-0').click();
    await page.getByTestId('health-kind').selectOption('http');
    await page.getByTestId('health-path').fill('/healthz');
    await page.getByTestId('health-status').fill('500');
    await page.getByTestId('health-interval').fill('1');
    await page.getByTestId('health-fall').fill('1');
    await page.getByTestId('health-save').click();
    await page.locator('[data-testid=server-health-0][data-health=down]').waitFor({ timeout: 10_000 });
    assert.match((await page.getByTestId('server-health-0').getAttribute('title'))!, /status 200, expected 500/);
    assert.deepEqual(await through(fx.listen, 4), Array(4).fill('b'), 'the down server gets no client');
    await screenshot(page, 'dashboard-health');
    // a bad value is refused with the balancer's reason, and changes nothing
    await page.getByTestId('health-0').click();
    await page.getByTestId('health-fall').fill('1000');
    await page.getByTestId('health-save').click();
    await page.getByTestId('health-editor').locator('[role=alert]', { hasText: /fall/ }).waitFor({ timeout: 10_000 });
    await page.getByTestId('health-editor').getByText('Cancel').click();
    // back to the default (off) for both
    for (const i of [0, 1]) {
      await page.getByTestId(`health-${i}`).click();
      await page.getByTestId('health-use-default').click();
      await page.locator(`[data-testid=server-health-${i}][data-health=off]`).waitFor({ timeout: 10_000 });
    }
    const h = await restJson<{ own: unknown; check: { kind: string } }>(fx.admin, 'GET', '/servers/0/health');
    assert.equal(h.own, null);
    assert.equal(h.check.kind, 'off');
    // the refused value's 400, and nothing else
    assert.deepEqual(w.errors, ['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    w.errors.length = 0;
  });

  it('adds an access list entry and empties the list again', async () => {
    const { page } = w;
    const form = page.getByTestId('acl-form');
    await form.getByLabel('list').selectOption('2');
    await form.getByLabel('action').selectOption('deny');
    await page.getByTestId('acl-address').fill('10.0.0.0');
    await form.getByLabel('mask').fill('255.0.0.0');
    await page.getByTestId('acl-add').click();
    await page.getByTestId('acl-clear-2').waitFor({ timeout: 10_000 });
    assert.match((await page.getByTestId('acls').textContent())!, /ACL 2.*deny 10\.0\.0\.0 255\.0\.0\.0/);
    const lists = await restJson<{ index: number; entries: { line: string }[] }[]>(fx.admin, 'GET', '/acls');
    assert.deepEqual(lists[2]?.entries.map((e) => e.line), ['acl 2 deny 10.0.0.0 255.0.0.0']);

    await page.getByTestId('acl-clear-2').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('acl-clear-2').waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal((await restJson<{ entries: unknown[] }[]>(fx.admin, 'GET', '/acls'))[2]?.entries.length, 0);
    assert.deepEqual(w.errors, []);
  });

  it('fits a 390px-wide screen', async () => {
    const narrow = await openPage(browser, { width: 390, height: 844 });
    try {
      await narrow.page.goto(`http://127.0.0.1:${fx.admin}/`);
      await narrow.page.locator('[data-testid=link]', { hasText: 'live' }).waitFor();
      await narrow.page.getByTestId('server-row-1').waitFor();
      for (let i = 0; i < 3; i++) { // a little traffic, so the screenshot shows some
        await through(fx.listen, 3);
        await narrow.page.waitForTimeout(1000);
      }
      const width = await narrow.page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `page is ${width}px wide`);
      assert.ok(await narrow.page.getByTestId('blacklist-0').isVisible());
      await screenshot(narrow.page, 'dashboard-narrow');
      assert.deepEqual(narrow.errors, []);
    } finally {
      await narrow.context.close();
    }
  });

  it('shows "disconnected" when the balancer goes away and comes back live when it returns', async () => {
    const { page } = w;
    await fx.pen.stop();
    await page.getByTestId('disconnected').waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('link').textContent(), 'disconnected');
    await screenshot(page, 'dashboard-disconnected', false);
    fx.pen = await startPen(
      ['--admin', `127.0.0.1:${fx.admin}`, `127.0.0.1:${fx.listen}`, `127.0.0.1:${fx.a.port}`, `127.0.0.1:${fx.b.port}`],
      { waitPort: fx.admin },
    );
    await page.locator('[data-testid=link]', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    await page.getByTestId('disconnected').waitFor({ state: 'detached' });
    await page.getByTestId('events').getByText('live stream back').waitFor();
    // while the server was gone the browser itself logs the refused connections; nothing else
    const ours = w.errors.filter((e) => !/ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(e));
    assert.deepEqual(ours, []);
  });
});
