// /health and /servers/:n/health, /servers/:n/drain: the active checks and drain, each change a
// `health …`, `server N health …` or `server N drain …` line through the registry.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ErrorSchema, ServerParamsSchema } from '../../../shared/api.ts';
import { HealthBodySchema, HealthCheckSchema, healthWordsOf, type HealthBody, type HealthCheck } from '../../../shared/health.ts';
import { ServerHealthSchema, type ServerHealth } from '../../../shared/snapshot.ts';
import { failed, run, type AdminDeps } from '../deps.ts';
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
  const server = (n: number) => serverHealth(n);
  const change = async (req: Parameters<typeof run>[1], line: string) => failed(await run(deps, req, line), 'body');

  app.get('/health', {
    schema: { tags, summary: 'The default health check (`health`)', response: { 200: HealthCheckSchema } },
  }, async (): Promise<HealthCheck> => deps.sampler.sample().health);

  app.put<{ Body: HealthBody }>('/health', {
    schema: {
      tags, summary: 'Set the default health check (`health off|tcp|http PATH [STATUS]|dns NAME [interval S] [timeout S] [rise N] [fall N]`)',
      body: HealthBodySchema, response: { 200: HealthCheckSchema, ...errors },
    },
  }, async (req): Promise<HealthCheck> => {
    await change(req, `health ${healthWordsOf(req.body)}`);
    return deps.sampler.sample().health;
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
    server(req.params.n);
    await change(req, `server ${req.params.n} health ${healthWordsOf(req.body)}`);
    return serverHealth(req.params.n);
  });

  app.delete<{ Params: Params }>('/servers/:n/health', {
    schema: { tags, summary: 'Back to the default check (`server N health default`)', params: ServerParamsSchema, response: { 200: ServerHealthSchema, ...errors } },
  }, async (req) => {
    server(req.params.n);
    await change(req, `server ${req.params.n} health default`);
    return serverHealth(req.params.n);
  });

  app.put<{ Params: Params }>('/servers/:n/drain', {
    schema: { tags, summary: 'Drain a server: no new picks, open connections carry on (`server N drain on`)', params: ServerParamsSchema, response: { 200: DrainSchema, ...errors } },
  }, async (req): Promise<Drain> => {
    server(req.params.n);
    await change(req, `server ${req.params.n} drain on`);
    return { drain: serverHealth(req.params.n).drain };
  });

  app.delete<{ Params: Params }>('/servers/:n/drain', {
    schema: { tags, summary: 'Stop draining a server (`server N drain off`)', params: ServerParamsSchema, response: { 200: DrainSchema, ...errors } },
  }, async (req): Promise<Drain> => {
    server(req.params.n);
    await change(req, `server ${req.params.n} drain off`);
    return { drain: serverHealth(req.params.n).drain };
  });
};
