// The only writers of a server's connection count and byte counters and of a client's byte
// counters (HAProxy's server_take_conn / server_drop_conn): a connection takes its server when it
// is connected and drops it when it lets go, and what it moved joins the totals then. Live
// connections' bytes are read from the connections themselves (stats/model.ts adds them).
import type { Server } from './servers.ts';

/** Bytes a connection moved: to and from its server, to and from its client. */
/** What accounting writes of a client table slot (clients.ts ClientSlot). */
export interface ClientBytes {
  csx: number;
  crx: number;
}

export interface Bytes {
  sx: number;
  rx: number;
  csx: number;
  crx: number;
}

/** A connection to `server` is open: it counts against the server's limits from now on. */
export function take(server: Server): void {
  server.c += 1;
}

/**
 * A connection has let go of `server`: what it sent and received joins the server's totals, and,
 * when it had taken the server (`counted`), it no longer counts against its limits.
 */
export function drop(server: Server, bytes: { sx: number; rx: number }, counted: boolean): void {
  server.sx += bytes.sx;
  server.rx += bytes.rx;
  if (counted) server.c = Math.max(0, server.c - 1);
}

/** A closed connection's bytes to and from its client join the client's totals. */
export function foldClient(slot: ClientBytes, bytes: Bytes): void {
  slot.csx += bytes.csx;
  slot.crx += bytes.crx;
}

/** A client slot taken by a new client starts its byte totals again. */
export function clearClient(slot: ClientBytes): void {
  slot.csx = 0;
  slot.crx = 0;
}

/** A closed connection's bytes join the balancer's totals of closed connections. */
export function foldClosed(totals: { sx: number; rx: number }, bytes: Bytes): void {
  totals.sx += bytes.sx;
  totals.rx += bytes.rx;
}
