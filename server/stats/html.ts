// pen's HTML status page, byte for byte in pen's layout: the `status` reply, the -w file and
// what SIGUSR1 writes when -w is set. Socket ids stand where pen prints file descriptors.
import type { Balancer } from '../core/balancer.ts';
import { debug, timestamp } from '../core/diag.ts';
import { FileError, writeOperatorFileSync } from '../core/files.ts';
import { NO_SERVER } from '../core/servers.ts';
import { collectStats, penAddress } from './model.ts';

const head = (cols: string[]) =>
  `<table bgcolor="#c0c0c0">\n<tr>\n${cols.map((c) => `<td bgcolor="#80f080">${c}</td>\n`).join('')}</tr>\n`;

const row = (cells: (string | number)[]) => `<tr>\n${cells.map((c) => `<td>${c}</td>\n`).join('')}</tr>\n`;

export function renderStatusHtml(pen: Balancer, now = new Date()): string {
  const secs = Math.floor(now.getTime() / 1000);
  const stats = collectStats(pen, secs);
  const servers = pen.servers.list;
  let out = '<html>\n<head>\n<title>Pen status page</title>\n</head>\n<body bgcolor="#ffffff"><h1>Pen status page</h1>\n';
  // before the first connection pen's `current` is 0, not "no server"
  const current = pen.servers.current === NO_SERVER ? 0 : pen.servers.current;
  out += `Time ${timestamp(now)}, ${servers.length} servers, ${current} current<p>\n`;
  out += head(['server', 'address', 'status', 'port', 'connections', 'max soft', 'max hard', 'sent', 'received', 'weight', 'prio']);
  for (const { index, server: s, sx, rx } of stats.servers) {
    out += row([index, penAddress(s), s.status, s.port, s.c, s.maxc, s.hard, sx, rx, s.weight, s.prio]);
  }
  out += '</table>\n';

  out += `<h2>Active clients</h2>Max number of clients: ${pen.clients.size}<p>`;
  out += head(['client', 'address', 'age(secs)', 'last server', 'connects', 'sent', 'received']);
  for (const { index, slot: c, csx, crx } of stats.clients) {
    out += row([index, c.address, secs - c.last, c.server, c.connects, csx, crx]);
  }
  out += '</table>\n';

  out += `<h2>Active connections</h2>Number of connections: ${pen.settings.connMax} max, ${pen.connsUsed} used, ${pen.connsLast} last<p>`;
  out += head(['connection', 'downfd', 'upfd', 'pending data down', 'pending data up', 'client', 'server']);
  for (const { conn: c } of stats.connections) {
    out += row([c.index, c.downId, c.upId, c.pendingDown(), c.pendingUp(), c.clientIndex, c.server]);
  }
  out += '</table>\n</body>\n</html>\n';
  return out;
}

/**
 * Write the -w file; returns why it could not, or null. Through files.ts: a temporary file renamed
 * into place, so a FIFO or device named by -w is refused instead of stalling pen.
 */
export function webStatsError(pen: Balancer): string | null {
  const file = pen.settings.webStats;
  if (!file) return "Don't know where to write web stats; see -w option";
  try {
    writeOperatorFileSync(file, renderStatusHtml(pen));
    return null;
  } catch (err) {
    return `Can't write to ${err instanceof FileError ? err.message : file}`;
  }
}

/** SIGUSR1 with -w: write the file; problems go to debug(), as in pen. */
export function writeWebStats(pen: Balancer): boolean {
  const problem = webStatsError(pen);
  if (problem !== null) debug(problem);
  return problem === null;
}
