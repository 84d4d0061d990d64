// The reports: commands that change nothing and answer with what they read (servers, recent, mode,
// status, pid, control). Each outcome is the report's data, which REST answers with as JSON; the
// reply is pen's text for it.
import { Type } from '@sinclair/typebox';
import { collectStats } from '../stats/model.ts';
import { renderStatusHtml } from '../stats/html.ts';
import { formatRecent, formatServerRows, recentClients, serverRows, type RecentClient } from '../stats/text.ts';
import { atoi } from './atoi.ts';
import { CommandError } from './errors.ts';
import type { CommandContext, Entry, Outcome } from './types.ts';

export const NoArgs = Type.Object({});

/** An entry for a report without arguments: `read` is its outcome's data. */
function report<D extends object>(
  read: (ctx: CommandContext) => D, reply: (d: D) => string,
): Entry<typeof NoArgs, Outcome & D> {
  return {
    schema: NoArgs,
    parse: () => ({}),
    apply: (ctx) => ({ changed: false, ...read(ctx) }),
    reply,
  };
}

export const servers = report(
  ({ pen }) => ({ servers: serverRows(collectStats(pen)) }),
  (o) => formatServerRows(o.servers),
);

const RecentArgs = Type.Object({ seconds: Type.Integer() });

/** `recent [SECS]`: clients seen in the last SECS seconds (300 by default), in slot order. */
export const recent: Entry<typeof RecentArgs, Outcome & { seconds: number; clients: RecentClient[] }> = {
  schema: RecentArgs,
  parse: (words) => ({ seconds: words[0] !== undefined ? atoi(words[0]) : 300 }),
  apply: ({ pen }, { seconds }) => ({ changed: false, seconds, clients: recentClients(collectStats(pen), seconds) }),
  reply: (o) => formatRecent(o.clients),
};

const MODE = ['hash', 'roundrobin', 'stubborn', 'weight', 'prio'] as const;

/** `mode`: the selection switches, in pen's order. */
export const mode = report(
  ({ pen }) => Object.fromEntries(MODE.map((f) => [f, pen.settings[f]])) as Record<(typeof MODE)[number], boolean>,
  (o) => `${MODE.map((f) => `${o[f] ? '' : 'no '}${f}`).join(' ')}\n`,
);

export const pid = report(() => ({ pid: process.pid }), (o) => `${o.pid}\n`);

export const control = report(({ pen }) => ({ control: pen.settings.control ?? null }), (o) => `${o.control ?? '(null)'}\n`);

/**
 * `status`: pen's HTML page. pen rewrites the -w file and answers with what it holds; here a
 * read changes nothing (REST and read tokens reach this), so the page is rendered without
 * writing: the -w file is written on USR1. Without -w, pen's answer.
 */
export const status = report(({ pen }) => {
  if (!pen.settings.webStats) {
    throw new CommandError("Don't know where to write web stats; see -w option", { reply: 'Unable to create webstats\n', code: 'PEN_ERR_IO', log: true });
  }
  return { html: renderStatusHtml(pen) };
}, (o) => o.html);
