// pen's text reports, from the statistics model: SIGUSR1 (with the client block pen meant to
// print: the C version prints garbage there because of a format-string bug) and the penctl
// `servers` and `recent` replies.
import type { Balancer } from '../core/balancer.ts';
import { timestamp } from '../core/diag.ts';
import { PENCTL_SERVER_ORDER, SERVER_FIELDS } from './fields.ts';
import { collectStats, penAddress, type PenStats } from './model.ts';

const PENCTL_SERVER_FIELDS = PENCTL_SERVER_ORDER.map((key) => SERVER_FIELDS.find((f) => f.key === key)!);

/** penctl `servers` as data: per slot, its fields under their penctl names, in the reply's order. */
export function serverRows(stats: PenStats): { index: number; fields: Record<string, string | number> }[] {
  return stats.servers.map((r) => ({
    index: r.index, fields: Object.fromEntries(PENCTL_SERVER_FIELDS.map((f) => [String(f.penctl), f.value(r)])),
  }));
}

/** penctl `servers`: one line per server slot. */
export function renderServers(stats: PenStats): string {
  return formatServerRows(serverRows(stats));
}

export function formatServerRows(rows: ReturnType<typeof serverRows>): string {
  let out = '';
  for (const r of rows) {
    out += r.index;
    for (const [name, value] of Object.entries(r.fields)) out += ` ${name} ${value}`;
    out += '\n';
  }
  return out;
}

export interface RecentClient { address: string; connects: number; sx: number; rx: number }

/** penctl `recent SECS` as data: the active clients seen in the last SECS seconds, in slot order. */
export function recentClients(stats: PenStats, seconds: number): RecentClient[] {
  const since = stats.now - seconds;
  // expired clients are not in stats.clients, as pen hides the slots its lookups have emptied
  return stats.clients.filter(({ slot }) => slot.last >= since)
    .map(({ slot: c, csx, crx }) => ({ address: c.address, connects: c.connects, sx: csx, rx: crx }));
}

export function formatRecent(clients: readonly RecentClient[]): string {
  return clients.map((c) => `${c.address} connects ${c.connects} sx ${c.sx} rx ${c.rx}\n`).join('');
}

/** penctl `recent SECS`. */
export function renderRecent(stats: PenStats, seconds: number): string {
  return formatRecent(recentClients(stats, seconds));
}

export function renderUsr1Text(pen: Balancer): string {
  const stats = collectStats(pen);
  const now = stats.now;
  const ts = `${timestamp()}: `;
  const out: string[] = [];
  out.push(`${ts}Time ${timestamp()}, ${pen.servers.list.length} servers, ${pen.servers.current} current`);
  for (const { index, server: s, sx, rx } of stats.servers) {
    out.push(`${ts}Server ${index} status:\naddress ${penAddress(s)}\n${s.status}\nport ${s.port}\n` +
      `${s.c} connections (${s.maxc} soft, ${s.hard} hard)\n${sx} sent, ${rx} received\n`);
  }
  out.push(`${ts}Max number of clients: ${pen.clients.size}`);
  out.push(`${ts}Active clients:`);
  for (const { index, slot: c, csx, crx } of stats.clients) {
    out.push(`${ts}Client ${index} status:\naddress ${c.address}\nlast used ${now - c.last}\nlast server ${c.server}\n` +
      `connects  ${c.connects}\nsent  ${csx}\nreceived  ${crx}\n`);
  }
  out.push(`${ts}Max number of connections: ${pen.settings.connMax}`);
  out.push(`${ts}Active connections:`);
  for (const { conn: c } of stats.connections) {
    out.push(`${ts}Connection ${c.index} status:\ndownfd = ${c.downId}, upfd = ${c.upId}\npending data ${c.pendingDown()} down, ${c.pendingUp()} up\n` +
      `client ${c.clientIndex}, server ${c.server}\n`);
  }
  return out.join('\n') + '\n';
}
