// The generic mirror: every command in shared/commands.ts is reachable as POST /commands/<name>
// (GET too for read-only ones), generated at start-up, so a command added to the registry shows
// up here and in the OpenAPI document without hand work. Its words go to the entry's parse, then
// apply: the reply is the port's and the outcome comes with it. Plus POST /penctl (a raw command
// line, the control port's exact reply) and POST /write (the write entry's apply on `{ file }`).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { COMMANDS, type CommandSpec } from '../../../shared/commands.ts';
import {
  CommandArgsSchema, CommandInfoSchema, CommandQuerySchema, CommandReplySchema, ErrorSchema,
  PenctlBodySchema, WriteSchema, commandSlug, type CommandInfo, type CommandReply,
} from '../../../shared/api.ts';
import { lookup } from '../../control/registry.ts';
import { requireAdmin } from '../auth.ts';
import { apply, failed, run, runCommand, type AdminDeps } from '../deps.ts';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema };

export function commandPath(spec: CommandSpec): string {
  return `/commands/${commandSlug(spec.name)}`;
}

export function commandInfo(spec: CommandSpec): CommandInfo {
  return {
    name: spec.name, grammar: spec.grammar, scope: spec.scope, summary: spec.summary, support: spec.support,
    ...(spec.note ? { note: spec.note } : {}),
    path: commandPath(spec), methods: spec.scope === 'read' ? ['GET', 'POST'] : ['POST'],
  };
}

export const commandRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  const runWords = async (req: FastifyRequest, spec: CommandSpec, args: readonly string[]): Promise<CommandReply> => {
    const command = [spec.name, ...args].join(' ');
    const result = await runCommand(deps, req, spec.name, args);
    failed(result, 'args');
    return { command, reply: result.reply, ...(result.outcome ? { outcome: result.outcome } : {}) };
  };

  app.get('/commands', {
    schema: { tags: ['commands'], summary: 'Every penctl command with its REST mirror', response: { 200: Type.Array(CommandInfoSchema) } },
  }, async () => COMMANDS.map(commandInfo));

  for (const spec of COMMANDS) {
    const path = commandPath(spec);
    const summary = `\`${spec.name}${spec.grammar ? ` ${spec.grammar}` : ''}\`: ${spec.summary}`;
    app.post<{ Body: Static<typeof CommandArgsSchema> | undefined }>(path, {
      config: { scope: spec.scope },
      schema: {
        tags: ['commands'], summary, operationId: `post_${commandSlug(spec.name)}`,
        body: CommandArgsSchema, response: { 200: CommandReplySchema, ...errors },
      },
    }, async (req) => runWords(req, spec, req.body?.args ?? []));
    if (spec.scope === 'read') {
      app.get<{ Querystring: Static<typeof CommandQuerySchema> }>(path, {
        config: { scope: 'read' },
        schema: {
          tags: ['commands'], summary, operationId: `get_${commandSlug(spec.name)}`,
          querystring: CommandQuerySchema, response: { 200: CommandReplySchema, ...errors },
        },
      }, async (req) => {
        const a = req.query.args;
        return runWords(req, spec, a === undefined ? [] : typeof a === 'string' ? [a] : a);
      });
    }
  }

  app.post<{ Body: string }>('/penctl', {
    config: { scope: 'read' },
    schema: {
      tags: ['commands'],
      summary: 'Run one penctl command line; the reply is exactly what the control port would send',
      description: 'Read tokens may run read-only commands; anything else needs an admin token.',
      consumes: ['text/plain'], body: PenctlBodySchema, produces: ['text/plain'],
      response: { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema },
    },
  }, async (req, reply) => {
    // the line as execute() will read it: unknown commands, comments and empty lines change
    // nothing; anything known but not read-only needs admin
    const spec = lookup(req.body)?.spec;
    if (spec && spec.scope !== 'read') requireAdmin(req);
    const result = await run(deps, req, req.body, 'port');
    return reply.type('text/plain; charset=utf-8').send(result.reply);
  });

  app.post<{ Body: Static<typeof WriteSchema> | undefined }>('/write', {
    schema: {
      tags: ['commands'], summary: 'Save the configuration (`write [FILE]`; default the -F file)',
      body: WriteSchema, response: { 200: CommandReplySchema, ...errors },
    },
  }, async (req) => {
    const file = req.body?.file;
    const command = file ? `write ${file}` : 'write';
    const result = await apply(deps, req, 'write', file ? { file } : {}, command);
    failed(result, 'file');
    return { command, reply: result.reply, ...(result.outcome ? { outcome: result.outcome } : {}) };
  });
};
