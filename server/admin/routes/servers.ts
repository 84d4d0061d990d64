// /servers: the server table, shaped the way `server N …` and `servers` are.
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import {
  BlacklistSchema, ErrorSchema, SERVER_PATCH_KEYS, ServerListSchema, ServerNewSchema, ServerParamsSchema,
  ServerPatchSchema, type Blacklist,
} from '../../../shared/api.ts';
import { ServerSnapshotSchema, type ServerSnapshot } from '../../../shared/snapshot.ts';
import { checkResolvable, failed, run, type AdminDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';

type Params = Static<typeof ServerParamsSchema>;
const tags = ['servers'];
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

/** The `server N key value …` line for the given fields, address first. */
function serverLine(n: number, body: Partial<Record<(typeof SERVER_PATCH_KEYS)[number], string | number>>): string {
  const words = [`server ${n}`];
  for (const key of SERVER_PATCH_KEYS) {
    if (body[key] !== undefined) words.push(`${key} ${body[key]}`);
  }
  return words.join(' ');
}

export const serverRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  const row = (n: number): ServerSnapshot => {
    const s = deps.sampler.sample().servers[n];
    if (!s) throw new HttpError(404, `no server ${n}`, 'n');
    return s;
  };

  const runServerLine = async (req: Parameters<typeof run>[1], line: string, field?: string) => {
    failed(await run(deps, req, line), field);
  };

  app.get('/servers', {
    schema: { tags, summary: 'All servers with state, limits, counters and rates (`servers`)', response: { 200: ServerListSchema } },
  }, async () => deps.sampler.sample().servers);

  app.post<{ Body: Static<typeof ServerNewSchema> }>('/servers', {
    schema: {
      tags, summary: 'Add a server in the next free slot (`server N address A …`)',
      body: ServerNewSchema, response: { 201: ServerSnapshotSchema, ...errors },
    },
  }, async (req, reply) => {
    await checkResolvable(req.body.address);
    const n = deps.sampler.sample().servers.length;
    await runServerLine(req, serverLine(n, req.body), 'address');
    return reply.code(201).send(row(n));
  });

  app.get<{ Params: Params }>('/servers/:n', {
    schema: { tags, summary: 'One server', params: ServerParamsSchema, response: { 200: ServerSnapshotSchema, ...errors } },
  }, async (req) => row(req.params.n));

  app.patch<{ Params: Params; Body: Static<typeof ServerPatchSchema> }>('/servers/:n', {
    schema: {
      tags, summary: 'Change a server (`server N address A port P max M hard H weight W prio P acl A`)',
      params: ServerParamsSchema, body: ServerPatchSchema, response: { 200: ServerSnapshotSchema, ...errors },
    },
  }, async (req) => {
    const { n } = req.params;
    row(n);
    if (req.body.address !== undefined) await checkResolvable(req.body.address);
    await runServerLine(req, serverLine(n, req.body), req.body.address !== undefined ? 'address' : undefined);
    return row(n);
  });

  app.get<{ Params: Params }>('/servers/:n/blacklist', {
    schema: { tags, summary: 'Seconds of blacklisting left (0 = not blacklisted)', params: ServerParamsSchema, response: { 200: BlacklistSchema, ...errors } },
  }, async (req): Promise<Blacklist> => ({ seconds: row(req.params.n).blacklistLeft }));

  app.put<{ Params: Params; Body: Blacklist }>('/servers/:n/blacklist', {
    schema: {
      tags, summary: 'Blacklist a server for exactly this many seconds from now (`server N blacklist T`)',
      params: ServerParamsSchema, body: BlacklistSchema, response: { 200: BlacklistSchema, ...errors },
    },
  }, async (req): Promise<Blacklist> => {
    const { n } = req.params;
    row(n);
    await runServerLine(req, `server ${n} blacklist ${req.body.seconds}`);
    return { seconds: row(n).blacklistLeft };
  });

  app.delete<{ Params: Params }>('/servers/:n/blacklist', {
    schema: { tags, summary: 'End a blacklisting now (`server N blacklist 0`)', params: ServerParamsSchema, response: { 200: BlacklistSchema, ...errors } },
  }, async (req): Promise<Blacklist> => {
    const { n } = req.params;
    row(n);
    await runServerLine(req, `server ${n} blacklist 0`);
    return { seconds: row(n).blacklistLeft };
  });
};
