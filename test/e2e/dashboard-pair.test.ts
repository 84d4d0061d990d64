// The dashboard shows the pair (docs/high-availability.md): this host's role as keepalived told
// it, and whether it is following its --peer, live, in a real browser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, httpBackend } from '../helpers/backends.ts';
import { startPen, type PenProcess } from '../helpers/pen.ts';
import { ensureDashboardBuilt, haveChromium, launch, openPage } from './browser.ts';

const skip = haveChromium() ? false : 'no chromium at /usr/bin/chromium (.ci/run installs it)';

test('the header shows the role and the peer link, and follows the peer going down', { skip, timeout: 90_000 }, async () => {
  await ensureDashboardBuilt();
  const be = await httpBackend('be');
  const [listenA, adminA, listenB, adminB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const pens: PenProcess[] = [];
  const browser = await launch();
  try {
    const a = await startPen(['--admin', String(adminA), `127.0.0.1:${listenA}`, `127.0.0.1:${be.port}`], { waitPort: adminA });
    pens.push(a);
    pens.push(await startPen(['--admin', String(adminB), '--peer', `http://127.0.0.1:${adminA}`, `127.0.0.1:${listenB}`, `127.0.0.1:${be.port}`], { waitPort: adminB }));
    const w = await openPage(browser);
    await w.page.goto(`http://127.0.0.1:${adminB}/`);
    await w.page.locator('[data-testid=peer]', { hasText: 'peer synced' }).waitFor();
    assert.equal(await w.page.getByTestId('role').count(), 0, 'no role before keepalived says one');
    const r = await fetch(`http://127.0.0.1:${adminB}/role`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"role":"backup"}' });
    assert.equal(r.status, 200);
    await w.page.locator('[data-testid=role]', { hasText: 'backup' }).waitFor();
    await a.stop('SIGKILL');
    await w.page.locator('[data-testid=peer]', { hasText: 'peer down' }).waitFor({ timeout: 15_000 });
    assert.match((await w.page.getByTestId('peer').getAttribute('title')) ?? '', new RegExp(`127.0.0.1:${adminA}: `));
    await w.page.locator('[data-testid=events]', { hasText: 'peer down' }).waitFor();
    assert.deepEqual(w.errors, []);
  } finally {
    await browser.close();
    for (const p of pens) await p.stop();
    await be.close();
  }
});
