// /acls: the ten access lists (`acl N permit|deny …`, `no acl N`).
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { AclAddSchema, AclListSchema, AclParamsSchema, ErrorSchema, type AclAdd } from '../../../shared/api.ts';
import { aclSnapshot } from '../../stats/snapshot.ts';
import { apply, failed, type AdminDeps } from '../deps.ts';

type Params = Static<typeof AclParamsSchema>;
const tags = ['acls'];
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

export const aclRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  const list = (n: number) => aclSnapshot(deps.pen)[n];

  app.get('/acls', {
    schema: { tags, summary: 'All ten access lists', response: { 200: Type.Array(AclListSchema) } },
  }, async () => aclSnapshot(deps.pen));

  app.get<{ Params: Params }>('/acls/:n', {
    schema: { tags, summary: 'One access list', params: AclParamsSchema, response: { 200: AclListSchema, ...errors } },
  }, async (req) => list(req.params.n));

  app.post<{ Params: Params; Body: AclAdd }>('/acls/:n', {
    schema: {
      tags, summary: 'Append an entry (`acl N permit|deny ADDR [MASK]`, `…IPV6[/LEN]`, `…country CC`)',
      description: 'As in pen, the address is not masked first: `permit 127.0.0.1` with mask 8 never matches; use 127.0.0.0.',
      params: AclParamsSchema, body: AclAddSchema, response: { 201: AclListSchema, ...errors },
    },
  }, async (req, reply) => {
    const { n } = req.params;
    const { action, address, mask, country } = req.body;
    // the line it stands for, for the admin log and the config event; the entry's apply checks the fields (core/acl.ts)
    const line = `acl ${n} ${action} ${country !== undefined ? `country ${country}` : `${address ?? ''}${mask !== undefined ? ` ${mask}` : ''}`}`;
    failed(await apply(deps, req, 'acl', { n, ...req.body }, line), 'address');
    return reply.code(201).send(list(n));
  });

  app.delete<{ Params: Params }>('/acls/:n', {
    schema: { tags, summary: 'Empty an access list (`no acl N`)', params: AclParamsSchema, response: { 200: AclListSchema, ...errors } },
  }, async (req) => {
    failed(await apply(deps, req, 'no acl', { n: req.params.n }, `no acl ${req.params.n}`));
    return list(req.params.n);
  });
};
