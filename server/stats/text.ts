// SIGUSR1 statistics as text, in pen's layout (with the client block pen meant to print: the C
// version prints garbage there because of a format-string bug).
import type { Balancer } from '../core/balancer.ts';
import { timestamp } from '../core/diag.ts';

export function renderUsr1Text(pen: Balancer): string {
  const now = pen.now();
  const ts = `${timestamp()}: `;
  const out: string[] = [];
  out.push(`${ts}Time ${timestamp()}, ${pen.servers.list.length} servers, ${pen.servers.current} current`);
  pen.servers.list.forEach((s, i) => {
    const b = pen.serverBytes(i);
    out.push(`${ts}Server ${i} status:\naddress ${s.family === 0 ? '(unknown address family 0' : s.address}\n${s.status}\nport ${s.port}\n` +
      `${s.c} connections (${s.maxc} soft, ${s.hard} hard)\n${b.sx} sent, ${b.rx} received\n`);
  });
  out.push(`${ts}Max number of clients: ${pen.clients.size}`);
  out.push(`${ts}Active clients:`);
  pen.clients.slots.forEach((c, i) => {
    if (!pen.clients.isActive(c, now, pen.settings.trackingTime)) return;
    const b = pen.clientBytes(i);
    out.push(`${ts}Client ${i} status:\naddress ${c.address}\nlast used ${now - c.last}\nlast server ${c.server}\n` +
      `connects  ${c.connects}\nsent  ${b.csx}\nreceived  ${b.crx}\n`);
  });
  out.push(`${ts}Max number of connections: ${pen.conns.length}`);
  out.push(`${ts}Active connections:`);
  pen.conns.forEach((c, i) => {
    if (!c) return;
    out.push(`${ts}Connection ${i} status:\ndownfd = ${c.downId}, upfd = ${c.upId}\npending data ${c.pendingDown()} down, ${c.pendingUp()} up\n` +
      `client ${c.clientIndex}, server ${c.server}\n`);
  });
  return out.join('\n') + '\n';
}
