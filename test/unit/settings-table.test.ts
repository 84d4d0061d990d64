// A walk over shared/settings.ts: every row parses from its flag and from its command under the
// same range rule, is saved by `write`, reads back from the saved file, and shows in the snapshot
// and the PATCH /settings schema. A setting added to the table is covered here without an edit.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { parseCommandLine } from '../../server/cli/args.ts';
import { runSteps } from '../../server/cli/steps.ts';
import { Balancer } from '../../server/core/balancer.ts';
import { defaultSettings } from '../../server/core/settings.ts';
import { formatConfig } from '../../server/control/config.ts';
import type { CommandContext } from '../../server/control/context.ts';
import { execute, runConfigFile } from '../../server/control/registry.ts';
import { settingsSnapshot } from '../../server/stats/snapshot.ts';
import { COMMANDS } from '../../shared/commands.ts';
import { SETTINGS, boundOf, flagCommand, readKey, settingsPatchSchema, type SettingRow } from '../../shared/settings.ts';
import { SettingsSnapshotSchema } from '../../shared/snapshot.ts';

const dir = mkdtempSync(join(tmpdir(), 'pen-settings-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ROWS = SETTINGS as readonly SettingRow[];
const fresh = (): CommandContext => ({ pen: new Balancer(), runtime: { exit() {}, argv: [] }, origin: 'port' });
const commandNames = new Set(COMMANDS.map((c) => c.name));

/**
 * The setting after a flag, run as pen.ts runs it (through its command where it has one), or
 * 'refused' / 'unchanged'.
 */
async function viaFlag(row: SettingRow, text: string): Promise<unknown> {
  let parsed;
  try {
    parsed = parseCommandLine([`${row.flag!.flag}${text}`, '8080', 'a']); // attached, as getopt reads -b-5
  } catch {
    return 'refused';
  }
  const steps = parsed.steps.filter((s) => s.kind === 'set' || s.kind === 'flag');
  if (steps.length === 0) return 'unchanged';
  const ctx = fresh();
  await runSteps(ctx, steps, { out() {}, err() {} });
  return readKey(ctx.pen.settings, row.key);
}

/** The setting after its command on a fresh pen, or 'refused' / 'unchanged'. */
async function viaCommand(row: SettingRow, text: string): Promise<unknown> {
  const ctx = fresh();
  const before = readKey(ctx.pen.settings, row.key);
  const r = await execute(ctx, `${row.name} ${text}`);
  if (r.error) return 'refused';
  const after = readKey(ctx.pen.settings, row.key);
  return after === before && Number(text) !== before ? 'unchanged' : after;
}

const bound = (row: SettingRow) => boundOf(row)!.limit;
const numberRows = ROWS.filter((r) => r.kind.type === 'int' && r.kind.limit !== undefined && r.flag?.arg && r.command !== 'none');

/**
 * What the flag must do given what the command did: the same, except that a value the command
 * ignores (below the least of a table that only grows) is an error from the flag, since a
 * start-up value that changes nothing is a mistake.
 */
const flagFromCommand = (command: unknown): unknown => (command === 'unchanged' ? 'refused' : command);

test('every number row with a flag and a command takes the same values from both', async () => {
  assert.ok(numberRows.length >= 5, 'blacklist, timeout, tracking, clients_max, conn_max at least');
  for (const row of numberRows) {
    const { min, max } = bound(row);
    // the tables only grow, so below their default the command changes nothing; above it both set it
    const values = [max, max + 1, min - 1, min - 5, 99999999999, ...(row.write === 'changed' ? [] : [min])];
    for (const n of values) {
      const text = String(n);
      assert.deepEqual(await viaFlag(row, text), flagFromCommand(await viaCommand(row, text)), `${row.flag!.flag} ${text} and ${row.name} ${text}`);
    }
  }
});

test('-x 0 and -c 0 are an error naming the flag; conn_max 0 and clients_max 0 change nothing, as in C pen', async () => {
  for (const [flag, name] of [['-x', 'conn_max'], ['-c', 'clients_max']] as const) {
    for (const text of ['0', '-1']) {
      // attached, as getopt reads -x-1 (a separate -1 is taken for a flag)
      assert.throws(() => parseCommandLine([`${flag}${text}`, '8080', 'a']), { message: `pen: ${flag}: '${text}' must be at least 1` });
      const ctx = fresh();
      const before = readKey(ctx.pen.settings, name === 'conn_max' ? 'connMax' : 'clientsMax');
      const r = await execute(ctx, `${name} ${text}`);
      assert.equal(r.error, undefined, `${name} ${text}`);
      assert.equal(r.reply, `${before}\n`, `${name} ${text} replies the unchanged size`);
    }
  }
});

test('a flag-only number row keeps its rule: past the bound pen stops, below it the row applies', async () => {
  for (const row of ROWS.filter((r) => r.kind.type === 'int' && r.command === 'none' && r.flag?.arg)) {
    const { min, max } = bound(row);
    assert.equal(await viaFlag(row, String(max)), max);
    assert.equal(await viaFlag(row, String(max + 1)), 'refused');
    assert.equal(await viaFlag(row, String(min - 1)), min, `${row.flag!.flag} below the least is bumped`);
  }
});

test('every row with a command has its spec, and every table command is one', () => {
  for (const row of ROWS.filter((r) => r.command !== 'none')) {
    const names = row.kind.type === 'enum' && row.kind.each ? row.kind.values : [row.name];
    for (const name of names) assert.ok(commandNames.has(name), name);
  }
});

test('a setting\'s flag runs as its command, unless its row says why it stores the value', () => {
  let ran = 0;
  for (const row of ROWS.filter((r) => r.flag)) {
    const f = row.flag!;
    const value = f.arg === undefined ? [] : [row.kind.type === 'int' ? '7' : row.kind.type === 'enum' ? String((row.kind as { values: readonly string[] }).values[0]) : '127.0.0.1:1'];
    let parsed;
    try {
      parsed = parseCommandLine([f.flag, ...value, '8080', 'a']);
    } catch (e) {
      assert.equal(f.status, 'refused', `${f.flag}: ${(e as Error).message}`);
      continue;
    }
    const steps = parsed.steps.filter((st) => st.kind === 'flag' || st.kind === 'set');
    assert.equal(steps.length, 1, f.flag);
    const command = flagCommand(row);
    if (row.command === 'none' || f.stores) {
      assert.equal(command, null, f.flag);
      assert.equal(steps[0]!.kind, 'set', `${f.flag} stores its value`);
    } else {
      assert.ok(command !== null && commandNames.has(command), `${f.flag} runs a command`);
      assert.deepEqual(steps[0]!.kind === 'flag' && steps[0]!.command, command, `${f.flag} runs ${command}`);
      ran++;
    }
  }
  assert.ok(ran >= 12, `${ran} flags run their command`);
});

/** A value other than the default, for each row a fresh pen can take. */
function otherValue(row: SettingRow, d: unknown): string | null {
  const k = row.kind;
  if (k.type === 'int') return String(Number(d) + 7);
  if (k.type === 'bool') return d ? `no ${row.name}` : row.name;
  if (k.type === 'enum') return `${row.name} ${k.values.find((v) => v !== d)}`;
  if (k.type === 'list') return `${row.name} no_tlsv1`;
  if (row.name === 'geoip' || row.name === 'listen' || row.name === 'control') return null; // need a database / a socket; read-only
  if (row.name === 'source') return 'source 127.0.0.2';
  return `${row.name} ${join(dir, `${row.name}.x`)}`;
}

test('every saved row is written and reads back from the saved file', async () => {
  const d = defaultSettings();
  let walked = 0;
  for (const row of ROWS.filter((r) => r.write !== 'never')) {
    const line = otherValue(row, readKey(d, row.key));
    if (line === null) continue;
    const a = fresh();
    const set = await execute(a, line.startsWith(row.name) || line.startsWith('no ') ? line : `${row.name} ${line}`);
    assert.equal(set.error, undefined, `${line}: ${set.error?.message}`);
    const value = readKey(a.pen.settings, row.key);
    assert.notDeepEqual(value, readKey(d, row.key), `${line} changed ${row.name}`);
    const file = join(dir, `${row.name}.cfg`);
    const text = formatConfig(a.pen, file);
    writeFileSync(file, text);
    const b = fresh();
    await runConfigFile(b, file);
    assert.deepEqual(readKey(b.pen.settings, row.key), value, `${row.name} reads back from:\n${text}`);
    walked++;
  }
  assert.ok(walked >= 30, `${walked} rows walked`);
});

test('with the defaults, write saves exactly the lines C pen saves', () => {
  const text = formatConfig(new Balancer(), 'f', new Date(0)).split('\n').slice(2).join('\n');
  const acls = Array.from({ length: 10 }, (_, n) => `no acl ${n}\n`).join('');
  assert.equal(text, acls + 'ascii\nblacklist 30\nclient_acl 0\ncontrol_acl 0\ndebug 0\nno hash\nno http\nno log\nno roundrobin\nno stubborn\ntcp_fastclose off\nno tcp_nodelay\ntimeout 3\ntracking 0\nno web_stats\nno weight\nno prio\n'.replace('ascii', 'no ascii'));
});

test('every REST row is in the snapshot with its value, and every rw row in the PATCH schema with its bounds', async () => {
  const patch = settingsPatchSchema().properties as Record<string, TSchema>;
  const ctx = fresh();
  const snap = settingsSnapshot(ctx.pen) as Record<string, unknown>;
  for (const row of ROWS) {
    const inSnapshot = row.rest !== undefined;
    assert.equal(row.name in snap, inSnapshot, `${row.name} in the snapshot`);
    assert.equal(row.name in SettingsSnapshotSchema.properties, inSnapshot, `${row.name} in the snapshot schema`);
    if (inSnapshot) assert.deepEqual(snap[row.name], readKey(ctx.pen.settings, row.key) ?? null, row.name);
    assert.equal(row.name in patch, row.rest === 'rw', `${row.name} in PATCH /settings`);
    if (row.rest === 'rw' && row.kind.type === 'int' && row.kind.limit) {
      const schema = patch[row.name] as TSchema & { minimum: number; maximum: number };
      assert.deepEqual([schema.minimum, schema.maximum], [bound(row).min, bound(row).max], row.name);
    }
  }
});
