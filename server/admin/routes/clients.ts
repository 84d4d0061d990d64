// /clients and /connections: the client and connection tables (`recent`, `connection N`, `close N`).
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { ClientListSchema, CommandReplySchema, ConnectionListSchema, ConnectionParamsSchema, ErrorSchema } from '../../../shared/api.ts';
import { ConnectionSnapshotSchema, type ConnectionSnapshot } from '../../../shared/snapshot.ts';
import type { CloseOutcome } from '../../control/commands-state.ts';
import { apply, failed, type AdminDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';

type Params = Static<typeof ConnectionParamsSchema>;
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

export const clientRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  const connection = (n: number): ConnectionSnapshot => {
    const c = deps.sampler.sample().connections.find((x) => x.index === n);
    if (!c) throw new HttpError(404, `connection ${n} is not in use`, 'n');
    return c;
  };

  app.get('/clients', {
    schema: { tags: ['clients'], summary: 'Active clients: last server, connects, bytes', response: { 200: ClientListSchema } },
  }, async () => deps.sampler.sample().clients);

  app.get('/connections', {
    schema: { tags: ['connections'], summary: 'Open connections', response: { 200: ConnectionListSchema } },
  }, async () => deps.sampler.sample().connections);

  app.get<{ Params: Params }>('/connections/:n', {
    schema: { tags: ['connections'], summary: 'One open connection', params: ConnectionParamsSchema, response: { 200: ConnectionSnapshotSchema, ...errors } },
  }, async (req) => connection(req.params.n));

  app.delete<{ Params: Params }>('/connections/:n', {
    schema: {
      tags: ['connections'], summary: 'Close a connection (`close N`); only slots in use, unlike pen',
      params: ConnectionParamsSchema, response: { 200: CommandReplySchema, ...errors },
    },
  }, async (req) => {
    const { n } = req.params;
    const command = `close ${n}`;
    const result = await apply(deps, req, 'close', { n }, command);
    failed(result);
    const outcome = result.outcome as CloseOutcome;
    // WHY: pen's `close N` on an unused slot corrupts its counters; the entry closes nothing there, and REST says so
    if (!outcome.closed) throw new HttpError(404, `connection ${n} is not in use`, 'n');
    return { command, reply: result.reply, outcome };
  });
};
