// Commands that open files or sockets or resolve names: listen, log, source, status, include, write,
// geoip (the TLS settings are rows of shared/settings.ts, read by server/core/tls.ts). Every file is
// opened through core/files.ts, so a FIFO, a device or a huge file is refused at once instead of stalling pen.
import { resolveHost } from '../core/address.ts';
import { FileError } from '../core/files.ts';
import { openGeoip } from '../core/geoip.ts';
import { RequestLog } from '../core/requestlog.ts';
import { renderStatusHtml } from '../stats/html.ts';
import { CommandError, quiet, refuse } from './errors.ts';
import { includeFile, writeConfig } from './config.ts';
import type { Handler } from './types.ts';

/** `listen [ADDR]`: a new address replaces the listener; if it cannot be opened the old one stays. */
export const listen: Handler = async ({ pen }, args) => {
  const text = args[0];
  if (text !== undefined && text !== pen.settings.listen) {
    const previous = pen.listener ? pen.settings.listen : null;
    try {
      await pen.listen(text);
    } catch (err) {
      if (previous !== null && pen.listener === null) await pen.listen(previous).catch(() => {});
      throw refuse(`listen: ${(err as Error).message}`, 'PEN_ERR_ADDRESS');
    }
  }
  return `${pen.settings.listen ?? ''}\n`;
};

export const log: Handler = ({ pen }, args) => {
  const target = args[0];
  if (target !== undefined) {
    let next: RequestLog;
    try {
      next = new RequestLog(target);
    } catch (err) {
      throw refuse(`log: ${(err as Error).message}`, 'PEN_ERR_IO'); // C pen exits here
    }
    pen.requestLog?.close();
    pen.requestLog = next;
    pen.settings.logFile = target;
  }
  return pen.settings.logFile ? `${pen.settings.logFile}\n` : '';
};

export const noLog: Handler = ({ pen }) => {
  pen.requestLog?.close();
  pen.requestLog = null;
  pen.settings.logFile = null;
  return '';
};

export const source: Handler = async ({ pen }, args) => {
  const text = args[0];
  if (text === undefined) throw refuse('source: expected an address');
  try {
    const r = await resolveHost(text);
    if (r.family === 'unix') throw new Error('not an IP address');
    pen.settings.source = r.address;
  } catch {
    pen.settings.source = null;
    // pen's reply has no newline
    throw new CommandError(`source: can't resolve '${text}'`, { reply: `unable to set source address to '${text}'`, code: 'PEN_ERR_ADDRESS' });
  }
  return '';
};

/**
 * `status`: pen's HTML page. pen rewrites the -w file and answers with what it holds; here a
 * read changes nothing (REST and read tokens reach this), so the page is rendered without
 * writing: the -w file is written on USR1. Without -w, pen's answer.
 */
export const status: Handler = ({ pen }) => {
  if (!pen.settings.webStats) {
    throw new CommandError("Don't know where to write web stats; see -w option", { reply: 'Unable to create webstats\n', code: 'PEN_ERR_IO', log: true });
  }
  return renderStatusHtml(pen);
};

/**
 * `include FILE`: replies go to pen's stdout when the command came over the control port, as in pen.
 * A file that cannot be run (not a regular file, too large, a cycle) is refused with one line naming it.
 */
export const include: Handler = async (ctx, args, run) => {
  const file = args[0];
  if (file === undefined) throw quiet('Usage: include filename');
  let replies: string;
  try {
    replies = await includeFile(ctx, file, run);
  } catch (err) {
    throw err instanceof FileError ? err.for('include') : err;
  }
  if (ctx.origin !== 'port') return replies;
  if (replies !== '') (ctx.runtime.stdout ?? ((t: string) => process.stdout.write(t)))(replies);
  return '';
};

export const write: Handler = async ({ pen }, args) => {
  const file = args[0] ?? pen.settings.configFile;
  if (!file) throw quiet('write: no file');
  await writeConfig(pen, file);
  return '';
};

/** A database is read asynchronously, so loads can finish out of order: the last command given wins. */
const geoipTurns = new WeakMap<object, number>();
function nextGeoipTurn(pen: object): number {
  const turn = (geoipTurns.get(pen) ?? 0) + 1;
  geoipTurns.set(pen, turn);
  return turn;
}

/** `geoip [FILE]` (ours): open a MaxMind DB for country ACLs; a file that does not open changes nothing. */
export const geoip: Handler = async ({ pen }, args) => {
  const file = args[0];
  if (file !== undefined) {
    const turn = nextGeoipTurn(pen);
    let lookup;
    try {
      lookup = await openGeoip(file);
    } catch (err) {
      throw err instanceof FileError ? err.for('geoip') : refuse(`geoip: ${(err as Error).message}`, 'PEN_ERR_IO');
    }
    if (geoipTurns.get(pen) === turn) pen.setGeoip(file, lookup);
  }
  return pen.settings.geoip ? `${pen.settings.geoip}\n` : '';
};

/** `no geoip`: forget the file; the default database is used again if it exists. */
export const noGeoip: Handler = ({ pen }) => {
  nextGeoipTurn(pen);
  pen.setGeoip(null, null);
  return '';
};
