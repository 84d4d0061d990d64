// pen's HTML status page, byte for byte in pen's layout: the `status` reply, the -w file and
// what SIGUSR1 writes when -w is set. Socket ids stand where pen prints file descriptors.
import type { Balancer } from '../core/balancer.ts';
import { debug, timestamp } from '../core/diag.ts';
import { FileError, writeOperatorFileSync } from '../core/files.ts';
import { NO_SERVER } from '../core/servers.ts';
import { CLIENT_FIELDS, CONNECTION_FIELDS, SERVER_FIELDS } from './fields.ts';
import { collectStats } from './model.ts';

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
  out += head(SERVER_FIELDS.map((f) => f.html));
  for (const r of stats.servers) out += row(SERVER_FIELDS.map((f) => f.value(r)));
  out += '</table>\n';

  out += `<h2>Active clients</h2>Max number of clients: ${pen.clients.size}<p>`;
  out += head(CLIENT_FIELDS.map((f) => f.html));
  for (const r of stats.clients) out += row(CLIENT_FIELDS.map((f) => f.value({ row: r, now: secs })));
  out += '</table>\n';

  out += `<h2>Active connections</h2>Number of connections: ${pen.settings.connMax} max, ${pen.connsUsed} used, ${pen.connsLast} last<p>`;
  out += head(CONNECTION_FIELDS.map((f) => f.html));
  for (const r of stats.connections) out += row(CONNECTION_FIELDS.map((f) => f.value(r)));
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
