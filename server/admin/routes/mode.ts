// /mode and /settings: pen's switches and values, each change one registry command.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ErrorSchema, MODE_FLAGS, ModeSchema, SettingsPatchReplySchema, SettingsSchema, settingsPatchSchema, type Mode,
} from '../../../shared/api.ts';
import { PATCH_SETTINGS, settingLine, type SettingName } from '../../../shared/settings.ts';
import type { Outcome } from '../../control/context.ts';
import { apply, failed, type AdminDeps } from '../deps.ts';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema };

export const modeRoutes: FastifyPluginAsync<{ deps: AdminDeps }> = async (app, { deps }) => {
  /** The `mode` entry's outcome: the switches, and its reply as the text form (a read: it changes nothing). */
  const current = async (req: FastifyRequest): Promise<Mode> => {
    const result = await apply(deps, req, 'mode', {}, 'mode');
    const o = result.outcome as Outcome & Omit<Mode, 'text'>;
    const { roundrobin, hash, weight, prio, stubborn } = o;
    return { roundrobin, hash, weight, prio, stubborn, text: result.reply.trim() };
  };

  // every switch has its command and its `no` form: shared/api.ts checks that at compile time
  const settable = MODE_FLAGS;
  const ModePatch = Type.Object(
    Object.fromEntries(settable.map((f) => [f, Type.Optional(Type.Boolean())])),
    { additionalProperties: false, minProperties: 1 },
  );

  app.get('/mode', {
    schema: { tags: ['mode'], summary: 'Selection mode switches (`mode`)', response: { 200: ModeSchema } },
  }, async (req) => current(req));

  app.patch<{ Body: Record<string, boolean> }>('/mode', {
    schema: {
      tags: ['mode'], summary: `Turn switches on or off (${settable.map((f) => `\`[no] ${f}\``).join(', ')})`,
      body: ModePatch, response: { 200: ModeSchema, ...errors },
    },
  }, async (req) => {
    for (const f of settable) {
      const on = req.body[f];
      if (on !== undefined) failed(await apply(deps, req, on ? f : `no ${f}`, {}, on ? f : `no ${f}`), f);
    }
    return current(req);
  });

  // string settings (files, addresses) are the ones that can fail, so they run first: the first
  // failure stops the rest and names its field
  const fields = PATCH_SETTINGS.map((r) => r.name)
    .sort((a, b) => Number(PATCH_SETTINGS.find((r) => r.name === b)?.kind.type === 'text') - Number(PATCH_SETTINGS.find((r) => r.name === a)?.kind.type === 'text'));
  app.get('/settings', {
    schema: { tags: ['settings'], summary: 'Every value setting, under its penctl name', response: { 200: SettingsSchema } },
  }, async () => deps.sampler.sample().settings);

  app.patch<{ Body: Record<string, unknown> }>('/settings', {
    schema: {
      tags: ['settings'],
      summary: 'Change settings; each field runs its command (`blacklist 30`, `no http`, `web_stats FILE`, …)',
      description: `Fields: ${fields.join(', ')}. A boolean false or a null runs \`no NAME\`.`,
      body: settingsPatchSchema(), response: { 200: SettingsPatchReplySchema, ...errors },
    },
  }, async (req) => {
    const replies: Record<string, string> = {};
    const outcomes: Record<string, Outcome> = {};
    for (const field of fields) {
      const value = req.body[field];
      if (value === undefined) continue;
      const { name, args } = typedArgs(field as SettingName, value);
      const result = await apply(deps, req, name, args, settingLine(field, value));
      failed(result, field);
      replies[field] = result.reply;
      if (result.outcome) outcomes[field] = result.outcome;
    }
    return { settings: deps.sampler.sample().settings, replies, outcomes };
  });
};

/**
 * The command and typed arguments a PATCH /settings field stands for, its value already checked by
 * the row's schema: `false` / `null` is `no NAME`, `true` is `NAME`; the others take `{ value }`
 * (log, listen and source too: a file or an address as their one word would be).
 */
function typedArgs(field: SettingName, value: unknown): { name: string; args: unknown } {
  if (value === false || value === null) return { name: `no ${field}`, args: {} };
  if (value === true) return { name: field, args: {} };
  return { name: field, args: { value } };
}
