// pen's text reports, from the statistics model: SIGUSR1 (with the client block pen meant to
// print: the C version prints garbage there because of a format-string bug) and the penctl
// `servers` and `recent` replies.
import type { Balancer } from '../core/balancer.ts';
import { timestamp } from '../core/diag.ts';
import { PENCTL_SERVER_ORDER, SERVER_FIELDS } from './fields.ts';
import { collectStats, penAddress, type PenStats } from './model.ts';

const PENCTL_SERVER_FIELDS = PENCTL_SERVER_ORDER.map((key) => SERVER_FIELDS.find((f) => f.key === key)!);

/** penctl `servers`: one line per server slot. */
export function renderServers(stats: PenStats): string {
  let out = '';
  for (const r of stats.servers) {
    out += r.index;
    for (const f of PENCTL_SERVER_FIELDS) out += ` ${f.penctl} ${f.value(r)}`;
    out += '\n';
  }
  return out;
}

/** penctl `recent SECS`: the active clients seen in the last SECS seconds, in slot order. */
export function renderRecent(stats: PenStats, seconds: number): string {
  const since = stats.now - seconds;
  let out = '';
  // expired clients are not in stats.clients, as pen hides the slots its lookups have emptied
  for (const { slot: c, csx, crx } of stats.clients) {
    if (c.last >= since) out += `${c.address} connects ${c.connects} sx ${csx} rx ${crx}\n`;
  }
  return out;
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
