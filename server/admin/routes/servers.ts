// /servers: the server table, shaped the way `server N …` and `servers` are.
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import {
  BlacklistSchema, ErrorSchema, SERVER_PATCH_KEYS, ServerListSchema, ServerNewSchema, ServerParamsSchema,
  ServerPatchSchema, type Blacklist,
} from '../../../shared/api.ts';
import { ServerSnapshotSchema, type ServerSnapshot } from '../../../shared/snapshot.ts';
import type { ServerOutcome, ServerPair } from '../../control/commands-state.ts';
import { apply, failed, type AdminDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';

type Params = Static<typeof ServerParamsSchema>;
const tags = ['servers'];
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

type ServerFields = Partial<Record<(typeof SERVER_PATCH_KEYS)[number], string | number>>;

/** `server N …`'s typed pairs for the given fields, address first, as the line below has them. */
function serverPairs(body: ServerFields): ServerPair[] {
  return SERVER_PATCH_KEYS.filter((key) => body[key] !== undefined)
    .map((key) => (key === 'address' ? { key, value: String(body[key]) } : { key, value: Number(body[key]) }));
}

/** The `server N key value …` line for the given fields, address first. */
function serverLine(n: number, body: ServerFields): string {
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
  /** 404 for a slot that does not exist: REST changes servers, `POST /servers` makes them */
  const exists = (n: number): void => {
    if (n >= deps.pen.servers.list.length) throw new HttpError(404, `no server ${n}`, 'n');
  };

  /**
   * The server entry's apply on typed pairs: it checks every number and resolves every address
   * before it changes anything, so a refusal leaves no trace (and no slot). `line` is what it stands for.
   */
  const applyServer = async (
    req: Parameters<typeof apply>[1], n: number, pairs: ServerPair[], line: string,
  ): Promise<ServerOutcome> => {
    const result = await apply(deps, req, 'server', { n, pairs }, line);
    failed(result, result.error?.code === 'PEN_ERR_ADDRESS' ? 'address' : undefined);
    return result.outcome as ServerOutcome;
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
    const n = deps.pen.servers.list.length;
    await applyServer(req, n, serverPairs(req.body), serverLine(n, req.body));
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
    exists(n);
    await applyServer(req, n, serverPairs(req.body), serverLine(n, req.body));
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
    exists(n);
    const done = await applyServer(req, n, [{ key: 'blacklist', value: req.body.seconds }], `server ${n} blacklist ${req.body.seconds}`);
    return { seconds: done.blacklistLeft ?? 0 };
  });

  app.delete<{ Params: Params }>('/servers/:n/blacklist', {
    schema: { tags, summary: 'End a blacklisting now (`server N blacklist 0`)', params: ServerParamsSchema, response: { 200: BlacklistSchema, ...errors } },
  }, async (req): Promise<Blacklist> => {
    const { n } = req.params;
    exists(n);
    const done = await applyServer(req, n, [{ key: 'blacklist', value: 0 }], `server ${n} blacklist 0`);
    return { seconds: done.blacklistLeft ?? 0 };
  });
};
