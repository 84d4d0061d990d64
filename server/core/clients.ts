// The client table (-c slots): remembers each client IP's last server, as pen's does.
// Lookup is O(1) through a map; a new client takes the first free or expired slot, else the
// least recently used one, so slot numbers and eviction order match pen's. Slots are made when
// first used (the slots past `slots.length` are all empty, and pen would take the first of them
// only after every earlier slot is in use), so `clients_max N` costs nothing until clients come.

import { clearClient } from './accounting.ts';
import { NO_SERVER } from './servers.ts';

export interface ClientSlot {
  key: string;       // family + IP; all Unix-socket clients share one key
  address: string;   // client IP (or the socket path)
  port: number;      // source port of the latest connection
  last: number;      // seconds; 0 = empty slot
  server: number;    // last server used (NO_SERVER, EMERGENCY, ABUSE or an index)
  connects: number;
  csx: number;       // bytes sent to the client by closed connections
  crx: number;       // bytes received from the client by closed connections
}

export class ClientTable {
  /** the slots used so far, in slot order */
  readonly slots: ClientSlot[] = [];
  private readonly byKey = new Map<string, number>();
  private capacity = 0;
  /** the slot store() found or took last: a client connecting again skips the map (and hashing its fresh key) */
  private lastIndex = -1;

  constructor(size: number) {
    this.grow(size);
  }

  /** the table's size (`clients_max`), used or not */
  get size(): number {
    return this.capacity;
  }

  /** `clients_max N`: the table only grows. Whether it grew. */
  grow(size: number): boolean {
    if (size <= this.capacity) return false;
    this.capacity = size;
    return true;
  }

  /** pen's store_client: find or take a slot, stamp it with now, count the connect. */
  store(key: string, address: string, port: number, now: number, trackingTime: number): number {
    let index = this.slots[this.lastIndex]?.key === key ? this.lastIndex : this.byKey.get(key);
    if (index === undefined) {
      index = this.freeSlot(now, trackingTime);
      if (index === this.slots.length) {
        this.slots.push({ key: '', address: '', port: 0, last: 0, server: NO_SERVER, connects: 0, csx: 0, crx: 0 });
      }
      const slot = this.at(index);
      if (slot.key !== '') this.byKey.delete(slot.key);
      slot.key = key;
      slot.address = address;
      slot.server = NO_SERVER;
      slot.connects = 0;
      clearClient(slot);
      this.byKey.set(key, index);
    }
    const slot = this.at(index);
    slot.last = now;
    slot.port = port;
    slot.connects += 1;
    this.lastIndex = index;
    return index;
  }

  /**
   * A client the peer pen saw (control/peer.ts): remember its server as if it had connected here
   * at `last`, unless this table has seen it more recently. Counts no connect.
   */
  adopt(key: string, address: string, server: number, last: number, now: number, trackingTime: number): void {
    const known = this.byKey.get(key);
    if (known !== undefined && this.at(known).last > last) return;
    const index = known ?? this.store(key, address, 0, now, trackingTime);
    const slot = this.at(index);
    if (known === undefined) slot.connects = 0;
    slot.last = Math.min(last, now);
    slot.server = server;
  }

  /** Whether a slot counts as active (pen hides expired slots from `recent` and the HTML page). */
  isActive(slot: ClientSlot, now: number, trackingTime: number): boolean {
    return slot.last !== 0 && !(trackingTime > 0 && slot.last + trackingTime < now);
  }

  /** A slot this table made: byKey and freeSlot only hold indices below slots.length. */
  private at(index: number): ClientSlot {
    const slot = this.slots[index];
    if (slot === undefined) throw new Error(`client slot ${index} was never made`);
    return slot;
  }

  private freeSlot(now: number, trackingTime: number): number {
    let oldest = 0;
    for (const [i, s] of this.slots.entries()) {
      if (s.last === 0 || (trackingTime > 0 && s.last + trackingTime < now)) return i;
      if (s.last < this.at(oldest).last) oldest = i;
    }
    return this.slots.length < this.capacity ? this.slots.length : oldest;
  }
}

export function clientKey(family: string, address: string): string {
  return family === 'unix' ? 'unix' : address;
}
