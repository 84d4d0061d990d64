// A statistics report walks the connection table once, whatever it prints: with a 100,000-slot
// table, 32 servers and 30 clients, reports in a row (USR1, penctl `servers`/`recent`, the REST
// snapshot and status page) must leave forwarding going. Before the one-pass model each server
// and each client row walked the whole table: 100 USR1 held forwarding for seconds.
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { freePort, sleep, tcpBackend } from '../helpers/backends.ts';
import { startPen, type PenProcess } from '../helpers/pen.ts';
import { control, settle, startProbe, type Probe } from '../helpers/probe.ts';

const SLOTS = 100_000;
const SERVERS = 32;
const CLIENTS = 30;

let backend: Awaited<ReturnType<typeof tcpBackend>>;
let pen: PenProcess;
let probe: Probe;
let ctl: number;
let admin: number;

before(async () => {
  backend = await tcpBackend('B');
  const listen = await freePort();
  [ctl, admin] = [await freePort(), await freePort()];
  pen = await startPen(['-u', 'root', '-x', String(SLOTS), '-C', `127.0.0.1:${ctl}`, '--admin', `127.0.0.1:${admin}`,
    `127.0.0.1:${listen}`, `127.0.0.1:${backend.port}`], { waitPort: listen });
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${admin}/whoami`).then(() => true, () => false)) break;
    await sleep(100);
  }
  await control(ctl, `server ${SERVERS - 1} address 127.0.0.1 port ${backend.port}`);
  // clients from distinct loopback addresses, each remembered in the client table
  for (let i = 0; i < CLIENTS; i++) {
    const s = net.connect({ host: '127.0.0.1', port: listen, localAddress: `127.0.0.${i + 2}` });
    await once(s, 'data');
    s.destroy();
  }
  // the first admin requests compile their serializers: not what is measured here
  await (await fetch(`http://127.0.0.1:${admin}/stats`)).text();
  await (await fetch(`http://127.0.0.1:${admin}/status`)).text();
  probe = await startProbe(listen, 5);
  await settle(probe);
});

after(async () => {
  await probe?.stop();
  await pen?.stop();
  await backend?.close();
});

test('100 USR1 reports in a row at -x 100000 hold forwarding up for under a second in all', { timeout: 120_000 }, async (t) => {
  assert.equal((await control(ctl, 'recent')).split('\n').length - 1, CLIENTS + 1, 'the clients are in the table');
  probe.reset();
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) {
    pen.child.kill('SIGUSR1');
    await control(ctl, 'pid'); // answered once the signal has been handled
  }
  const r = probe.report();
  t.diagnostic(`100 USR1: ${Math.round(performance.now() - t0)} ms, forwarding stalled ${r.stalledMs} ms, longest round trip ${r.maxMs} ms`);
  assert.match(pen.stderr(), new RegExp(`Server ${SERVERS - 1} status`), 'the reports were written');
  assert.ok(r.stalledMs < 1000, `forwarding stalled ${r.stalledMs} ms`);
});

test('servers, recent, GET /stats and GET /status at -x 100000 leave forwarding going', { timeout: 120_000 }, async (t) => {
  probe.reset();
  const t0 = performance.now();
  for (let i = 0; i < 30; i++) {
    assert.equal((await control(ctl, 'servers')).split('\n').length - 1, SERVERS);
    await control(ctl, 'recent');
    const stats = await fetch(`http://127.0.0.1:${admin}/stats`);
    assert.equal(((await stats.json()) as { connMax: number }).connMax, SLOTS);
    const page = await fetch(`http://127.0.0.1:${admin}/status`);
    assert.match(await page.text(), /Pen status page/);
  }
  const r = probe.report();
  t.diagnostic(`30 x (servers, recent, /stats, /status): ${Math.round(performance.now() - t0)} ms, forwarding stalled ${r.stalledMs} ms, longest round trip ${r.maxMs} ms`);
  assert.ok(r.stalledMs < 1000, `forwarding stalled ${r.stalledMs} ms`);
});
