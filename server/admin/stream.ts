// GET /stream (WebSocket): a snapshot every second (the first at once) and events the moment
// they happen. One timer and one 'event' listener serve every subscriber, and both exist only
// while someone is subscribed, so an unwatched pen pays nothing.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { WebSocket } from 'ws';
import type { StreamMessage } from '../../shared/api.ts';
import type { PenEvent, ServerSnapshot } from '../../shared/snapshot.ts';
import { serverStates } from '../stats/snapshot.ts';
import type { AdminDeps } from './deps.ts';

type ServerState = ServerSnapshot['state'];

/** a subscriber this far behind misses snapshots (events still go out) … */
const SKIP_SNAPSHOTS_ABOVE = 1 << 20;
/** … and one this far behind is dropped */
const DROP_ABOVE = 8 << 20;

/** ping every this many ticks; a subscriber that has not answered the last ping is dropped */
const PING_EVERY_TICKS = 30;

/** at most one 'limit' event per server this often */
const LIMIT_EVENT_INTERVAL_MS = 1000;

export interface StreamHub {
  add(socket: WebSocket): void;
  readonly size: number;
  close(): void;
}

export function createStreamHub(deps: AdminDeps, intervalMs = 1000): StreamHub {
  const { pen } = deps;
  const sockets = new Set<WebSocket>();
  /** subscribers that have not answered the last ping */
  const silent = new WeakSet<WebSocket>();
  let ticks = 0;
  let timer: NodeJS.Timeout | null = null;
  let states: ServerState[] = [];

  const broadcast = (msg: StreamMessage): void => {
    const text = JSON.stringify(msg);
    for (const ws of sockets) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > DROP_ABOVE) {
        ws.terminate();
        continue;
      }
      if (msg.type === 'snapshot' && ws.bufferedAmount > SKIP_SNAPSHOTS_ABOVE) continue;
      ws.send(text);
    }
  };

  const event = (e: Omit<PenEvent, 'time'>): void => broadcast({ type: 'event', event: { ...e, time: pen.now() } });

  /**
   * Compare server states with the last look and announce what the core does not: a blacklisting
   * that ran out ('back'), and blacklistings and un-blacklistings made by commands.
   */
  const transitions = (now: readonly ServerState[]): void => {
    now.forEach((cur, i) => {
      const before = states[i];
      if (before === undefined || before === cur) return;
      if (before === 'blacklisted') event({ type: 'back', server: i, message: `server ${i} is back` });
      else if (cur === 'blacklisted') event({ type: 'blacklisted', server: i, message: `server ${i} blacklisted` });
    });
    states = [...now];
  };

  /** when each server last had a 'limit' event pushed */
  const lastLimit = new Map<number, number>();

  const onEvent = (e: PenEvent): void => {
    // WHY: the core may report these once per connection; subscribers get state changes, so a
    // busy pen does no per-connection work for them
    if (e.type === 'blacklisted' && e.server !== undefined && e.server >= 0) {
      if (states[e.server] === 'blacklisted') return;
      // remembered, so the next look does not announce it again
      states[e.server] = 'blacklisted';
    }
    if (e.type === 'limit' && e.server !== undefined) {
      const now = Date.now();
      if (now - (lastLimit.get(e.server) ?? -Infinity) < LIMIT_EVENT_INTERVAL_MS) return;
      lastLimit.set(e.server, now);
    }
    broadcast({ type: 'event', event: e });
    if (e.type === 'config') transitions(serverStates(pen));
  };

  /** a dead peer would otherwise only be noticed once its send buffer filled up */
  const heartbeat = (): void => {
    for (const ws of sockets) {
      if (silent.has(ws)) {
        ws.terminate();
        continue;
      }
      silent.add(ws);
      ws.ping();
    }
  };

  const tick = (): void => {
    ticks += 1;
    if (ticks % PING_EVERY_TICKS === 0) heartbeat();
    const snapshot = deps.sampler.sample();
    transitions(snapshot.servers.map((s) => s.state));
    broadcast({ type: 'snapshot', snapshot });
  };

  const start = (): void => {
    states = serverStates(pen);
    pen.on('event', onEvent);
    timer = setInterval(tick, intervalMs);
  };

  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = null;
    pen.off('event', onEvent);
  };

  return {
    get size() {
      return sockets.size;
    },
    add(ws) {
      sockets.add(ws);
      if (sockets.size === 1) start();
      const leave = () => {
        if (sockets.delete(ws) && sockets.size === 0) stop();
      };
      ws.on('close', leave);
      ws.on('error', leave);
      ws.on('pong', () => silent.delete(ws));
      ws.send(JSON.stringify({ type: 'snapshot', snapshot: deps.sampler.sample() } satisfies StreamMessage));
    },
    close() {
      for (const ws of sockets) ws.terminate();
      sockets.clear();
      stop();
    },
  };
}

export const streamRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  const hub = createStreamHub(deps);
  app.addHook('onClose', async () => hub.close());
  app.get('/stream', {
    websocket: true,
    config: { scope: 'read', queryToken: true },
    schema: {
      tags: ['stats'],
      summary: 'WebSocket: {"type":"snapshot","snapshot":…} every second and {"type":"event","event":…} as events happen',
      description: 'Browsers cannot set headers on a WebSocket: offer the subprotocols pen.stream and pen.token.<token in base64url>. Tools that can do neither may use ?token= (it can leak through URLs).',
      querystring: Type.Object({ token: Type.Optional(Type.String()) }),
    },
  }, (socket) => hub.add(socket));
};
