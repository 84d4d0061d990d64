// What one pen of a pair sends the pen that follows it (GET /peer on the admin API, one JSON
// object a line). No Node APIs here. docs/high-availability.md describes the exchange.
import type { Role } from './snapshot.ts';

/** a client-table entry: client address, server index, seconds since the client was last seen */
export type PeerClient = [address: string, server: number, age: number];

export type PeerMessage =
  /** the whole configuration, as the command lines `write` saves (without its two comment lines) */
  | { type: 'config'; lines: string[] }
  /** client-table entries that changed since the last message (all of them in the first) */
  | { type: 'clients'; entries: PeerClient[] }
  /** once a second: entries not sent yet, and the sender's role */
  | { type: 'status'; behind: number; role: Role };

export const PEER_PATH = '/peer';
/** the follower treats a peer that sent nothing for this long as gone */
export const PEER_SILENCE_MS = 3500;
