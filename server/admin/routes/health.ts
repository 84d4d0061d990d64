// /health and /servers/:n/health, /servers/:n/drain: the active checks and drain. A body is made
// a typed check (shared/health.ts's checkOf) and given to the `health` or `server` entry's apply,
// which refuses a check `health …` would refuse before it changes anything.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ErrorSchema, ServerParamsSchema } from '../../../shared/api.ts';
import {
  HealthBodySchema, HealthCheckSchema, checkOf, healthWordsOf, type HealthBody, type HealthCheck,
} from '../../../shared/health.ts';
import { ServerHealthSchema, type ServerHealth } from '../../../shared/snapshot.ts';
import type { HealthOutcome, ServerArgs } from '../../control/commands-state.ts';
import { apply, failed, type AdminDeps } from '../deps.ts';
import { serverHealthView } from '../../stats/snapshot.ts';
import { HttpError } from '../errors.ts';

type Params = Static<typeof ServerParamsSchema>;
const tags = ['health'];
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

export const DrainSchema = Type.Object({ drain: Type.Boolean() }, { additionalProperties: false });
type Drain = Static<typeof DrainSchema>;

export const healthRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  const serverHealth = (n: number): ServerHealth => {
    const view = serverHealthView(deps.pen, n);
    if (!view) throw new HttpError(404, `no server ${n}`, 'n');
    return view;
  };
  /** `server N health …` / `drain …` on a slot that exists (REST makes no slot here): its view afterwards. */
  const changeServer = async (req: FastifyRequest, args: ServerArgs, line: string): Promise<ServerHealth> => {
    serverHealth(args.n ?? -1);
    failed(await apply(deps, req, 'server', args, line), 'body');
    return serverHealth(args.n ?? -1);
  };

  app.get('/health', {
    schema: { tags, summary: 'The default health check (`health`)', response: { 200: HealthCheckSchema } },
  }, async (): Promise<HealthCheck> => deps.pen.healthDefault);

  app.put<{ Body: HealthBody }>('/health', {
    schema: {
      tags, summary: 'Set the default health check (`health off|tcp|http PATH [STATUS]|dns NAME [interval S] [timeout S] [rise N] [fall N]`)',
      body: HealthBodySchema, response: { 200: HealthCheckSchema, ...errors },
    },
  }, async (req): Promise<HealthCheck> => {
    const result = await apply(deps, req, 'health', { check: checkOf(req.body) }, `health ${healthWordsOf(req.body)}`);
    failed(result, 'body');
    return (result.outcome as HealthOutcome).health;
  });

  app.get<{ Params: Params }>('/servers/:n/health', {
    schema: { tags, summary: "A server's check and its state", params: ServerParamsSchema, response: { 200: ServerHealthSchema, ...errors } },
  }, async (req) => serverHealth(req.params.n));

  app.put<{ Params: Params; Body: HealthBody }>('/servers/:n/health', {
    schema: {
      tags, summary: 'Give a server its own check (`server N health …`)',
      params: ServerParamsSchema, body: HealthBodySchema, response: { 200: ServerHealthSchema, ...errors },
    },
  }, async (req) => {
    const { n } = req.params;
    return changeServer(req, { n, pairs: [], health: checkOf(req.body) }, `server ${n} health ${healthWordsOf(req.body)}`);
  });

  app.delete<{ Params: Params }>('/servers/:n/health', {
    schema: { tags, summary: 'Back to the default check (`server N health default`)', params: ServerParamsSchema, response: { 200: ServerHealthSchema, ...errors } },
  }, async (req) => changeServer(req, { n: req.params.n, pairs: [], health: null }, `server ${req.params.n} health default`));

  for (const on of [true, false]) {
    const route = {
      schema: {
        tags, params: ServerParamsSchema, response: { 200: DrainSchema, ...errors },
        summary: on
          ? 'Drain a server: no new picks, open connections carry on (`server N drain on`)'
          : 'Stop draining a server (`server N drain off`)',
      },
    };
    const handler = async (req: FastifyRequest<{ Params: Params }>): Promise<Drain> => {
      const { n } = req.params;
      return { drain: (await changeServer(req, { n, pairs: [], drain: on }, `server ${n} drain ${on ? 'on' : 'off'}`)).drain };
    };
    if (on) app.put<{ Params: Params }>('/servers/:n/drain', route, handler);
    else app.delete<{ Params: Params }>('/servers/:n/drain', route, handler);
  }
};
