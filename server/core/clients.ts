// The client table (-c slots): remembers each client IP's last server, as pen's does.
// Lookup is O(1) through a map; a new client takes the first free or expired slot, else the
// least recently used one, so slot numbers and eviction order match pen's.

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

const NONE = -3;
const emptySlot = (): ClientSlot => ({ key: '', address: '', port: 0, last: 0, server: NONE, connects: 0, csx: 0, crx: 0 });

export class ClientTable {
  readonly slots: ClientSlot[] = [];
  private readonly byKey = new Map<string, number>();

  constructor(size: number) {
    this.grow(size);
  }

  get size(): number {
    return this.slots.length;
  }

  /** `clients_max N`: the table only grows. */
  grow(size: number): void {
    // Array.from, not a push loop: at the default 2048 slots that loop ran hot enough for V8 to
    // optimise it during start-up, which pages in ~4 MiB of its optimising compiler for good
    const more = Array.from({ length: Math.max(0, size - this.slots.length) }, emptySlot);
    for (let i = 0; i < more.length; i++) this.slots.push(more[i]!);
  }

  /** pen's store_client: find or take a slot, stamp it with now, count the connect. */
  store(key: string, address: string, port: number, now: number, trackingTime: number): number {
    let index = this.byKey.get(key);
    if (index === undefined) {
      index = this.freeSlot(now, trackingTime);
      const slot = this.slots[index];
      if (slot.key !== '') this.byKey.delete(slot.key);
      slot.key = key;
      slot.address = address;
      slot.server = NONE;
      slot.connects = 0;
      slot.csx = 0;
      slot.crx = 0;
      this.byKey.set(key, index);
    }
    const slot = this.slots[index];
    slot.last = now;
    slot.port = port;
    slot.connects += 1;
    return index;
  }

  /** Whether a slot counts as active (pen hides expired slots from `recent` and the HTML page). */
  isActive(slot: ClientSlot, now: number, trackingTime: number): boolean {
    return slot.last !== 0 && !(trackingTime > 0 && slot.last + trackingTime < now);
  }

  private freeSlot(now: number, trackingTime: number): number {
    let oldest = 0;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s.last === 0 || (trackingTime > 0 && s.last + trackingTime < now)) return i;
      if (s.last < this.slots[oldest].last) oldest = i;
    }
    return oldest;
  }
}

export function clientKey(family: string, address: string): string {
  return family === 'unix' ? 'unix' : address;
}
