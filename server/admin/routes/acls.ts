// /acls: the ten access lists (`acl N permit|deny …`, `no acl N`).
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { AclAddSchema, AclListSchema, AclParamsSchema, ErrorSchema, type AclAdd } from '../../../shared/api.ts';
import { ipaddr } from '../../core/acl.ts';
import { aclSnapshot } from '../../stats/snapshot.ts';
import { failed, run, type AdminDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';

type Params = Static<typeof AclParamsSchema>;
const tags = ['acls'];
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

/**
 * The `acl N …` words for a validated body: `permit 10.0.0.0 255.0.0.0`, `deny ::1/128`,
 * `permit country SE`. A numeric IPv4 mask becomes dotted; an IPv6 mask becomes `/len`.
 */
export function aclWords(body: AclAdd): string {
  const { action, address, mask, country } = body;
  if ((address === undefined) === (country === undefined)) {
    throw new HttpError(400, 'give either address or country', 'address');
  }
  if (country !== undefined) {
    if (mask !== undefined) throw new HttpError(400, 'a country entry has no mask', 'mask');
    return `${action} country ${country.toUpperCase()}`;
  }
  const addr = address as string;
  if (addr.includes(':')) {
    const [ip = '', len] = addr.split('/');
    if (!ipaddr.IPv6.isValid(ip)) throw new HttpError(400, `${ip} is not an IPv6 address`, 'address');
    if (len !== undefined && mask !== undefined) throw new HttpError(400, 'give the prefix length once', 'mask');
    const prefix = len !== undefined ? Number(len) : mask ?? 128;
    if (typeof prefix !== 'number' || !Number.isInteger(prefix) || prefix < 0 || prefix > 128) {
      throw new HttpError(400, 'an IPv6 prefix length is 0 to 128', len !== undefined ? 'address' : 'mask');
    }
    return `${action} ${ip}/${prefix}`;
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(addr)) throw new HttpError(400, `${addr} is not an IPv4 address`, 'address');
  let dotted = '255.255.255.255';
  if (typeof mask === 'number') {
    if (mask > 32) throw new HttpError(400, 'an IPv4 prefix length is 0 to 32', 'mask');
    dotted = ipaddr.IPv4.subnetMaskFromPrefixLength(mask).toString();
  } else if (mask !== undefined) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(mask)) throw new HttpError(400, `${mask} is not an IPv4 netmask`, 'mask');
    dotted = mask;
  }
  return `${action} ${addr} ${dotted}`;
}

export const aclRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  const list = (n: number) => {
    const acl = aclSnapshot(deps.pen)[n];
    if (acl === undefined) throw new HttpError(404, `no acl ${n}`, 'n');
    return acl;
  };

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
    const before = list(n).entries.length;
    const result = await run(deps, req, `acl ${n} ${aclWords(req.body)}`);
    failed(result, req.body.country !== undefined ? 'country' : 'address');
    const after = list(n);
    if (after.entries.length === before) throw new HttpError(400, 'the entry was not accepted', 'address');
    return reply.code(201).send(after);
  });

  app.delete<{ Params: Params }>('/acls/:n', {
    schema: { tags, summary: 'Empty an access list (`no acl N`)', params: AclParamsSchema, response: { 200: AclListSchema, ...errors } },
  }, async (req) => {
    failed(await run(deps, req, `no acl ${req.params.n}`));
    return list(req.params.n);
  });
};
