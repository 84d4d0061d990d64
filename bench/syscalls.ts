// `npm run bench:syscalls`: what one request costs each proxy in system calls (strace -f -c, and
// perf trace -s, which is light enough to count under concurrent load) and in user-space
// instructions (valgrind --tool=callgrind), for C pen, our TypeScript path and our native path, in
// front of one nginx (HTTP) or dnsmasq (DNS over UDP) on loopback. Each figure is a fixed number
// of requests, less the background (timers, the sweep, a compiler thread finishing) of the quieter
// of two idle windows as long, one before and one after, on the same process, divided by the
// requests.
// Cases (syscall-load.ts): keep-alive, close (a new connection per request) and udp (a DNS query).
// Everything started here is stopped by its pid; every wait is bounded.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { HOST, freePort, killAllSync, sleep, start, stopAll, waitTcp, waitUdp, which, type Proc } from './procs.ts';
import { CASES, load, type Case, type Transport } from './syscall-load.ts';
import { OUR_PEN, startDnsmasq, startNginx } from './targets.ts';

const { values: opt } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    warm: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '1' },
    'load-concurrency': { type: 'string', default: '32' },
    targets: { type: 'string', default: 'pen,ts,native' },
    cases: { type: 'string', default: 'keepalive,close' },
    tools: { type: 'string', default: 'strace,callgrind' },
    top: { type: 'string', default: '8' },
    ours: { type: 'string', default: OUR_PEN },
    'ours-args': { type: 'string', default: '' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(`usage: npm run bench:syscalls -- [--requests N] [--warm N (requests before the window)] [--concurrency C] [--targets pen,ts,native]
       [--cases keepalive,close,udp] [--tools strace,callgrind,perftrace] [--top K (syscalls listed per row)]
       [--load-concurrency L (requests at a time under perf trace; 32)]
       [--ours PATH (bin/pen.js of another checkout, to compare it)]
       [--ours-args='-m 100' (extra arguments for ours, split on spaces; note the =)]`);
  process.exit(0);
}

const REQUESTS = Math.max(10, Number(opt.requests));
const CONC = Math.max(1, Number(opt.concurrency));
const LOAD_CONC = Math.max(1, Number(opt['load-concurrency']));
const TOP = Math.max(0, Number(opt.top));
type Target = 'pen' | 'ts' | 'native';
const LABEL: Record<Target, string> = { pen: 'pen (C)', ts: 'ours, TypeScript path', native: 'ours, native path' };
const targets = opt.targets.split(',').filter((t): t is Target => t in LABEL);
const cases = opt.cases.split(',').filter((c): c is Case => c in CASES);
/** the transports the cases need, each with its own backend and its own proxy per target */
const transports = [...new Set(cases.map((c) => CASES[c]))];
const tools = opt.tools.split(',');
/** the whole run is bounded: past this everything started is killed */
const DEADLINE_MS = 20 * 60_000;

const PROGRAM: Record<string, string> = { callgrind: 'valgrind', perftrace: 'perf' };
const needs = [...(transports.includes('tcp') ? ['nginx'] : []), ...(transports.includes('udp') ? ['dnsmasq', 'dnsperf'] : [])];
const missing = [...needs, 'pen', ...tools.map((t) => PROGRAM[t] ?? t)].filter((p) => !which(p));
if (missing.length) {
  console.error(`bench:syscalls: missing ${missing.join(', ')} (apt-get install nginx-light dnsmasq-base dnsperf pen strace valgrind linux-perf)`);
  process.exit(2);
}

const tmp = mkdtempSync(`${os.tmpdir()}/pen-syscalls-`);
process.on('exit', () => { killAllSync(); rmSync(tmp, { recursive: true, force: true }); });
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { void stopAll().finally(() => process.exit(130)); });
setTimeout(() => { console.error('bench:syscalls: deadline passed'); process.exit(1); }, DEADLINE_MS).unref();
const log = (s: string) => console.error(`syscalls: ${s}`);

// ---- the proxies ----

type Argv = { cmd: string; args: string[]; env: string | null };

function proxyArgv(t: Target, tr: Transport, port: number, backend: number): Argv {
  const common = ['-f', '-x', '4000', '-c', '4000', ...(tr === 'udp' ? ['-U'] : []), `${HOST}:${port}`, `${HOST}:${backend}`];
  if (t === 'pen') return { cmd: which('pen')!, args: common, env: null };
  const extra = opt['ours-args'].split(' ').filter((a) => a !== '');
  return { cmd: process.execPath, args: [opt.ours, ...extra, ...common], env: t === 'native' ? 'native' : 'portable' };
}

/** The backend's port for each transport the cases need. */
type Backends = Partial<Record<Transport, number>>;

async function startProxy(
  t: Target, tr: Transport, backends: Backends, wrap: string[] = [],
): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const a = proxyArgv(t, tr, port, backends[tr]!);
  const saved = process.env.PEN_DATAPATH;
  if (a.env) process.env.PEN_DATAPATH = a.env; else delete process.env.PEN_DATAPATH;
  const proc = wrap.length ? start(t, wrap[0]!, [...wrap.slice(1), a.cmd, ...a.args]) : start(t, a.cmd, a.args);
  if (saved === undefined) delete process.env.PEN_DATAPATH; else process.env.PEN_DATAPATH = saved;
  const deadline = Date.now() + 120_000; // node under valgrind starts slowly
  for (;;) {
    try { await (tr === 'udp' ? waitUdp : waitTcp)(proc, port); break; } catch (err) { if (proc.exited() || Date.now() > deadline) throw err; }
  }
  return { proc, port };
}

/** A helper process run to completion, bounded. */
function runTool(cmd: string, args: string[], ms = 30_000): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', () => { clearTimeout(t); resolve(out); });
  });
}

// ---- strace -f -c, attached to the running proxy ----

type Counts = Map<string, number>;

/** strace -c's table: calls per syscall name. */
function parseStrace(text: string): Counts {
  const m: Counts = new Map();
  for (const line of text.split('\n')) {
    const r = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (r && r[2] !== 'total') m.set(r[2]!, Number(r[1]));
  }
  return m;
}

/** Syscalls the proxy makes while `work` runs: strace attached to every thread, detached after. */
async function straced(pid: number, work: () => Promise<void>): Promise<{ counts: Counts; ms: number }> {
  const file = `${tmp}/strace-${pid}-${Date.now()}.txt`;
  const st = start('strace', which('strace')!, ['-f', '-c', '-o', file, '-p', String(pid)]);
  const ms = await underTracer(st, async () => {
    const until = Date.now() + 10_000;
    while (!/attached/.test(st.output()) && Date.now() < until) await sleep(20);
    await sleep(200); // every thread attached
  }, work);
  return { counts: parseStrace(readFileSync(file, 'utf8')), ms };
}

/**
 * The ms `work` takes under a tracer started on the proxy: once `attached` resolves, the work is
 * timed, then SIGINT makes the tracer detach and write its summary (bounded), for the caller to read.
 */
async function underTracer(tracer: Proc, attached: () => Promise<void>, work: () => Promise<void>): Promise<number> {
  await attached();
  const t0 = Date.now();
  await work();
  const ms = Date.now() - t0;
  tracer.child.kill('SIGINT');
  const end = Date.now() + 10_000;
  while (!tracer.exited() && Date.now() < end) await sleep(20);
  await tracer.stop();
  return ms;
}

// ---- perf trace -s: the syscall tracepoints, cheap enough not to change how load batches ----

/** perf trace -s's tables, one per thread: calls per syscall name, summed over the threads. */
function parsePerfTrace(text: string): Counts {
  const m: Counts = new Map();
  for (const line of text.split('\n')) {
    const r = /^\s+([a-z_0-9]+)\s+(\d+)\s+\d+\s+[\d.]+\s/.exec(line);
    if (r) m.set(r[1]!, (m.get(r[1]!) ?? 0) + Number(r[2]));
  }
  return m;
}

/** Syscalls the proxy's threads make while `work` runs, as perf trace -s counts them. */
async function perfTraced(pid: number, work: () => Promise<void>): Promise<{ counts: Counts; ms: number }> {
  const file = `${tmp}/perf-trace-${pid}-${Date.now()}.txt`;
  const pt = start('perf trace', which('perf')!, ['trace', '-s', '-o', file, '-p', String(pid)]);
  const ms = await underTracer(pt, async () => {
    await sleep(700); // attached (perf trace says nothing when it is)
    if (pt.exited()) throw new Error(`perf trace: ${pt.output().trim().slice(0, 300)}`);
  }, work);
  const text = readFileSync(file, 'utf8');
  if (/LOST/.test(text + pt.output())) log(`perf trace lost events for pid ${pid}: its counts are low`);
  return { counts: parsePerfTrace(text), ms };
}

const sum = (m: Counts): number => [...m.values()].reduce((a, b) => a + b, 0);

/** Of the idle windows before and after the load, the one with less background per ms. */
function quieter<W extends { ms: number }>(before: W, after: W, amount: (w: W) => number): W {
  return amount(before) / before.ms <= amount(after) / after.ms ? before : after;
}

function perRequest(busy: Counts, busyMs: number, idle: Counts, idleMs: number, n: number): Counts {
  const out: Counts = new Map();
  for (const [k, v] of busy) {
    const x = (v - ((idle.get(k) ?? 0) * busyMs) / idleMs) / n;
    if (x > 0.005) out.set(k, x);
  }
  return out;
}

// ---- callgrind: instrumentation switched on for the window only ----

async function callgrindIr(pid: number, work: () => Promise<void>): Promise<{ ir: number; ms: number }> {
  const before = new Set(readdirSync(tmp));
  await runTool('callgrind_control', ['-z', String(pid)]);
  await runTool('callgrind_control', ['-i', 'on', String(pid)]);
  const t0 = Date.now();
  await work();
  const ms = Date.now() - t0;
  await runTool('callgrind_control', ['-i', 'off', String(pid)]);
  await runTool('callgrind_control', ['-d', String(pid)], 120_000);
  const end = Date.now() + 60_000;
  for (;;) {
    const fresh = readdirSync(tmp).filter((f) => f.startsWith(`cg.${pid}.`) && !before.has(f));
    const text = fresh.length ? readFileSync(`${tmp}/${fresh[0]}`, 'utf8') : '';
    const m = /^totals:\s+(\d+)/m.exec(text); // summary: reads 0 once instrumentation is off
    if (m) return { ir: Number(m[1]), ms };
    if (Date.now() > end) throw new Error('callgrind wrote no dump');
    await sleep(200);
  }
}

// ---- the run ----

interface Row { target: Target; c: Case; sys?: Counts; loaded?: Counts; ir?: number }
const rows: Row[] = [];
const row = (t: Target, c: Case): Row => {
  let r = rows.find((x) => x.target === t && x.c === c);
  if (!r) rows.push((r = { target: t, c }));
  return r;
};
/**
 * Requests before the measured window. 500 leaves V8's optimizing compiler (a worker thread, which
 * callgrind counts) still compiling the per-connection functions in the window: about 64k of the
 * native close case's ~78k instructions per request are that one-time work, and the compiler,
 * most likely still busy in the idle window after keep-alive, made that figure negative (-532,
 * 2026-12-07). From about 5000 on the native path is steady (1.4k–1.5k keep-alive, 12.6k–14.1k
 * close at 6000 and 20000), but the TypeScript path's keep-alive read 65k twice at 6000 against
 * 32k–36k at 500 and 20000 (a one-time compile or GC landing in the window), hence 20000.
 */
const WARM = Math.max(0, Number(opt.warm));

/** The syscall counters: strace one (or CONC) at a time, perf trace under LOAD_CONC at a time. */
const TRACERS = {
  strace: { trace: straced, conc: CONC, into: 'sys' },
  perftrace: { trace: perfTraced, conc: LOAD_CONC, into: 'loaded' },
} as const;

async function syscallTarget(t: Target, tr: Transport, backends: Backends, how: keyof typeof TRACERS): Promise<void> {
  const { trace, conc, into } = TRACERS[how];
  const { proc, port } = await startProxy(t, tr, backends);
  try {
    for (const c of cases.filter((x) => CASES[x] === tr)) {
      await load(port, c, WARM, CONC, tmp); // JIT, pools
      const before = await trace(proc.pid, () => sleep(500));
      const busy = await trace(proc.pid, () => load(port, c, REQUESTS, conc, tmp));
      const after = await trace(proc.pid, () => sleep(Math.max(500, busy.ms)));
      const idle = quieter(before, after, (w) => sum(w.counts));
      const counts = perRequest(busy.counts, busy.ms, idle.counts, idle.ms, REQUESTS);
      row(t, c)[into] = counts;
      log(`${LABEL[t]} ${c}: ${sum(counts).toFixed(1)} syscalls per request (${busy.ms} ms under ${how}, ${conc} at a time)`);
    }
  } finally { await proc.stop(); }
}

async function callgrindTarget(t: Target, tr: Transport, backends: Backends): Promise<void> {
  const wrap = ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${tmp}/cg.%p`];
  const { proc, port } = await startProxy(t, tr, backends, wrap);
  try {
    for (const c of cases.filter((x) => CASES[x] === tr)) {
      await load(port, c, WARM, CONC, tmp);
      const before = await callgrindIr(proc.pid, () => sleep(500));
      const busy = await callgrindIr(proc.pid, () => load(port, c, REQUESTS, CONC, tmp));
      const after = await callgrindIr(proc.pid, () => sleep(Math.max(500, busy.ms)));
      const idle = quieter(before, after, (w) => w.ir);
      row(t, c).ir = (busy.ir - (idle.ir * busy.ms) / idle.ms) / REQUESTS;
      log(`${LABEL[t]} ${c}: ${Math.round(row(t, c).ir!)} instructions per request (${busy.ms} ms under callgrind)`);
    }
  } finally { await proc.stop(); }
}

/** A count's total, and its largest syscalls. */
function syscalls(m: Counts | undefined): { total: string; top: string } {
  if (!m) return { total: '–', top: '–' };
  const sorted = [...m].sort((a, b) => b[1] - a[1]);
  return { total: sum(m).toFixed(1), top: sorted.slice(0, TOP).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') };
}

function table(): string {
  const lines = [
    `${REQUESTS} requests per case, less the background of an idle window as long; per request. strace counts ${CONC} at a time,`,
    `perf trace ${LOAD_CONC} at a time (the batching of a loaded proxy):`,
    '',
    '| proxy | case | syscalls (strace) | user-space instructions | top syscalls (strace) | syscalls under load (perf trace) | top syscalls under load |',
    '|---|---|--:|--:|---|--:|---|',
  ];
  for (const c of cases) {
    for (const t of targets) {
      const r = row(t, c);
      const one = syscalls(r.sys);
      const loaded = syscalls(r.loaded);
      const ir = r.ir === undefined ? '–' : Math.round(r.ir).toLocaleString('en');
      lines.push(`| ${LABEL[t]} | ${c} | ${one.total} | ${ir} | ${one.top} | ${loaded.total} | ${loaded.top} |`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  try {
    const backends: Backends = {};
    if (transports.includes('tcp')) backends.tcp = (await startNginx(tmp, null, 4000)).port;
    if (transports.includes('udp')) backends.udp = (await startDnsmasq(tmp, null)).port;
    for (const t of targets) {
      for (const tr of transports) {
        if (tools.includes('strace')) await syscallTarget(t, tr, backends, 'strace');
        if (tools.includes('perftrace')) await syscallTarget(t, tr, backends, 'perftrace');
        if (tools.includes('callgrind')) await callgrindTarget(t, tr, backends);
      }
    }
  } finally { await stopAll(); }
  console.log(table());
}

main().catch(async (err) => {
  console.error(`bench:syscalls: ${(err as Error).stack ?? err}`);
  await stopAll();
  process.exit(1);
});
