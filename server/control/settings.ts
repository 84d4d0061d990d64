// The commands made from the rows of shared/settings.ts: `NAME [N]` for a number, `NAME` / `no NAME`
// for a switch, `NAME [FILE]` / `no NAME` for a file. Rows whose command does more than store a
// value (clients_max, log, listen, …) have handlers of their own that use the same range rule.
import { SETTINGS, atoiWide, checkNumber, readKey, writeKey, type Setting, type SettingRow } from '../../shared/settings.ts';
import { refuse } from './errors.ts';
import type { Handler } from './registry.ts';

type TableRow = Extract<Setting, { command: 'table' }>;
type Negatable = Extract<TableRow, { kind: { type: 'bool' } } | { kind: { nullable: true } }>;
export type TableCommand = TableRow['name'] | `no ${Negatable['name']}`;

/** pen's reply to a row's command, given the value it now has. */
export function replyFor(row: SettingRow, value: unknown): string {
  const r = row.reply;
  if (r === 'none') return '';
  if (r === 'value') return `${String(value)}\n`;
  if (r === 'value-or-empty') return value ? `${String(value)}\n` : '';
  return r(value as number);
}

/**
 * A command's number under its row's rule: the value to store, or null when nothing changes. Past
 * the bound, or below it where the row refuses: one error line, and nothing changes.
 */
export function commandNumber(row: SettingRow, text: string): number | null {
  const checked = checkNumber(row, atoiWide(text), text);
  if (!checked.ok) throw refuse(checked.error);
  return checked.value;
}

function numberHandler(row: SettingRow): Handler {
  return ({ pen }, args) => {
    if (args[0] !== undefined) {
      const value = commandNumber(row, args[0]);
      if (value !== null) writeKey(pen.settings, row.key, value);
    }
    return replyFor(row, readKey(pen.settings, row.key));
  };
}

const store = (row: SettingRow, value: unknown): Handler => ({ pen }) => {
  writeKey(pen.settings, row.key, value);
  return '';
};

function textHandler(row: SettingRow): Handler {
  return ({ pen }, args) => {
    if (args[0] !== undefined) writeKey(pen.settings, row.key, args[0]);
    return replyFor(row, readKey(pen.settings, row.key));
  };
}

/** Every command a row makes, by name. */
export function tableHandlers(): Record<TableCommand, Handler> {
  const out: Record<string, Handler> = {};
  for (const row of SETTINGS as readonly SettingRow[]) {
    if (row.command !== 'table') continue;
    switch (row.kind.type) {
      case 'int': out[row.name] = numberHandler(row); break;
      case 'bool':
        out[row.name] = store(row, true);
        out[`no ${row.name}`] = store(row, false);
        break;
      case 'text':
        out[row.name] = textHandler(row);
        if (row.kind.nullable) out[`no ${row.name}`] = store(row, null);
        break;
      default: throw new Error(`${row.name}: no table command for a ${row.kind.type}`);
    }
  }
  return out as Record<TableCommand, Handler>;
}
