// The commands made from the rows of shared/settings.ts: `NAME [N]` for a number, `NAME` / `no NAME`
// for a switch, `NAME [FILE]` / `no NAME` for a file, `NAME WORD` for a choice (`tcp_fastclose up`)
// or a list (`ssl_option no_tlsv1`), a command per value (`poll`). Each is an entry (types.ts):
// pen's words parse to `{ value }`, REST passes the same `{ value }` to `apply`, which applies the
// row's range rule before it stores anything. Rows whose command opens a file or socket, resolves
// a name or only reports (log, listen, source, geoip, control) have entries of their own (commands-io.ts,
// commands-read.ts).
import { Type } from '@sinclair/typebox';
import {
  SETTINGS, atoiWide, checkNumber, readKey, writeKey, type SettingRow, type TableCommand,
} from '../../shared/settings.ts';
import type { Balancer } from '../core/balancer.ts';
import { sslFilesChanged } from '../core/tls-files.ts';
import { CommandError, quiet, refuse } from './errors.ts';
import type { Entry, Outcome } from './types.ts';


/** What a setting command did: the setting's value afterwards, and whether it set it. */
export interface SettingOutcome extends Outcome {
  setting: string;
  value: unknown;
}

/** pen's reply to a row's command, given the value it now has. */
export function replyFor(row: SettingRow, value: unknown): string {
  const r = row.reply;
  if (r === 'none') return '';
  if (r === 'value') return `${String(value)}\n`;
  if (r === 'value-or-empty') return value ? `${String(value)}\n` : '';
  return r(value as number);
}

/**
 * A number under its row's rule: the value to store, or null when nothing changes. Past the bound,
 * or below it where the row refuses: one error line, and nothing changes.
 */
export function ruled(row: SettingRow, n: number, text = String(n)): number | null {
  const checked = checkNumber(row, n, text);
  if (!checked.ok) throw refuse(checked.error);
  return checked.value;
}

/**
 * How a number row stores its value, and whether that changed it: most set the field; the tables
 * only grow (they never shrink, as in pen), so a smaller size changes nothing.
 */
const STORE: Partial<Record<string, (pen: Balancer, n: number) => boolean>> = {
  clients_max: (pen, n) => {
    const grew = pen.clients.grow(n);
    pen.settings.clientsMax = pen.clients.size;
    return grew;
  },
  conn_max: (pen, n) => pen.growConnections(n),
};

const setField = (row: SettingRow) => (pen: Balancer, n: number): boolean => {
  writeKey(pen.settings, row.key, n);
  return true;
};

/**
 * What a row's command does after it stores a value: the TLS files are read now, off the
 * handshakes (also when the name is the same).
 */
const AFTER: Partial<Record<string, (pen: Balancer) => void>> = {
  ssl_sni_path: (pen) => sslFilesChanged(pen.settings.ssl),
  ssl_ocsp_response: (pen) => sslFilesChanged(pen.settings.ssl),
};

/**
 * The command without its word, where the row says it is not a report: refused with a line (C pen
 * crashes), or refused quietly (pen's debug() line). Null: report, or clear (the caller's case).
 */
function bareError(row: SettingRow): CommandError | null {
  const b = row.bare;
  if (b === undefined || b === 'clears') return null;
  return 'refuse' in b ? refuse(`${row.name}: ${b.refuse}`) : quiet(b.quiet);
}

const NumberArgs = Type.Object({ value: Type.Optional(Type.Integer()), text: Type.Optional(Type.String()) });
const TextArgs = Type.Object({ value: Type.Optional(Type.String()) });
const NoArgs = Type.Object({});

const outcome = (row: SettingRow, pen: Balancer, changed: boolean): SettingOutcome =>
  ({ changed, setting: row.name, value: readKey(pen.settings, row.key) });

function numberEntry(row: SettingRow): Entry<typeof NumberArgs, SettingOutcome> {
  return {
    schema: NumberArgs,
    // the word as given too, so an error line quotes it as pen's user typed it
    parse: (words) => (words[0] === undefined ? {} : { value: atoiWide(words[0]), text: words[0] }),
    apply: ({ pen }, { value, text }) => {
      const bare = value === undefined ? bareError(row) : null;
      if (bare) throw bare;
      const n = value === undefined ? null : ruled(row, value, text);
      const changed = n !== null && (STORE[row.name] ?? setField(row))(pen, n);
      return outcome(row, pen, changed);
    },
    reply: (o) => replyFor(row, o.value),
  };
}

function storeEntry(row: SettingRow, value: unknown): Entry<typeof NoArgs, SettingOutcome> {
  return {
    schema: NoArgs,
    parse: () => ({}),
    apply: ({ pen }) => {
      writeKey(pen.settings, row.key, value);
      return outcome(row, pen, true);
    },
    reply: () => '',
  };
}

function textEntry(row: SettingRow): Entry<typeof TextArgs, SettingOutcome> {
  return {
    schema: TextArgs,
    parse: (words) => (words[0] === undefined ? {} : { value: words[0] }),
    apply: ({ pen }, { value }) => {
      const bare = value === undefined ? bareError(row) : null;
      if (bare) throw bare;
      if (value === undefined) {
        if (row.bare === 'clears') writeKey(pen.settings, row.key, null);
      } else {
        writeKey(pen.settings, row.key, value);
        AFTER[row.name]?.(pen);
      }
      return outcome(row, pen, value !== undefined || row.bare === 'clears');
    },
    reply: (o) => replyFor(row, o.value),
  };
}

const Choice = (values: readonly string[]) => Type.Object({ value: Type.Union(values.map((v) => Type.Literal(v))) });

/** `NAME WORD` for a choice: pen takes any word, and one it does not know is the row's `other`. */
function choiceEntry(
  row: SettingRow, values: readonly string[], other: string,
): Entry<ReturnType<typeof Choice>, SettingOutcome> {
  return {
    schema: Choice(values),
    parse: (words) => {
      const word = words[0];
      if (word === undefined) {
        throw new CommandError(`${row.name}: no argument`, { reply: `do_cmd: ignoring ${row.name} without argument\n` });
      }
      return { value: values.includes(word) ? word : other };
    },
    apply: ({ pen }, { value }) => {
      writeKey(pen.settings, row.key, value);
      return outcome(row, pen, true);
    },
    reply: () => '',
  };
}

/** `NAME WORD` for a list: a word it knows is added once, any other is ignored, as in pen. */
function listEntry(row: SettingRow, values: readonly string[]): Entry<typeof TextArgs, SettingOutcome> {
  return {
    schema: TextArgs,
    parse: (words) => (words[0] === undefined ? {} : { value: words[0] }),
    apply: ({ pen }, { value }) => {
      if (value === undefined) throw bareError(row) ?? refuse(`${row.name}: expected a word`);
      const list = readKey(pen.settings, row.key) as string[];
      const add = values.includes(value) && !list.includes(value);
      if (add) list.push(value);
      return outcome(row, pen, add);
    },
    reply: () => '',
  };
}

/** Every command the rows make, by name. */
export function settingEntries(): Record<TableCommand, Entry> {
  const out: Record<string, Entry> = {};
  for (const row of SETTINGS as readonly SettingRow[]) {
    if (row.command !== 'table') continue;
    switch (row.kind.type) {
      case 'int': out[row.name] = numberEntry(row); break;
      case 'bool':
        out[row.name] = storeEntry(row, true);
        out[`no ${row.name}`] = storeEntry(row, false);
        break;
      case 'text':
        out[row.name] = textEntry(row);
        if (row.kind.nullable) out[`no ${row.name}`] = storeEntry(row, null);
        break;
      case 'enum':
        if (row.kind.each) for (const v of row.kind.values) out[v] = storeEntry(row, v);
        else if (row.kind.other !== undefined) out[row.name] = choiceEntry(row, row.kind.values, row.kind.other);
        else throw new Error(`${row.name}: a choice needs each or other`);
        break;
      case 'list': out[row.name] = listEntry(row, row.kind.values); break;
    }
  }
  return out as Record<TableCommand, Entry>;
}
