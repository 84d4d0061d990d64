// Events declared once: one node:diagnostics_channel channel per type in shared/snapshot.ts's
// PEN_EVENT_TYPES. The core publishes once per transition, where the transition happens, and
// builds nothing when a channel has no subscribers, so an unwatched pen pays one boolean read.
// Channels are process-wide; a message carries the balancer it is about, so several balancers
// in one process (the in-process tests) each see only their own.
import { channel, subscribe as subscribeChannel, unsubscribe as unsubscribeChannel, type Channel } from 'node:diagnostics_channel';
import { PEN_EVENT_TYPES, type PenEvent, type PenEventType } from '../../shared/snapshot.ts';
import { nowSeconds } from './servers.ts';

/** What goes down a channel: the event, and whose it is. */
export interface EventMessage {
  source: object;
  event: PenEvent;
}

export const CHANNELS = Object.fromEntries(PEN_EVENT_TYPES.map((type) => [type, channel(`pen:${type}`)])) as Record<PenEventType, Channel>;

/** Announce one transition of `source`; `server` is the server it concerns, if any. */
export function publish(source: object, type: PenEventType, message: string, server?: number): void {
  const ch = CHANNELS[type];
  if (!ch.hasSubscribers) return;
  const event: PenEvent = server === undefined
    ? { type, time: nowSeconds(), message }
    : { type, time: nowSeconds(), server, message };
  ch.publish({ source, event } satisfies EventMessage);
}

const listeners = new WeakMap<object, number>();

/** Hear every event of `source`, in the order published; returns the unsubscribe. */
export function subscribe(source: object, listener: (e: PenEvent) => void): () => void {
  const onMessage = (m: unknown) => {
    const { source: from, event } = m as EventMessage;
    if (from === source) listener(event);
  };
  for (const type of PEN_EVENT_TYPES) subscribeChannel(`pen:${type}`, onMessage);
  listeners.set(source, (listeners.get(source) ?? 0) + 1);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    for (const type of PEN_EVENT_TYPES) unsubscribeChannel(`pen:${type}`, onMessage);
    listeners.set(source, (listeners.get(source) ?? 1) - 1);
  };
}

/** How many listeners `source` has (the stream hub keeps one for all its subscribers). */
export function listenerCount(source: object): number {
  return listeners.get(source) ?? 0;
}
