// buildAdmin(): the Fastify admin app, without listening (tests use inject; server.ts listens).
// REST is a thin adapter: reads come from stats/ snapshots, every change is a command entry's
// apply (control/registry.ts), the one the penctl port runs. Docs and the dashboard's files are
// public; everything else sits behind the auth hook.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STREAM_PROTOCOL } from '../../shared/stream-auth.ts';
import type { Balancer } from '../core/balancer.ts';
import type { Runtime } from '../control/context.ts';
import { createSampler, stopEventLoopMonitor } from '../stats/snapshot.ts';
import { NO_TOKENS, authHook, createFailureLimiter, type TokenStore } from './auth.ts';
import type { AdminDeps } from './deps.ts';
import { registerDocs } from './docs.ts';
import { SECURITY_HEADERS, allowedHosts, createGuard, type GuardOptions } from './guard.ts';
import { errorBody, installErrorHandlers } from './errors.ts';
import { Fastify, LogController, fastifyStatic, pino, websocket } from './packages.ts';
import { aclRoutes } from './routes/acls.ts';
import { clientRoutes } from './routes/clients.ts';
import { commandRoutes } from './routes/commands.ts';
import { healthzRoutes } from './routes/healthz.ts';
import { peerRoutes } from './peer.ts';
import { modeRoutes } from './routes/mode.ts';
import { serverRoutes } from './routes/servers.ts';
import { healthRoutes } from './routes/health.ts';
import { statsRoutes } from './routes/stats.ts';
import { streamRoutes } from './stream.ts';
import { typeboxValidatorCompiler } from './validation.ts';
import { WEB_ROOT } from '../package.ts';

/** the dashboard's built files, beside package.json in a checkout and in an installed package */
export const DEFAULT_WEB_ROOT = WEB_ROOT;

export interface AdminOptions {
  pen: Balancer;
  runtime: Runtime;
  /** default: no tokens (everyone is admin; server.ts allows that on loopback only) */
  tokens?: TokenStore;
  /** default: pino at info to stderr (JSON lines beside pen's debug lines) */
  logger?: FastifyBaseLogger;
  /** failed authentications allowed per address, and from all addresses together, per window before 429 */
  authFailures?: { max?: number; globalMax?: number; windowMs?: number };
  /** WebSocket subscribers to /stream at once (default DEFAULT_STREAM_MAX); 503 past it */
  streamMax?: number;
  /** the dashboard's built files; served at / when the directory exists */
  webRoot?: string | null;
  /** Host names and CORS origins (guard.ts); default: the loopback names, no CORS */
  guard?: GuardOptions;
  /** where REST may name files; default: the -F file's directory, if any */
  fileRoot?: string | null;
}

/** The configuration directory: --admin-file-root, else the -F file's directory. */
function fileRootOf(opts: AdminOptions): () => string | null {
  return () => {
    if (opts.fileRoot) return resolve(opts.fileRoot);
    const cfg = opts.pen.settings.configFile;
    return cfg ? dirname(resolve(cfg)) : null;
  };
}

/**
 * A URL the router cannot take (bad escapes, a parameter too long) never reaches the hooks:
 * answer it in our format, with the browser headers, and without echoing the URL.
 */
function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  void reply.headers(SECURITY_HEADERS).code(status).send(errorBody(status, status === 414 ? 'a path parameter is too long' : 'the URL is not valid'));
}

export async function buildAdmin(opts: AdminOptions): Promise<FastifyInstance> {
  const tokens = opts.tokens ?? NO_TOKENS;
  const app = Fastify({
    // through process.stderr, the stream pen's debug lines use: one queue written from one
    // thread, so the two kinds of line never split or reorder each other, even when the reader
    // falls behind (pino's own fd writer would queue separately)
    loggerInstance: opts.logger ?? pino({ level: 'info', base: { mod: 'admin' } }, process.stderr),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    frameworkErrors,
  });
  // first of all hooks: Host, Origin and the browser headers come before auth, routes and upgrades
  app.addHook('onRequest', createGuard(opts.guard ?? { hosts: allowedHosts('127.0.0.1', true), cors: [] }));
  app.decorateRequest('callerScope', null);
  app.setValidatorCompiler(typeboxValidatorCompiler);
  installErrorHandlers(app);
  await registerDocs(app);
  await app.register(websocket, {
    options: {
      maxPayload: 64 * 1024,
      // select the stream's protocol, never the token one (see STREAM_PROTOCOL)
      handleProtocols: (offered: Set<string>) => (offered.has(STREAM_PROTOCOL) ? STREAM_PROTOCOL : false),
    },
  });

  const deps: AdminDeps = {
    pen: opts.pen, runtime: opts.runtime, sampler: createSampler(opts.pen), fileRoot: fileRootOf(opts),
  };
  const limiter = createFailureLimiter(opts.authFailures);
  await app.register(async (api) => {
    api.addHook('onRequest', authHook(tokens, limiter));
    await api.register(serverRoutes, { deps });
    await api.register(healthRoutes, { deps });
    await api.register(modeRoutes, { deps });
    await api.register(clientRoutes, { deps });
    await api.register(aclRoutes, { deps });
    await api.register(commandRoutes, { deps });
    await api.register(statsRoutes, { deps, tokens });
    await api.register(streamRoutes, { deps, maxSubscribers: opts.streamMax });
    await api.register(healthzRoutes, { deps });
    await api.register(peerRoutes, { deps });
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
