// Commands that open files or sockets or resolve names: listen, log, source, include, write,
// geoip (the TLS settings are rows of shared/settings.ts, read by server/core/tls.ts). Every file is
// opened through core/files.ts, so a FIFO, a device or a huge file is refused at once instead of stalling pen.
import { resolveHost } from '../core/address.ts';
import { FileError } from '../core/files.ts';
import { openGeoip } from '../core/geoip.ts';
import { RequestLog } from '../core/requestlog.ts';
import { CommandError, quiet, refuse } from './errors.ts';
import { includeFile, writeConfig } from './config.ts';
import { Type } from '@sinclair/typebox';
import type { Entry, Outcome, Run } from './types.ts';

/** `NAME [WORD]`: a file, an address, as pen's one word (and REST's `value`). */
const ValueArgs = Type.Object({ value: Type.Optional(Type.String()) });
const NoArgs = Type.Object({});
const word = (words: string[]) => (words[0] === undefined ? {} : { value: words[0] });

/** `listen [ADDR]`: a new address replaces the listener; if it cannot be opened the old one stays. */
export const listen: Entry<typeof ValueArgs, Outcome & { listen: string | null }> = {
  schema: ValueArgs,
  parse: word,
  async apply({ pen }, { value }) {
    const changed = value !== undefined && value !== pen.settings.listen;
    if (changed) {
      const previous = pen.listener ? pen.settings.listen : null;
      try {
        await pen.listen(value);
      } catch (err) {
        if (previous !== null && pen.listener === null) await pen.listen(previous).catch(() => {});
        throw refuse(`listen: ${(err as Error).message}`, 'PEN_ERR_ADDRESS');
      }
    }
    return { changed, listen: pen.settings.listen ?? null };
  },
  reply: (o) => `${o.listen ?? ''}\n`,
};

type LogOutcome = Outcome & { log: string | null };
const logReply = (o: LogOutcome) => (o.log ? `${o.log}\n` : '');

/** `log [FILE|host:port]`: a target that does not open changes nothing (C pen exits). */
export const log: Entry<typeof ValueArgs, LogOutcome> = {
  schema: ValueArgs,
  parse: word,
  apply({ pen }, { value }) {
    if (value !== undefined) {
      let next: RequestLog;
      try {
        next = new RequestLog(value);
      } catch (err) {
        throw refuse(`log: ${(err as Error).message}`, 'PEN_ERR_IO');
      }
      pen.requestLog?.close();
      pen.requestLog = next;
      pen.settings.logFile = value;
    }
    return { changed: value !== undefined, log: pen.settings.logFile };
  },
  reply: logReply,
};

export const noLog: Entry<typeof NoArgs, LogOutcome> = {
  schema: NoArgs,
  parse: () => ({}),
  apply({ pen }) {
    pen.requestLog?.close();
    pen.requestLog = null;
    pen.settings.logFile = null;
    return { changed: true, log: null };
  },
  reply: logReply,
};

const SourceArgs = Type.Object({
  value: Type.String(),
  /** pen's words: an address that does not resolve clears the source, as pen does; REST's changes nothing */
  asPen: Type.Optional(Type.Boolean()),
});

/** `source IP`: bind backend sockets to IP. */
export const source: Entry<typeof SourceArgs, Outcome & { source: string | null }> = {
  schema: SourceArgs,
  parse(words) {
    if (words[0] === undefined) throw refuse('source: expected an address');
    return { value: words[0], asPen: true };
  },
  async apply({ pen }, { value, asPen }) {
    let address: string;
    try {
      const r = await resolveHost(value);
      if (r.family === 'unix') throw new Error('not an IP address');
      address = r.address;
    } catch {
      if (asPen) pen.settings.source = null;
      // pen's reply has no newline
      throw new CommandError(`source: can't resolve '${value}'`, { reply: `unable to set source address to '${value}'`, code: 'PEN_ERR_ADDRESS' });
    }
    pen.settings.source = address;
    return { changed: true, source: address };
  },
  reply: () => '',
};

const IncludeArgs = Type.Object({ file: Type.String() });

interface IncludeOutcome extends Outcome {
  file: string;
  /** the replies of the file's lines */
  output: string;
  /** they went to pen's stdout (the command came over the control port, as in pen) */
  printed: boolean;
}

/**
 * `include FILE`: replies go to pen's stdout when the command came over the control port, as in pen.
 * A file that cannot be run (not a regular file, too large, a cycle) is refused with one line naming it.
 * It changed something when one of its lines did.
 */
export const include: Entry<typeof IncludeArgs, IncludeOutcome> = {
  schema: IncludeArgs,
  parse(words) {
    if (words[0] === undefined) throw quiet('Usage: include filename');
    return { file: words[0] };
  },
  async apply(ctx, { file }, run) {
    let changed = false;
    const noting: Run = async (c, line) => {
      const r = await run(c, line);
      if (r.outcome?.changed) changed = true;
      return r;
    };
    let output: string;
    try {
      output = await includeFile(ctx, file, noting);
    } catch (err) {
      throw err instanceof FileError ? err.for('include') : err;
    }
    const printed = ctx.origin === 'port';
    if (printed && output !== '') (ctx.runtime.stdout ?? ((t: string) => process.stdout.write(t)))(output);
    return { changed, file, output, printed };
  },
  reply: (o) => (o.printed ? '' : o.output),
};

const WriteArgs = Type.Object({ file: Type.Optional(Type.String()) });

/** `write [FILE]`: save the configuration (default: the -F file). It saves a file; pen's state is as it was. */
export const write: Entry<typeof WriteArgs, Outcome & { file: string }> = {
  schema: WriteArgs,
  parse: (words) => (words[0] === undefined ? {} : { file: words[0] }),
  async apply({ pen }, args) {
    const file = args.file ?? pen.settings.configFile;
    if (!file) throw quiet('write: no file');
    await writeConfig(pen, file);
    return { changed: false, file };
  },
  reply: () => '',
};

/** A database is read asynchronously, so loads can finish out of order: the last command given wins. */
const geoipTurns = new WeakMap<object, number>();
function nextGeoipTurn(pen: object): number {
  const turn = (geoipTurns.get(pen) ?? 0) + 1;
  geoipTurns.set(pen, turn);
  return turn;
}

type GeoipOutcome = Outcome & { geoip: string | null };
const geoipReply = (o: GeoipOutcome) => (o.geoip ? `${o.geoip}\n` : '');

/** `geoip [FILE]` (ours): open a MaxMind DB for country ACLs; a file that does not open changes nothing. */
export const geoip: Entry<typeof ValueArgs, GeoipOutcome> = {
  schema: ValueArgs,
  parse: word,
  async apply({ pen }, { value }) {
    let changed = false;
    if (value !== undefined) {
      const turn = nextGeoipTurn(pen);
      let lookup;
      try {
        lookup = await openGeoip(value);
      } catch (err) {
        throw err instanceof FileError ? err.for('geoip') : refuse(`geoip: ${(err as Error).message}`, 'PEN_ERR_IO');
      }
      // a later geoip command overtook this one: its file wins
      changed = geoipTurns.get(pen) === turn;
      if (changed) pen.setGeoip(value, lookup);
    }
    return { changed, geoip: pen.settings.geoip ?? null };
  },
  reply: geoipReply,
};

/** `no geoip`: forget the file; the default database is used again if it exists. */
export const noGeoip: Entry<typeof NoArgs, GeoipOutcome> = {
  schema: NoArgs,
  parse: () => ({}),
  apply({ pen }) {
    nextGeoipTurn(pen);
    pen.setGeoip(null, null);
    return { changed: true, geoip: null };
  },
  reply: geoipReply,
};
