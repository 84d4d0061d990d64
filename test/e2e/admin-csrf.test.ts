// The attack from issue 11, in a real browser: with `pen --admin 127.0.0.1:PORT` and no token
// file, a page from another origin (another loopback port) tries a no-cors fetch and a form post
// to POST /penctl, a cross-origin read, and a WebSocket to /stream. Nothing may change and
// nothing may be read. The dashboard itself keeps working on 127.0.0.1 and on localhost.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { freePort, httpBackend, type HttpBackend } from '../helpers/backends.ts';
import { startPen, type PenProcess } from '../helpers/pen.ts';
import { ensureDashboardBuilt, haveChromium, launch, openPage } from './browser.ts';

const skip = haveChromium() ? false : 'no chromium at /usr/bin/chromium (.ci/run installs it)';

/** The attacker's page: every attempt reports what it saw into window.results. */
function attackPage(admin: string, dir: string): string {
  const lines = ['server 0 blacklist 300', `write ${dir}/pwned.cfg`, `log ${dir}/pwned.log`, 'roundrobin'];
  return `<!doctype html><html><body>
<form id="f" method="POST" action="${admin}/penctl" enctype="text/plain" target="sink">
  <input name="server 0 blacklist 300 #" value="">
</form>
<iframe name="sink" id="sink"></iframe>
<script>
window.results = {};
(async () => {
  const r = window.results;
  r.noCors = [];
  for (const line of ${JSON.stringify(lines)}) {
    try {
      const res = await fetch('${admin}/penctl', { method: 'POST', mode: 'no-cors', body: line, headers: { 'Content-Type': 'text/plain' } });
      r.noCors.push(res.type);
    } catch (e) { r.noCors.push('error ' + e.message); }
  }
  try { const res = await fetch('${admin}/stats'); r.read = await res.text(); } catch (e) { r.read = 'blocked'; }
  try { const res = await fetch('${admin}/penctl', { method: 'POST', body: 'servers' }); r.readPost = await res.text(); } catch (e) { r.readPost = 'blocked'; }
  r.ws = await new Promise((resolve) => {
    const ws = new WebSocket('${admin.replace('http:', 'ws:')}/stream');
    const t = setTimeout(() => resolve('timeout'), 5000);
    ws.onmessage = (m) => { clearTimeout(t); resolve('message ' + String(m.data).slice(0, 40)); ws.close(); };
    ws.onerror = () => { clearTimeout(t); resolve('error'); };
  });
  await new Promise((resolve) => {
    document.getElementById('sink').onload = resolve;
    document.getElementById('f').submit();
    setTimeout(resolve, 5000);
  });
  r.done = true;
})();
</script></body></html>`;
}

describe('a page from another origin against the admin API', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let a: HttpBackend;
  let b: HttpBackend;
  let pen: PenProcess;
  let admin: number;
  let evil: http.Server;
  let evilPort: number;
  let browser: Browser;
  const adminGet = async (path: string) => (await fetch(`http://127.0.0.1:${admin}${path}`)).json() as Promise<Record<string, unknown>>;

  before(async () => {
    await ensureDashboardBuilt();
    dir = mkdtempSync(join(tmpdir(), 'pen-e2e-csrf-'));
    writeFileSync(join(dir, 'pen.cfg'), '');
    [a, b] = await Promise.all([httpBackend('a'), httpBackend('b')]);
    const listen = await freePort();
    admin = await freePort();
    pen = await startPen(['-F', join(dir, 'pen.cfg'), '--admin', `127.0.0.1:${admin}`, `127.0.0.1:${listen}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], { waitPort: admin });
    evilPort = await freePort();
    evil = http.createServer((req, res) => {
      const target = req.url === '/localhost' ? `http://localhost:${admin}` : `http://127.0.0.1:${admin}`;
      res.writeHead(200, { 'content-type': 'text/html' }).end(attackPage(target, dir));
    });
    await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    if (evil) await new Promise((resolve) => evil.close(resolve));
    await pen?.stop();
    await a?.close();
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let runs = 0;
  for (const which of ['127.0.0.1', 'localhost']) {
    it(`no-cors fetches, a form post and a WebSocket aimed at ${which} change nothing and read nothing`, async () => {
      runs += 1;
      const { page, context } = await openPage(browser);
      try {
        await page.goto(`http://127.0.0.1:${evilPort}/${which === 'localhost' ? 'localhost' : ''}`);
        await page.waitForFunction(() => (window as unknown as { results: { done?: boolean } }).results?.done === true,
          null, { timeout: 30_000 });
        const r = await page.evaluate(() => (window as unknown as { results: Record<string, unknown> }).results);
        // opaque, or refused by the browser because of Cross-Origin-Resource-Policy: either way unread
        for (const seen of r.noCors as string[]) assert.match(seen, /^(opaque|error Failed to fetch)$/);
        assert.equal(r.read, 'blocked', 'a cross-origin read gets nothing');
        assert.equal(r.readPost, 'blocked');
        assert.doesNotMatch(String(r.ws), /^message/, `the stream sent nothing: ${String(r.ws)}`);
      } finally {
        await context.close();
      }
      assert.deepEqual(await adminGet('/servers/0/blacklist'), { seconds: 0 }, 'server 0 is not blacklisted');
      assert.equal((await adminGet('/mode')).roundrobin, false);
      assert.equal((await adminGet('/settings')).log, null);
      assert.equal(existsSync(join(dir, 'pwned.cfg')), false);
      assert.equal(existsSync(join(dir, 'pwned.log')), false);
      assert.doesNotMatch(pen.stderr(), /admin change/, 'no change was made');
      // the attempts reached pen and were turned away there: four fetches, the form, the stream
      const refused = pen.stderr().split('\n').filter((l) => l.includes('admin request refused') && l.includes(`"origin":"http://127.0.0.1:${evilPort}"`));
      assert.ok(refused.filter((l) => l.includes('"url":"/penctl"')).length >= 5 * runs, `refused /penctl: ${refused.length}`);
      assert.ok(refused.some((l) => l.includes('"url":"/stream"')), 'the WebSocket was refused');
    });
  }

  for (const host of ['127.0.0.1', 'localhost']) {
    it(`the dashboard on ${host} still shows the stream and makes changes`, async () => {
      const { page, context, errors } = await openPage(browser, { width: 1280, height: 800 });
      try {
        await page.goto(`http://${host}:${admin}/`);
        await page.getByTestId('server-row-1').waitFor();
        await page.locator('[data-testid=link]', { hasText: 'live' }).waitFor({ timeout: 15_000 });
        await page.getByTestId('mode-roundrobin').click();
        await page.locator('[data-testid=mode-name]', { hasText: 'round robin' }).waitFor({ timeout: 10_000 });
        assert.equal((await adminGet('/mode')).roundrobin, true, 'the change went through the guard');
        await page.getByTestId('mode-tracking').click();
        await page.locator('[data-testid=mode-name]', { hasText: /^tracking$/ }).waitFor({ timeout: 10_000 });
        assert.deepEqual(errors, [], 'no console errors (a CSP violation would show here)');
      } finally {
        await context.close();
      }
    });
  }
});
