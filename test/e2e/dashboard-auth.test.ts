// The dashboard with --admin-token-file: it asks for a token, keeps it for the tab only, and a
// read-only token sees the figures without the change controls.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { freePort, httpBackend, type HttpBackend } from '../helpers/backends.ts';
import { startPen, type PenProcess } from '../helpers/pen.ts';
import { ensureDashboardBuilt, haveChromium, launch, openPage, screenshot } from './browser.ts';

const skip = haveChromium() ? false : 'no chromium at /usr/bin/chromium (.ci/run installs it)';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const READ_TOKEN = 'read-token-0123456789abcdef';
/** what Chromium itself logs for the 401 that tells the page a token is needed */
const UNAUTHORIZED = 'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)';

describe('dashboard with tokens', { skip, timeout: 90_000 }, () => {
  let dir: string;
  let a: HttpBackend;
  let b: HttpBackend;
  let pen: PenProcess;
  let admin: number;
  let browser: Browser;

  before(async () => {
    await ensureDashboardBuilt();
    dir = mkdtempSync(join(tmpdir(), 'pen-e2e-auth-'));
    const tokenFile = join(dir, 'tokens');
    writeFileSync(tokenFile, `# test tokens\nadmin ${ADMIN_TOKEN}\nread ${READ_TOKEN}\n`);
    [a, b] = await Promise.all([httpBackend('a'), httpBackend('b')]);
    const listen = await freePort();
    admin = await freePort();
    pen = await startPen(
      ['--admin', `127.0.0.1:${admin}`, '--admin-token-file', tokenFile, `127.0.0.1:${listen}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`],
      { waitPort: admin },
    );
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await pen?.stop();
    await a?.close();
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a read token sees the servers but no change controls', async () => {
    const { page, context, errors } = await openPage(browser, { width: 1280, height: 800 });
    try {
      await page.goto(`http://127.0.0.1:${admin}/`);
      await page.getByTestId('token-prompt').waitFor();
      await screenshot(page, 'dashboard-token-prompt', false);
      await page.getByTestId('token-input').fill(READ_TOKEN);
      await page.getByTestId('token-submit').click();
      await page.getByTestId('server-row-1').waitFor();
      await page.locator('[data-testid=link]', { hasText: 'live' }).waitFor();
      assert.equal(await page.getByTestId('scope').textContent(), 'read only');
      assert.equal(await page.locator('[data-testid^=blacklist-], [data-testid^=edit-], [data-testid=write]').count(), 0);
      assert.equal(await page.getByTestId('mode-roundrobin').isDisabled(), true);
      // kept for this tab only
      assert.equal(await page.evaluate(() => sessionStorage.getItem('pen.token')), READ_TOKEN);
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      assert.deepEqual(errors, [], 'a first visit without a token logs no error');
    } finally {
      await context.close();
    }
  });

  it('a wrong token is refused, an admin token gets the controls', async () => {
    const { page, context, errors } = await openPage(browser, { width: 1280, height: 800 });
    try {
      await page.goto(`http://127.0.0.1:${admin}/`);
      await page.getByTestId('token-input').fill('not-the-right-token-at-all');
      await page.getByTestId('token-submit').click();
      await page.getByTestId('token-prompt').getByRole('alert').waitFor();
      await page.getByTestId('token-input').fill(ADMIN_TOKEN);
      await page.getByTestId('token-submit').click();
      await page.getByTestId('blacklist-0').waitFor();
      assert.equal(await page.getByTestId('scope').textContent(), 'admin');
      await page.locator('[data-testid=link]', { hasText: 'live' }).waitFor();

      // the session survives a reload without asking again
      await page.reload();
      await page.getByTestId('blacklist-0').waitFor();
      assert.equal(await page.getByTestId('token-prompt').count(), 0);
      assert.deepEqual(errors, [UNAUTHORIZED], 'only the wrong token got a 401');
    } finally {
      await context.close();
    }
  });
});
