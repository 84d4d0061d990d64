// A native TCP listener's connections as the table sees them, kept with no JavaScript object per
// connection (connection.ts SlotHolder says why): what JS knows of a connection whose sockets the
// engine owns is a few numbers per engine slot in two typed arrays, and the client's address (the
// client table's string) in an array beside them. A NativeConnection is a view of one slot: its
// numbers copied out (plain fields, which V8 reads inline; accessors into the arrays cost the close
// case ~1.4k instructions per connection in calls). The table's readers get a view of their own;
// select, failed and the close records (native-tcp.ts) share one, reloaded for each slot, since
// what a connection allocates as it opens touches fresh young-generation pages, which RSS counts.
// Only select and failed change a connection; they store the view back. Close and the sweep
// write the arrays themselves.
import type { Bytes } from './accounting.ts';
import { CS_CLOSED_DOWN, CS_CLOSED_UP, CS_CONNECTED, CS_CONNECTING, type SlotHolder } from './connection.ts';
import { LIVE, STATE, type NativeEngine } from './native.ts';
import { word } from './native-listener.ts';
import type { PairEntry } from './pair-host.ts';
import { NO_SERVER } from './servers.ts';

export const NO_BYTES: Bytes = Object.freeze({ sx: 0, rx: 0, csx: 0, crx: 0 });

/** Int32 words per slot: client slot, first and current server, the bits below, client port. */
const I = { CLIENT: 0, INITIAL: 1, SERVER: 2, BITS: 3, PORT: 4, WORDS: 5 } as const;
/** Float64 words per slot: `t`, bytes moved at the last sweep, the two socket ids (never reused, so past int32). */
const F = { T: 0, MOVED: 1, DOWN_ID: 2, UP_ID: 3, WORDS: 4 } as const;

/** The bytes of typed array a slot has here (besides the address's pointer in `ips`). */
export const SLOT_ARRAY_BYTES = I.WORDS * Int32Array.BYTES_PER_ELEMENT + F.WORDS * Float64Array.BYTES_PER_ELEMENT;

/** BITS: what a connection knows of itself besides its numbers. */
const STARTED = 1;  // the engine holds it (its live words are its own)
const CLOSING = 2;  // `close N` or a timeout asked the engine to close it
const COUNTED = 4;  // it has taken its server (accounting.ts take)
const FAILOVER = 8; // the bits above count its failovers

/** Where a client that sent EOF stood at the last sweep: its queue to the server and when that last changed. */
export interface EofWatch { queuedUp: number; queuedAt: number }

/** A slot's numbers, for `slots` engine slots; a slot's pages are touched when a connection first takes it. */
export class SlotArrays {
  readonly ints: Int32Array;
  readonly nums: Float64Array;
  /** the client's address (null: a Unix-socket client), by slot; grown as slots are first used */
  readonly ips: (string | null)[] = [];
  /** the slots whose client has sent EOF (native-tcp.ts sweepSlot): few, so kept apart */
  readonly eof = new Map<number, EofWatch>();

  constructor(readonly slots: number) {
    this.ints = new Int32Array(slots * I.WORDS);
    this.nums = new Float64Array(slots * F.WORDS);
  }

  /** v, made a view of slot i: the slot's numbers copied in. */
  load<V extends NativeConnection>(v: V, i: number): V {
    v.index = i;
    v.final = null;
    const o = i * I.WORDS;
    const ints = this.ints;
    v.clientIndex = ints[o + I.CLIENT]!;
    v.initial = ints[o + I.INITIAL]!;
    v.server = ints[o + I.SERVER]!;
    v.bits = ints[o + I.BITS]!;
    v.clientPort = ints[o + I.PORT]!;
    const f = i * F.WORDS;
    const nums = this.nums;
    v.t = nums[f + F.T]!;
    v.downId = nums[f + F.DOWN_ID]!;
    v.upId = nums[f + F.UP_ID]!;
    v.clientIp = this.ips[i] ?? null;
    return v;
  }

  /** What select or failed changed in v goes back to its slot (v.index < slots). */
  store(v: NativeConnection): void {
    const o = v.index * I.WORDS;
    const ints = this.ints;
    ints[o + I.CLIENT] = v.clientIndex;
    ints[o + I.INITIAL] = v.initial;
    ints[o + I.SERVER] = v.server;
    ints[o + I.BITS] = v.bits;
    ints[o + I.PORT] = v.clientPort;
    const f = v.index * F.WORDS;
    const nums = this.nums;
    nums[f + F.T] = v.t;
    nums[f + F.DOWN_ID] = v.downId;
    nums[f + F.UP_ID] = v.upId;
    const ips = this.ips;
    while (ips.length <= v.index) ips.push(null);
    ips[v.index] = v.clientIp;
  }

  /** A new connection takes slot i: nothing of the last one's sweep stays. */
  reset(i: number): void {
    this.nums[i * F.WORDS + F.MOVED] = 0;
    if (this.eof.size > 0) this.eof.delete(i);
  }

  started(i: number): boolean {
    return ((this.ints[i * I.WORDS + I.BITS] ?? 0) & STARTED) !== 0;
  }

  /** The engine holds slot i's connection and nothing has asked it to close. */
  open(i: number): boolean {
    return ((this.ints[i * I.WORDS + I.BITS] ?? 0) & (CLOSING | STARTED)) === STARTED;
  }

  /** `close N` or a timeout asked the engine to close slot i; false when it was not open. */
  closing(i: number): boolean {
    if (!this.open(i)) return false;
    this.ints[i * I.WORDS + I.BITS]! |= CLOSING;
    return true;
  }

  /** The sweep saw `moved` bytes both ways in slot i at nowS: activity moves `t`. */
  moved(i: number, moved: number, nowS: number): void {
    const f = i * F.WORDS;
    if (moved === this.nums[f + F.MOVED]) return;
    this.nums[f + F.MOVED] = moved;
    this.nums[f + F.T] = nowS;
  }
}

/** What a view reads besides its numbers: the holder's arrays, its engine and its live words. */
export interface SlotsHolder extends SlotHolder {
  readonly arrays: SlotArrays;
  readonly live: Float64Array;
  readonly eng: NativeEngine;
}

/**
 * A connection whose sockets the engine owns, as the table, the pick and the statistics read it:
 * a view of its slot (see the top of the file). The holder is on the prototype (viewClass).
 */
export class NativeConnection implements PairEntry {
  clientIndex = -1;
  initial = NO_SERVER;
  server = NO_SERVER;
  t = 0;
  downId = -1;
  upId = -1;
  clientIp: string | null = null;
  clientPort = 0;
  /** STARTED, CLOSING, COUNTED and the failover count */
  bits = 0;
  /** the close record's bytes, once it has closed */
  final: Bytes | null = null;
  declare readonly holder: SlotsHolder;

  constructor(public index: number) {}

  /** A new connection in slot i: nothing of what the view showed before. */
  begin(i: number): this {
    this.index = i;
    this.clientIndex = -1;
    this.initial = NO_SERVER;
    this.server = NO_SERVER;
    this.upId = -1;
    this.bits = 0;
    this.final = null;
    return this;
  }

  get clientAddress(): string {
    return this.clientIp ?? 'unix';
  }

  /** How many failovers it had before this one (pick.ts bounds them). */
  failover(): number {
    const n = this.bits >>> 3;
    this.bits += FAILOVER;
    return n;
  }

  get started(): boolean {
    return (this.bits & STARTED) !== 0;
  }

  /** The engine takes it (select's answer). */
  start(): void {
    this.bits |= STARTED;
  }

  get counted(): boolean {
    return (this.bits & COUNTED) !== 0;
  }

  set counted(v: boolean) {
    this.bits = v ? this.bits | COUNTED : this.bits & ~COUNTED;
  }

  /** pen's state bits from the engine's */
  get state(): number {
    if (!this.started) return CS_CONNECTING;
    const st = word(this.holder.live, this.index * LIVE.WORDS + LIVE.STATE);
    if (st & STATE.CONNECTING) return CS_CONNECTING;
    return (st & STATE.CONNECTED ? CS_CONNECTED : 0) | (st & STATE.EOF_CLIENT ? CS_CLOSED_DOWN : 0)
      | (st & STATE.EOF_SERVER ? CS_CLOSED_UP : 0);
  }

  bytes(): Bytes {
    if (this.final !== null) return this.final;
    if (!this.started) return NO_BYTES;
    const o = this.index * LIVE.WORDS;
    const up = word(this.holder.live, o + LIVE.BYTES_UP);
    const down = word(this.holder.live, o + LIVE.BYTES_DOWN);
    return { sx: up, rx: down, csx: down, crx: up };
  }

  pendingDown(): number {
    return this.started && this.final === null ? this.holder.eng.info(this.index)?.pendingDown ?? 0 : 0;
  }

  pendingUp(): number {
    return this.started && this.final === null ? this.holder.eng.info(this.index)?.pendingUp ?? 0 : 0;
  }

  /** `close N`, shutdown: the engine closes it and its record releases it on the next loop turn. */
  close(): void {
    if (this.final === null && this.holder.arrays.closing(this.index)) this.holder.eng.close(this.index);
  }
}

export type ViewClass = new (index: number) => NativeConnection;

/** NativeConnection with its holder on the prototype: one class per listener, so no view carries the pointer. */
export function viewClass(holder: SlotsHolder): ViewClass {
  class OfHolder extends NativeConnection {}
  Object.defineProperty(OfHolder.prototype, 'holder', { value: holder });
  return OfHolder;
}
