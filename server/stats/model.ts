// The statistics model: ONE pass over the connection table gives every report what it prints.
// Closed connections' bytes are already folded into the server and client tables; live ones are
// read from their sockets here, once each, so a report costs O(servers + clients + connection
// slots) whatever it shows (USR1 text, the HTML page, penctl `servers`/`recent`, the snapshot).
import type { Balancer } from '../core/balancer.ts';
import type { ClientSlot } from '../core/clients.ts';
import type { Connection } from '../core/connection.ts';
import { ABUSE, EMERGENCY, type Server } from '../core/servers.ts';

export interface ServerRow {
  index: number;       // EMERGENCY and ABUSE for the hidden slots
  server: Server;
  sx: number;          // bytes to the server, closed and live connections
  rx: number;
}

export interface ClientRow {
  index: number;
  slot: ClientSlot;
  csx: number;         // bytes to the client, closed and live connections
  crx: number;
}

export interface LiveConnection {
  conn: Connection;
  bytes: { sx: number; rx: number; csx: number; crx: number };
}

export interface PenStats {
  /** seconds, the clock every row was judged by */
  now: number;
  servers: ServerRow[];
  emergency: ServerRow | null;
  abuse: ServerRow | null;
  /** the active clients (pen hides expired slots), in slot order */
  clients: ClientRow[];
  /** the connections in use, in slot order */
  connections: LiveConnection[];
  /** all bytes to and from servers, closed and live */
  sx: number;
  rx: number;
}

export function collectStats(pen: Balancer, now = pen.now()): PenStats {
  const list = pen.servers.list;
  const slots = pen.clients.slots;
  // live bytes per server (emergency and abuse at the end) and per client slot
  const serverSx = new Float64Array(list.length + 2);
  const serverRx = new Float64Array(list.length + 2);
  const clientSx = new Float64Array(slots.length);
  const clientRx = new Float64Array(slots.length);
  const serverSlot = (s: number) => (s >= 0 ? s : s === EMERGENCY ? list.length : s === ABUSE ? list.length + 1 : -1);
  const connections: LiveConnection[] = [];
  let sx = pen.closedBytes.sx;
  let rx = pen.closedBytes.rx;
  for (let i = 0; i < pen.conns.length; i++) {
    const conn = pen.connAt(i);
    if (!conn) continue;
    const bytes = conn.bytes();
    connections.push({ conn, bytes });
    const s = serverSlot(conn.server);
    if (s >= 0 && s < serverSx.length) {
      serverSx[s]! += bytes.sx;
      serverRx[s]! += bytes.rx;
    }
    if (conn.clientIndex >= 0 && conn.clientIndex < slots.length) {
      clientSx[conn.clientIndex]! += bytes.csx;
      clientRx[conn.clientIndex]! += bytes.crx;
    }
    sx += bytes.sx;
    rx += bytes.rx;
  }
  const row = (server: Server, index: number): ServerRow => {
    const s = serverSlot(index);
    return { index, server, sx: server.sx + (serverSx[s] ?? 0), rx: server.rx + (serverRx[s] ?? 0) };
  };
  const clients: ClientRow[] = [];
  const trackingTime = pen.settings.trackingTime;
  for (const [i, slot] of slots.entries()) {
    if (!pen.clients.isActive(slot, now, trackingTime)) continue;
    clients.push({ index: i, slot, csx: slot.csx + (clientSx[i] ?? 0), crx: slot.crx + (clientRx[i] ?? 0) });
  }
  return {
    now,
    servers: list.map(row),
    emergency: pen.servers.emergency ? row(pen.servers.emergency, EMERGENCY) : null,
    abuse: pen.servers.abuse ? row(pen.servers.abuse, ABUSE) : null,
    clients,
    connections,
    sx,
    rx,
  };
}

/** How pen prints a server slot's address: a slot without one shows pen's half-finished text. */
export function penAddress(s: Server): string {
  return s.family === 0 ? '(unknown address family 0' : s.address;
}
