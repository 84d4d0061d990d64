// buildAdmin(): the Fastify admin app, without listening (tests use inject; server.ts listens).
// REST is a thin adapter: reads come from stats/ snapshots, every change is a penctl line run
// through the registry. Docs and the dashboard's files are public; everything else sits behind
// the auth hook.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import fastifyStatic from '@fastify/static';
import pino from 'pino';
import type { Balancer } from '../core/balancer.ts';
import type { Runtime } from '../control/registry.ts';
import { createSampler, stopEventLoopMonitor } from '../stats/snapshot.ts';
import { NO_TOKENS, authHook, createFailureLimiter, type TokenStore } from './auth.ts';
import type { AdminDeps } from './deps.ts';
import { registerDocs } from './docs.ts';
import { installErrorHandlers } from './errors.ts';
import { aclRoutes } from './routes/acls.ts';
import { clientRoutes } from './routes/clients.ts';
import { commandRoutes } from './routes/commands.ts';
import { modeRoutes } from './routes/mode.ts';
import { serverRoutes } from './routes/servers.ts';
import { statsRoutes } from './routes/stats.ts';
import { streamRoutes } from './stream.ts';
import { typeboxValidatorCompiler } from './validation.ts';

export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export interface AdminOptions {
  pen: Balancer;
  runtime: Runtime;
  /** default: no tokens (everyone is admin; server.ts allows that on loopback only) */
  tokens?: TokenStore;
  /** default: pino at info to stderr */
  logger?: FastifyBaseLogger;
  /** failed authentications allowed per address, and from all addresses together, per window before 429 */
  authFailures?: { max?: number; globalMax?: number; windowMs?: number };
  /** WebSocket subscribers to /stream at once (default DEFAULT_STREAM_MAX); 503 past it */
  streamMax?: number;
  /** the dashboard's built files; served at / when the directory exists */
  webRoot?: string | null;
}

export async function buildAdmin(opts: AdminOptions): Promise<FastifyInstance> {
  const tokens = opts.tokens ?? NO_TOKENS;
  const app = Fastify({
    loggerInstance: opts.logger ?? pino({ level: 'info', base: { mod: 'admin' } }, pino.destination(2)),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
  });
  app.decorateRequest('callerScope', null);
  app.setValidatorCompiler(typeboxValidatorCompiler);
  installErrorHandlers(app);
  await registerDocs(app);
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  const deps: AdminDeps = { pen: opts.pen, runtime: opts.runtime, sampler: createSampler(opts.pen) };
  const limiter = createFailureLimiter(opts.authFailures);
  await app.register(async (api) => {
    api.addHook('onRequest', authHook(tokens, limiter));
    await api.register(serverRoutes, { deps });
    await api.register(modeRoutes, { deps });
    await api.register(clientRoutes, { deps });
    await api.register(aclRoutes, { deps });
    await api.register(commandRoutes, { deps });
    await api.register(statsRoutes, { deps, tokens });
    await api.register(streamRoutes, { deps, maxSubscribers: opts.streamMax });
  });

  const webRoot = opts.webRoot === undefined ? DEFAULT_WEB_ROOT : opts.webRoot;
  if (webRoot && existsSync(webRoot)) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/' });
  } else {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/docs'));
  }
  app.addHook('onClose', async () => stopEventLoopMonitor());
  return app;
}
