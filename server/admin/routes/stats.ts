// /stats (the snapshot), /status (pen's HTML page), /metrics (Prometheus), /whoami.
import type { FastifyPluginAsync } from 'fastify';
import { WhoAmISchema, type WhoAmI } from '../../../shared/api.ts';
import { SnapshotSchema } from '../../../shared/snapshot.ts';
import { renderStatusHtml } from '../../stats/html.ts';
import type { AdminDeps } from '../deps.ts';
import { createMetrics } from '../metrics.ts';
import type { TokenStore } from '../auth.ts';


export const statsRoutes: FastifyPluginAsync<{ deps: AdminDeps; tokens: TokenStore }> = async (
  app, { deps, tokens },
) => {
  const metrics = createMetrics();

  app.get('/stats', {
    schema: { tags: ['stats'], summary: 'The live statistics snapshot (the USR1 statistics as data)', response: { 200: SnapshotSchema } },
  }, async () => deps.sampler.sample());

  app.get('/status', {
    schema: { tags: ['stats'], summary: "pen's HTML status page", produces: ['text/html'] },
  }, async (_req, reply) => {
    reply.type('text/html; charset=utf-8');
    // WHY: rendered directly rather than through the `status` command: that command also rewrites
    // the -w file (and without -w answers "Unable to create webstats"), and a GET changes nothing
    return renderStatusHtml(deps.pen);
  });

  app.get('/metrics', {
    schema: { tags: ['stats'], summary: 'Prometheus metrics (HAProxy exporter naming, pen_ prefix)', produces: ['text/plain'] },
  }, async (_req, reply) => {
    const text = await metrics.render(deps.sampler.sample());
    return reply.type(metrics.contentType).send(text);
  });

  app.get('/whoami', {
    config: { scope: 'optional' },
    schema: { tags: ['auth'], summary: "The caller's scope (null: tokens are configured and none was sent)", response: { 200: WhoAmISchema } },
  }, async (req): Promise<WhoAmI> => ({ scope: req.callerScope, auth: tokens.enabled }));
};
