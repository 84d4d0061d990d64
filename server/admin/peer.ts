// The active side of a pair (docs/high-availability.md). GET /peer streams this pen's state to a
// pen that follows it (--peer): the configuration as `write`'s command lines after every change,
// whatever made it, and the client-table entries that changed, looked at every CLIENT_SCAN_MS.
// A follower never slows this pen down: its send buffer is bounded, and one that falls behind is
// dropped (it reconnects and starts again from a fresh snapshot). PUT /role is for keepalived's
// notify script: it says whether this host holds the virtual address.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { PEER_PATH, type PeerClient, type PeerMessage } from '../../shared/peer.ts';
import { PeerSnapshotSchema, RoleSchema, type PenEvent, type Role } from '../../shared/snapshot.ts';
import type { Balancer } from '../core/balancer.ts';
import { subscribe } from '../core/events.ts';
import { configLines } from '../control/config.ts';
import type { AdminDeps } from './deps.ts';

const CLIENT_SCAN_MS = 200;
const STATUS_EVERY_MS = 1000;
/** entries per message; the rest wait for the next scan and count as behind */
const MAX_ENTRIES_PER_MESSAGE = 5000;
/** a follower whose unsent data passes this is dropped */
export const MAX_PEER_BUFFER = 1 << 20;

interface Feed {
  stop(): void;
}

/**
 * Send `pen`'s state through `write` until stop(). `write` returns false when the follower is too
 * far behind; the feed then stops and calls `drop`.
 */
export function startFeed(pen: Balancer, write: (line: string) => boolean, drop: () => void): Feed {
  /** what the follower has been sent: client key → "server/last" */
  const sent = new Map<string, string>();
  let lastConfig = '';
  let behind = 0;
  let stopped = false;
  const send = (msg: PeerMessage): void => {
    if (stopped) return;
    if (!write(`${JSON.stringify(msg)}\n`)) {
      stop();
      drop();
    }
  };

  const sendConfig = (): void => {
    const lines = configLines(pen);
    const text = lines.join('\n');
    if (text === lastConfig) return;
    lastConfig = text;
    send({ type: 'config', lines });
  };

  const scanClients = (): void => {
    const now = pen.now();
    const entries: PeerClient[] = [];
    behind = 0;
    for (const slot of pen.clients.slots) {
      if (slot.key === 'unix' || slot.server < 0 || !pen.clients.isActive(slot, now, pen.settings.trackingTime)) continue;
      const value = `${slot.server}/${slot.last}`;
      if (sent.get(slot.key) === value) continue;
      if (entries.length >= MAX_ENTRIES_PER_MESSAGE) {
        behind += 1;
        continue;
      }
      sent.set(slot.key, value);
      entries.push([slot.key, slot.server, Math.max(0, now - slot.last)]);
    }
    // forget what the table has forgotten, so `sent` stays as small as the table
    if (sent.size > pen.clients.size * 2) sent.clear();
    if (entries.length > 0) send({ type: 'clients', entries });
  };

  let configPending = false;
  const onEvent = (e: PenEvent): void => {
    if (e.type !== 'config' || configPending) return;
    // a -F reload or an include runs many lines: send once, after the last
    configPending = true;
    setImmediate(() => {
      configPending = false;
      sendConfig();
    });
  };

  sendConfig();
  scanClients();
  const unsubscribe = subscribe(pen, onEvent);
  const scan = setInterval(scanClients, CLIENT_SCAN_MS);
  const status = setInterval(() => send({ type: 'status', behind, role: pen.peer.role }), STATUS_EVERY_MS);
  pen.peer.followers += 1;

  function stop(): void {
    if (stopped) return;
    stopped = true;
    clearInterval(scan);
    clearInterval(status);
    unsubscribe();
    pen.peer.followers -= 1;
  }
  return { stop };
}

export const peerRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  const feeds = new Set<Feed>();
  app.addHook('onClose', async () => {
    for (const f of feeds) f.stop();
  });

  app.get(PEER_PATH, {
    schema: {
      tags: ['pair'],
      summary: 'For the pen that follows this one (--peer): this pen\'s configuration and client table, one JSON object a line, as they change',
      produces: ['application/x-ndjson'],
    },
  }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    const feed = startFeed(deps.pen, (line) => {
      if (res.writableLength > MAX_PEER_BUFFER) return false;
      res.write(line);
      return true;
    }, () => {
      req.log.warn({ remote: req.ip }, 'peer fell behind; dropped (it resyncs when it reconnects)');
      res.destroy();
    });
    feeds.add(feed);
    res.on('close', () => {
      feed.stop();
      feeds.delete(feed);
    });
  });

  app.put('/role', {
    schema: {
      tags: ['pair'],
      summary: "keepalived's notify script: this host's VRRP role (a master applies nothing its peer sends)",
      body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
      response: { 200: PeerSnapshotSchema },
    },
  }, async (req) => {
    const { role } = req.body as { role: Role };
    const pen = deps.pen;
    if (pen.peer.role !== role) {
      req.log.info({ remote: req.ip, role }, 'role');
      pen.peer.role = role;
      pen.peer.applying = role !== 'master';
    }
    return pen.peer;
  });
};
