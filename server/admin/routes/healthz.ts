// GET /healthz: public, for keepalived's track_script or any load balancer's HTTP check. 200 only
// while this pen can take a client: its listener is open, it is not draining (--drain), and at
// least one server is up (not blacklisted, health-down, draining or at its limit). Anything else
// is 503 with the reason.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isOut } from '../../core/servers.ts';
import type { Balancer } from '../../core/balancer.ts';
import type { AdminDeps } from '../deps.ts';

const HealthSchema = Type.Object({ ok: Type.Boolean(), reason: Type.Optional(Type.String()) });

/** Why this pen cannot take a client now, or null when it can. */
export function unhealthy(pen: Balancer): string | null {
  if (pen.listener === null) return 'not listening';
  if (pen.draining) return 'draining: stopping after SIGTERM';
  const now = pen.now();
  // up: has an address, not blacklisted, not found down by its checks, not draining, below its limit
  const up = pen.servers.list.some((s) =>
    s.family !== 0 && !isOut(s, now, pen.settings.blacklistTime) && !(s.maxc > 0 && s.c >= s.maxc));
  if (!up) return 'no server is up';
  return null;
}

export const healthzRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  app.get('/healthz', {
    config: { scope: 'public' },
    schema: { tags: ['stats'], summary: 'Whether this pen can forward a client now (200) or not (503, with the reason)', response: { 200: HealthSchema, 503: HealthSchema } },
  }, async (_req, reply) => {
    const reason = unhealthy(deps.pen);
    if (reason === null) return { ok: true };
    return reply.code(503).send({ ok: false, reason });
  });
};
