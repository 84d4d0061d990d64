// GET /stream (WebSocket): a snapshot every second (the first at once) and events the moment
// they happen. One timer and one events listener serve every subscriber, and both exist only
// while someone is subscribed, so an unwatched pen pays nothing.
//
// Memory: each message is encoded once, into one Buffer that every subscriber's socket shares.
// While a subscriber's socket still holds unsent data (its buffered amount) nothing more is
// written to it: events wait in a short list and snapshots replace each other (coalesced), so
// what a slow subscriber costs is bounded in frames, not just bytes. One that stays blocked for
// STALL_TICKS ticks, or has more than HELD_MAX events waiting, is dropped. The number of
// subscribers is capped (503 past it, and close code 1013 for one that races past the check).
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { WebSocket } from 'ws';
import type { StreamMessage } from '../../shared/api.ts';
import type { PenEvent } from '../../shared/snapshot.ts';
import { subscribe } from '../core/events.ts';
import type { AdminDeps } from './deps.ts';
import { HttpError } from './errors.ts';

/** subscribers at once unless --admin-stream-max says otherwise: a dashboard per operator */
export const DEFAULT_STREAM_MAX = 32;

/** a subscriber blocked for this many ticks (its snapshot never went out) is dropped */
const STALL_TICKS = 10;

/** events a blocked subscriber may have waiting; one more and it is dropped */
const HELD_MAX = 256;

/** ping every this many ticks; a subscriber that has not answered the last ping is dropped */
const PING_EVERY_TICKS = 30;

/** WebSocket close code 1013: try again later */
const TRY_AGAIN_LATER = 1013;

interface Subscriber {
  ws: WebSocket;
  /** what was last written has not all gone out yet; write nothing more until it has */
  blocked: boolean;
  /** numbers the writes, so only the callback of the latest one unblocks */
  writes: number;
  /** events that came while blocked, in order */
  held: Buffer[];
  /** the newest snapshot that came while blocked (older ones are dropped, not queued) */
  snapshot: Buffer | null;
  /** ticks spent blocked */
  stalled: number;
  /** has not answered the last ping */
  silent: boolean;
}

export interface StreamHub {
  /** false (and the socket closed with 1013) when the hub is full */
  add(socket: WebSocket): boolean;
  readonly size: number;
  readonly full: boolean;
  close(): void;
}

const encode = (msg: StreamMessage): Buffer => Buffer.from(JSON.stringify(msg));

export function createStreamHub(deps: AdminDeps, intervalMs = 1000, maxSubscribers = DEFAULT_STREAM_MAX): StreamHub {
  const { pen } = deps;
  const subs = new Map<WebSocket, Subscriber>();
  let ticks = 0;
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;
  /**
   * The last snapshot sent and the events since, which a newcomer gets while the snapshot is
   * younger than a tick: the view it would have had by subscribing then, and a reconnect loop
   * costs no sampling.
   */
  let latest: { data: Buffer; at: number; since: Buffer[] } | null = null;

  const drop = (sub: Subscriber): void => {
    sub.ws.terminate();
    subs.delete(sub.ws);
  };

  const write = (sub: Subscriber, frames: Buffer[]): void => {
    const mine = ++sub.writes;
    // WHY: `binary: false` sends the shared Buffer as a text frame, which is what browsers parse.
    // Writable calls back in order, so the last frame's callback means all of them went out.
    frames.forEach((data, i) => sub.ws.send(data, { binary: false }, i < frames.length - 1 ? undefined : () => {
      if (sub.blocked && sub.writes === mine) unblock(sub);
    }));
    // a write the kernel takes at once leaves nothing buffered
    if (sub.ws.bufferedAmount > 0) sub.blocked = true;
  };

  const unblock = (sub: Subscriber): void => {
    sub.blocked = false;
    sub.stalled = 0;
    const frames = sub.snapshot ? [...sub.held, sub.snapshot] : sub.held;
    sub.held = [];
    sub.snapshot = null;
    if (frames.length > 0 && sub.ws.readyState === sub.ws.OPEN) write(sub, frames);
  };

  const deliver = (sub: Subscriber, data: Buffer, snapshot: boolean): void => {
    if (sub.ws.readyState !== sub.ws.OPEN) return;
    if (!sub.blocked) return write(sub, [data]);
    if (snapshot) {
      sub.snapshot = data;
      sub.stalled += 1;
      if (sub.stalled >= STALL_TICKS) drop(sub);
    } else if (sub.held.length >= HELD_MAX) {
      drop(sub);
    } else {
      sub.held.push(data);
    }
  };

  const broadcast = (msg: StreamMessage): void => {
    const data = encode(msg);
    if (msg.type === 'snapshot') latest = { data, at: Date.now(), since: [] };
    else if (latest && latest.since.push(data) > HELD_MAX) latest = null;
    for (const sub of subs.values()) deliver(sub, data, msg.type === 'snapshot');
  };

  // the core publishes each transition once (core/events.ts): forwarded as it comes
  const onEvent = (e: PenEvent): void => broadcast({ type: 'event', event: e });

  /** a dead peer would otherwise only be noticed once its send buffer filled up */
  const heartbeat = (): void => {
    for (const sub of subs.values()) {
      if (sub.silent) {
        drop(sub);
        continue;
      }
      sub.silent = true;
      sub.ws.ping();
    }
  };

  const tick = (): void => {
    ticks += 1;
    if (ticks % PING_EVERY_TICKS === 0) heartbeat();
    const snapshot = deps.sampler.sample();
    broadcast({ type: 'snapshot', snapshot });
  };

  const start = (): void => {
    unsubscribe = subscribe(pen, onEvent);
    timer = setInterval(tick, intervalMs);
  };

  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = null;
    unsubscribe?.();
    unsubscribe = null;
    // an unwatched pen keeps no snapshot around
    latest = null;
  };

  return {
    get size() {
      return subs.size;
    },
    get full() {
      return subs.size >= maxSubscribers;
    },
    add(ws) {
      if (subs.size >= maxSubscribers) {
        ws.close(TRY_AGAIN_LATER, 'too many stream subscribers');
        return false;
      }
      const sub: Subscriber = { ws, blocked: false, writes: 0, held: [], snapshot: null, stalled: 0, silent: false };
      subs.set(ws, sub);
      if (subs.size === 1 && timer === null) start();
      const leave = () => {
        if (subs.get(ws) === sub) subs.delete(ws);
        if (subs.size === 0) stop();
      };
      ws.on('close', leave);
      ws.on('error', leave);
      ws.on('pong', () => { sub.silent = false; });
      if (!latest || Date.now() - latest.at >= intervalMs) {
        latest = { data: encode({ type: 'snapshot', snapshot: deps.sampler.sample() }), at: Date.now(), since: [] };
      }
      write(sub, [latest.data, ...latest.since]);
      return true;
    },
    close() {
      for (const sub of subs.values()) sub.ws.terminate();
      subs.clear();
      stop();
    },
  };
}

export const streamRoutes: FastifyPluginAsync<{ deps: AdminDeps; maxSubscribers?: number }> = async (
  app, { deps, maxSubscribers },
) => {
  const hub = createStreamHub(deps, 1000, maxSubscribers);
  app.addHook('onClose', async () => hub.close());
  app.get('/stream', {
    websocket: true,
    config: { scope: 'read', queryToken: true },
    schema: {
      tags: ['stats'],
      summary: 'WebSocket: {"type":"snapshot","snapshot":…} every second and {"type":"event","event":…} as events happen',
      description: 'Browsers cannot set headers on a WebSocket: offer the subprotocols pen.stream and pen.token.<token in base64url>. Tools that can do neither may use ?token= (it can leak through URLs). 503 when --admin-stream-max subscribers are connected.',
      querystring: Type.Object({ token: Type.Optional(Type.String()) }),
    },
    // before the upgrade, so a full hub answers in HTTP; add() still enforces the cap for a race
    preValidation: async (_req, reply) => {
      if (!hub.full) return;
      reply.header('retry-after', '5');
      throw new HttpError(503, `the stream has its maximum of ${maxSubscribers ?? DEFAULT_STREAM_MAX} subscribers; try again later`);
    },
  }, (socket) => { hub.add(socket); });
};
