// Results: medians of rounds, ratios ours/pen and ours/haproxy, and the same table as text
// (for the terminal), Markdown (for docs/performance.md) and JSON (for anything else).
import { WARM_UPS } from './load.ts';
import { TARGETS, TARGET_LABEL, type TargetKey } from './targets.ts';

export interface Metric {
  key: string;
  label: string;
  better: 'higher' | 'lower';
  digits: number;
  /** issue 12's goal for ours/pen, if it sets one */
  goal?: { min?: number; max?: number };
}

export const METRICS: Metric[] = [
  { key: 'keepalive_rps', label: 'keep-alive req/s (64 conns)', better: 'higher', digits: 0, goal: { min: 1.0 } },
  { key: 'keepalive_p99', label: 'keep-alive p99 ms', better: 'lower', digits: 2 },
  { key: 'keepalive_cpu', label: 'keep-alive proxy CPU µs/request', better: 'lower', digits: 1, goal: { max: 1.0 } },
  { key: 'close_rps', label: 'Connection: close req/s (32 conns)', better: 'higher', digits: 0, goal: { min: 1.0 } },
  { key: 'close_p99', label: 'Connection: close p99 ms', better: 'lower', digits: 2 },
  { key: 'close_cpu', label: 'Connection: close proxy CPU µs/request', better: 'lower', digits: 1, goal: { max: 1.0 } },
  { key: 'bulk_mibps', label: 'bulk MiB/s (8 MiB bodies, 4 conns)', better: 'higher', digits: 0, goal: { min: 1.0 } },
  { key: 'bulk_p99', label: 'bulk p99 ms', better: 'lower', digits: 1 },
  { key: 'bulk_cpu', label: 'bulk proxy CPU ms per 8 MiB', better: 'lower', digits: 2, goal: { max: 0.75 } },
  { key: 'udp_qps', label: 'UDP DNS queries/s', better: 'higher', digits: 0, goal: { min: 1.0 } },
  { key: 'udp_cpu', label: 'UDP proxy CPU µs/query', better: 'lower', digits: 1, goal: { max: 1.0 } },
  { key: 'idle_rss_mib', label: 'RSS holding 2000 idle conns, MiB', better: 'lower', digits: 1 },
  { key: 'idle_kib_per_conn', label: 'memory per held conn, KiB', better: 'lower', digits: 2 },
  { key: 'slot_kib', label: 'memory per table slot (-x/-c), KiB', better: 'lower', digits: 2 },
  { key: 'conn_kib', label: 'memory per conn, held + slot, KiB', better: 'lower', digits: 2, goal: { max: 1.0 } },
  { key: 'idle_kib_per_conn_warm', label: `memory per held conn after a ${WARM_UPS.warm.total}-conn warm-up, KiB`, better: 'lower', digits: 2 },
  { key: 'conn_kib_warm', label: `memory per conn, held + slot, after a ${WARM_UPS.warm.total}-conn warm-up, KiB`, better: 'lower', digits: 2 },
  { key: 'idle_kib_per_conn_slope', label: 'memory per held conn, the slope from 2000 held to 3× as many, KiB', better: 'lower', digits: 2 },
  { key: 'conn_kib_slope', label: 'memory per conn, the slope + slot, KiB', better: 'lower', digits: 2 },
];

export interface Results {
  started: string;
  finished: string;
  machine: Record<string, string>;
  settings: Record<string, string | number | boolean>;
  /** metric → target → one value per round */
  samples: Record<string, Partial<Record<TargetKey, number[]>>>;
  /** metric → target → why there is no figure */
  missing: Record<string, Partial<Record<TargetKey, string>>>;
  /** anything odd seen during the run (socket errors, lost queries) */
  warnings: string[];
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function record(r: Results, metric: string, target: TargetKey, value: number): void {
  ((r.samples[metric] ??= {})[target] ??= []).push(value);
}

export function note(r: Results, metric: string, target: TargetKey, why: string): void {
  (r.missing[metric] ??= {})[target] ??= why;
}

export function medianOf(r: Results, metric: string, target: TargetKey): number {
  return median(r.samples[metric]?.[target] ?? []);
}

/** ours / another target; Infinity when the other's figure rounds to nothing (pen's idle memory) */
export function ratio(r: Results, metric: string, of: TargetKey): number {
  const theirs = medianOf(r, metric, of);
  const ours = medianOf(r, metric, 'ours');
  if (Number.isFinite(theirs) && Number.isFinite(ours) && Math.abs(theirs) < 0.01 && ours > 0.01) return Infinity;
  return ours / theirs;
}

function fmt(x: number, digits: number): string {
  if (x === Infinity) return '∞';
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function goalText(m: Metric): string {
  if (!m.goal) return '';
  const x = m.goal.min ?? m.goal.max!;
  return `${m.goal.min !== undefined ? '≥' : '≤'} ${x.toFixed(x * 10 % 1 === 0 ? 1 : 2)}`;
}

function goalMet(m: Metric, x: number): string {
  if (!m.goal || Number.isNaN(x)) return '';
  const ok = m.goal.min !== undefined ? x >= m.goal.min : x <= m.goal.max!;
  return ok ? 'met' : 'NOT met';
}

/** The rows of the table: header first. */
export function tableRows(r: Results, targets: readonly TargetKey[] = TARGETS): string[][] {
  const rows: string[][] = [['', ...targets.map((t) => TARGET_LABEL[t]), 'ours/pen', 'ours/haproxy', 'goal (ours/pen)']];
  for (const m of METRICS) {
    if (!r.samples[m.key] && !r.missing[m.key]) continue;
    const cells = targets.map((t) => fmt(medianOf(r, m.key, t), m.digits));
    const rp = ratio(r, m.key, 'pen');
    const rh = ratio(r, m.key, 'haproxy');
    const goal = m.goal ? `${goalText(m)} ${goalMet(m, rp)}`.trim() : '';
    rows.push([m.label.replace('2000', String(r.settings.idle ?? 2000)), ...cells, fmt(rp, 2), fmt(rh, 2), goal]);
  }
  return rows;
}

export function textTable(r: Results): string {
  const rows = tableRows(r);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

function missingLines(r: Results): string[] {
  const out: string[] = [];
  for (const [metric, byTarget] of Object.entries(r.missing)) {
    for (const [t, why] of Object.entries(byTarget)) out.push(`${metric} / ${TARGET_LABEL[t as TargetKey]}: ${why}`);
  }
  return out;
}

export function markdown(r: Results): string {
  const rows = tableRows(r);
  const line = (row: string[]) => `| ${row.join(' | ')} |`;
  const out = [
    line(rows[0]!),
    line(rows[0]!.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows.slice(1).map(line),
    '',
    `Medians of ${r.settings.rounds} rounds of ${r.settings.duration} s each, run ${r.started} – ${r.finished}.`,
    `Machine: ${Object.entries(r.machine).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    `CPU placement: ${r.settings.placement}.`,
    'CPU and memory figures are those of the proxy process (user + system time of all its threads; VmRSS), so the backend direct has none.',
  ];
  const miss = missingLines(r);
  if (miss.length) out.push('', 'No figure:', ...miss.map((m) => `- ${m}`));
  if (r.warnings.length) out.push('', 'Warnings:', ...r.warnings.map((w) => `- ${w}`));
  return out.join('\n') + '\n';
}

export function summaryText(r: Results): string {
  const out = [textTable(r)];
  const miss = missingLines(r);
  if (miss.length) out.push('', 'no figure:', ...miss.map((m) => `  ${m}`));
  if (r.warnings.length) out.push('', 'warnings:', ...r.warnings.map((w) => `  ${w}`));
  return out.join('\n');
}
