// The commands made from the rows of shared/settings.ts: `NAME [N]` for a number, `NAME` / `no NAME`
// for a switch, `NAME [FILE]` / `no NAME` for a file, `tcp_fastclose MODE`. Each is an entry
// (types.ts): pen's words parse to `{ value }`, REST passes the same `{ value }` to `apply`, which
// applies the row's range rule before it stores anything. Rows whose command does more than store
// a value (log, listen, source, ssl_*, geoip) have handlers of their own (commands-io.ts).
import { Type } from '@sinclair/typebox';
import {
  SETTINGS, atoiWide, checkNumber, readKey, settingRow, writeKey, type Setting, type SettingRow,
} from '../../shared/settings.ts';
import type { Balancer } from '../core/balancer.ts';
import { CommandError, refuse } from './errors.ts';
import type { Entry, Outcome } from './types.ts';

type TableRow = Extract<Setting, { command: 'table' }>;
type Negatable = Extract<TableRow, { kind: { type: 'bool' } } | { kind: { nullable: true } }>;
type EachValue = Extract<TableRow, { kind: { each: true } }>['kind']['values'][number];
export type TableCommand = Exclude<TableRow['name'], Extract<TableRow, { kind: { each: true } }>['name']> | `no ${Negatable['name']}` | EachValue
  | 'clients_max' | 'conn_max' | 'tcp_fastclose';

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
      if (value !== undefined) writeKey(pen.settings, row.key, value);
      return outcome(row, pen, value !== undefined);
    },
    reply: (o) => replyFor(row, o.value),
  };
}

const FASTCLOSE = ['off', 'up', 'down', 'both'] as const;
const FastcloseArgs = Type.Object({ value: Type.Union(FASTCLOSE.map((v) => Type.Literal(v))) });

/** `tcp_fastclose MODE`: pen takes any word, and a word it does not know is `off`. */
const tcpFastclose: Entry<typeof FastcloseArgs, SettingOutcome> = {
  schema: FastcloseArgs,
  parse: (words) => {
    const mode = words[0];
    if (mode === undefined) {
      throw new CommandError('tcp_fastclose: no argument', { reply: 'do_cmd: ignoring tcp_fastclose without argument\n' });
    }
    return { value: (FASTCLOSE as readonly string[]).includes(mode) ? mode as (typeof FASTCLOSE)[number] : 'off' };
  },
  apply: ({ pen }, { value }) => {
    pen.settings.tcpFastclose = value;
    return outcome(settingRow('tcp_fastclose'), pen, true);
  },
  reply: () => '',
};

/** Every command the rows make, by name. */
export function settingEntries(): Record<TableCommand, Entry> {
  const out: Record<string, Entry> = { tcp_fastclose: tcpFastclose };
  for (const row of SETTINGS as readonly SettingRow[]) {
    const grows = row.name in STORE;
    if (row.command !== 'table' && !grows) continue;
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
        if (!row.kind.each) throw new Error(`${row.name}: an enum row's command is its own`);
        for (const v of row.kind.values) out[v] = storeEntry(row, v);
        break;
      default: throw new Error(`${row.name}: no table command for a ${row.kind.type}`);
    }
  }
  return out as Record<TableCommand, Entry>;
}
