// pen's HTML status page: the layout is pinned to what Debian's pen 0.34.1 writes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Balancer } from '../../server/core/balancer.ts';
import type { Connection } from '../../server/core/connection.ts';
import { execute } from '../../server/control/registry.ts';
import { renderStatusHtml, writeWebStats } from '../../server/stats/html.ts';
import { nth } from '../helpers/nth.ts';

const T = new Date(2026, 10, 24, 7, 3, 58);
const ctxOf = (pen: Balancer) => ({ pen, runtime: { exit() {}, argv: [] }, origin: 'cli' as const });
const head = (cols: string[]) => `<table bgcolor="#c0c0c0">\n<tr>\n${cols.map((c) => `<td bgcolor="#80f080">${c}</td>\n`).join('')}</tr>\n`;
const row = (cells: (string | number)[]) => `<tr>\n${cells.map((c) => `<td>${c}</td>\n`).join('')}</tr>\n`;

test('an idle pen renders exactly the page Debian pen renders', async () => {
  const pen = new Balancer();
  for (const l of ['server 0 address 127.0.0.1 port 19432', 'server 1 address 127.0.0.1 port 19433 weight 3', 'server 3 address 127.0.0.1']) {
    await execute(ctxOf(pen), l);
  }
  // captured from `penctl … status` against /usr/bin/pen with the same servers
  const expected = '<html>\n<head>\n<title>Pen status page</title>\n</head>\n<body bgcolor="#ffffff"><h1>Pen status page</h1>\n'
    + 'Time 2026-11-24 07:03:58, 4 servers, 0 current<p>\n'
    + head(['server', 'address', 'status', 'port', 'connections', 'max soft', 'max hard', 'sent', 'received', 'weight', 'prio'])
    + row([0, '127.0.0.1', 0, 19432, 0, 0, 0, 0, 0, 0, 0])
    + row([1, '127.0.0.1', 0, 19433, 0, 0, 0, 0, 0, 3, 0])
    + row([2, '(unknown address family 0', 0, 0, 0, 0, 0, 0, 0, 0, 0])
    + row([3, '127.0.0.1', 0, 0, 0, 0, 0, 0, 0, 0, 0])
    + '</table>\n<h2>Active clients</h2>Max number of clients: 2048<p>'
    + head(['client', 'address', 'age(secs)', 'last server', 'connects', 'sent', 'received'])
    + '</table>\n<h2>Active connections</h2>Number of connections: 500 max, 0 used, 0 last<p>'
    + head(['connection', 'downfd', 'upfd', 'pending data down', 'pending data up', 'client', 'server'])
    + '</table>\n</body>\n</html>\n';
  assert.equal(renderStatusHtml(pen, T), expected);
});

test('clients and connections get one row each, with their counters', () => {
  const pen = new Balancer();
  const now = Math.floor(T.getTime() / 1000);
  const c = pen.clients.store('127.0.0.1', '127.0.0.1', 40000, now - 1, 0);
  nth(pen.clients.slots, c).server = 1;
  nth(pen.clients.slots, c).csx = 11;
  const conn: Connection = {
    index: 0, state: 2, clientIndex: c, clientAddress: '127.0.0.1', initial: 1, server: 1, counted: true, t: now,
    downId: 8, upId: 9, pendingDown: () => 0, pendingUp: () => 3, bytes: () => ({ sx: 0, rx: 0, csx: 0, crx: 0 }),
    close() {},
  };
  pen.conns[0] = conn;
  pen.connsUsed = 1;
  const page = renderStatusHtml(pen, T);
  assert.ok(page.includes(`<h2>Active clients</h2>Max number of clients: 2048<p>${head(['client', 'address', 'age(secs)', 'last server', 'connects', 'sent', 'received'])}${row([0, '127.0.0.1', 1, 1, 1, 11, 0])}</table>\n`));
  assert.ok(page.includes(`Number of connections: 500 max, 1 used, 0 last<p>${head(['connection', 'downfd', 'upfd', 'pending data down', 'pending data up', 'client', 'server'])}${row([0, 8, 9, 0, 3, 0, 1])}</table>\n`));
});

test('writeWebStats writes the -w file and reports when it cannot', () => {
  const pen = new Balancer();
  assert.equal(writeWebStats(pen), false, 'no -w file');
  const dir = mkdtempSync(join(tmpdir(), 'pen-html-'));
  try {
    const file = join(dir, 'stats.html');
    pen.settings.webStats = file;
    assert.equal(writeWebStats(pen), true);
    assert.match(readFileSync(file, 'latin1'), /^<html>\n<head>\n<title>Pen status page<\/title>/);
    pen.settings.webStats = '/nonexistent-dir/stats.html';
    assert.equal(writeWebStats(pen), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
