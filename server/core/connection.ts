// What the connection table holds, for TCP pairs, UDP sessions and any other transport alike:
// the table, `connection N`, `close N`, `socket N` and the statistics read connections only
// through this interface. Byte counts are read on demand through bytes(), so a transport whose
// counters live elsewhere (in its sockets, or in memory shared with native code) keeps them there.

export const CS_CONNECTING = 1;
export const CS_CONNECTED = 2;
export const CS_CLOSED_UP = 4;    // EOF from the server
export const CS_CLOSED_DOWN = 8;  // EOF from the client

/** The sweep's clock and limits, filled in once per sweep (conn-table.ts) and shared by every connection. */
export interface SweepClock {
  nowMs: number;      // Date.now()
  nowS: number;       // pen's clock, in whole seconds
  connectMs: number;  // -t
  idleMs: number;     // idle_timeout; 0: none
}

export interface Connection {
  /** its slot in the table; the table sets it (-1 until then) */
  index: number;
  /** CS_* bits, as pen's `connection N` shows them */
  state: number;
  clientIndex: number;
  clientAddress: string;
  initial: number;   // the first server chosen
  server: number;    // the server it is (being) connected to
  counted: boolean;  // whether it has taken its server (accounting.ts take), so releasing it drops one
  t: number;         // seconds: connect start, then last activity
  downId: number;    // pen shows fds; we show stable socket ids
  upId: number;
  pendingDown(): number;  // bytes buffered towards the client
  pendingUp(): number;    // bytes buffered towards the server
  /** live byte counts: to server, from server, to client, from client */
  bytes(): { sx: number; rx: number; csx: number; crx: number };
  /** Close it (`close N`, shutdown, a timeout); it then releases itself through its host. Idempotent. */
  close(): void;
  /** The sweep, every SWEEP_MS: apply the connect and idle timeouts as the transport defines them. */
  timeouts?(clock: SweepClock): void;
  /** for a view of a held slot (SlotHolder below): its holder, which is what the table keeps in the slot */
  readonly holder?: SlotHolder;
}

/**
 * A transport that keeps its connections' state in arrays of its own, one entry per slot
 * (native-tcp.ts), so that a held connection is no JavaScript object: V8 keeps each one that
 * outlives a scavenge several times over in RSS (a young generation grown for survivors, old-space
 * pages). The table puts the holder itself in every slot it holds and asks it for a view
 * (a Connection made then, living only as long as whoever asked keeps it) when one is read.
 */
export interface SlotHolder {
  /** A Connection for slot i, which this holder holds. */
  view(i: number): Connection;
  /** The sweep of slot i (Connection.timeouts), without making a view. */
  sweepSlot(i: number, clock: SweepClock): void;
}

export function isHolder(c: Connection | SlotHolder): c is SlotHolder {
  return (c as Partial<SlotHolder>).view !== undefined;
}

let nextSocketId = 3;
export function socketId(): number {
  return nextSocketId++;
}
