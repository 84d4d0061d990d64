// `npm run bench`: our pen side by side with Debian's pen and HAProxy, and the backend direct,
// on loopback, in one run. Prints a table of medians with ratios, and writes JSON and Markdown
// to bench/results/. `--smoke` is the few-second subset the test suite runs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { WARM_UPS, dnsperf, holdIdle, wrk, writeQueryFile, type WarmUp, type WrkCase } from './load.ts';
import { NO_PIN, cpuCount, cpuMicros, killAllSync, rssKiB, sleep, stopAll, which, type Pin } from './procs.ts';
import { markdown, note, record, summaryText, type Results } from './report.ts';
import {
  BULK_BYTES, OUR_PEN, PACKAGES, ROOT, TARGETS, TARGET_LABEL, startDnsmasq, startNginx, startTarget,
  type Running, type TargetExtra, type TargetKey,
} from './targets.ts';

const TCP_CASES: Record<string, WrkCase & { metric: string; p99: string; cpu: string }> = {
  keepalive: { connections: 64, path: '/', close: false, metric: 'keepalive_rps', p99: 'keepalive_p99', cpu: 'keepalive_cpu' },
  close: { connections: 32, path: '/', close: true, metric: 'close_rps', p99: 'close_p99', cpu: 'close_cpu' },
  bulk: { connections: 4, path: '/bulk', close: false, metric: 'bulk_mibps', p99: 'bulk_p99', cpu: 'bulk_cpu' },
};
const ALL_CASES = ['keepalive', 'close', 'bulk', 'udp', 'memory'];

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    targets: { type: 'string', default: TARGETS.join(',') },
    cases: { type: 'string', default: ALL_CASES.join(',') },
    idle: { type: 'string', default: '2000' },
    out: { type: 'string', default: `${ROOT}bench/results` },
    ours: { type: 'string', default: OUR_PEN },
    health: { type: 'string', default: '' },
    'ours-args': { type: 'string', default: '' },
    engines: { type: 'string', default: '1' },
    pin: { type: 'boolean', default: cpuCount() >= 2 },
    'no-pin': { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  console.log(`usage: npm run bench -- [--rounds N] [--duration S] [--targets direct,pen,haproxy,ours]
       [--cases keepalive,close,bulk,udp,memory] [--idle N] [--out DIR] [--no-pin] [--smoke]
       [--health 'tcp interval 1' (ours runs that check on its server)]
       [--ours PATH/bin/pen.js]   (another checkout of ours, e.g. to compare before/after a change)
       [--ours-args='--threads 2']   (extra arguments for ours, split on spaces; note the =)
       [--engines N]   (N copies of pen and of ours on one port via SO_REUSEPORT, CPU summed: what N
                        engines sharing nothing would buy; TCP only; use with --no-pin)
--smoke: 1 round of 1 s, keep-alive only, backend direct and ours (what the test suite runs)`);
  process.exit(0);
}

const smoke = opt.smoke;
const rounds = smoke ? 1 : Math.max(1, Number(opt.rounds));
const duration = smoke ? 1 : Math.max(1, Number(opt.duration));
const idleCount = Math.max(1, Number(opt.idle));
const engines = Math.max(1, Math.floor(Number(opt.engines)) || 1);
const targets = (smoke && opt.targets === TARGETS.join(',') ? ['direct', 'ours'] : opt.targets.split(','))
  .filter((t): t is TargetKey => (TARGETS as readonly string[]).includes(t));
const cases = smoke && opt.cases === ALL_CASES.join(',') ? ['keepalive'] : opt.cases.split(',').filter((c) => ALL_CASES.includes(c));
const pin: Pin = opt.pin && !opt['no-pin'] && cpuCount() >= 2 && which('taskset') ? { proxy: '0', load: '1' } : NO_PIN;
const placement = pin.proxy === null
  ? 'not pinned (all processes share all CPUs)'
  : `proxy under test on CPU ${pin.proxy}; load generator (wrk/dnsperf) and backend (nginx/dnsmasq) on CPU ${pin.load}`;

// ---- what is needed, and is it installed? ----

function needed(): string[] {
  const tcp = cases.some((c) => c in TCP_CASES || c === 'memory');
  const progs = new Set<string>();
  if (tcp) progs.add('nginx');
  if (cases.some((c) => c in TCP_CASES)) progs.add('wrk');
  if (cases.includes('udp')) progs.add('dnsmasq').add('dnsperf');
  if (targets.includes('pen')) progs.add('pen');
  if (targets.includes('haproxy') && tcp) progs.add('haproxy');
  return [...progs];
}

const missingProgs = needed().filter((p) => !which(p));
if (missingProgs.length) {
  const pkgs = missingProgs.map((p) => PACKAGES[p] ?? p);
  console.error(`bench: missing ${missingProgs.join(', ')}; this script installs nothing itself.`);
  console.error(`bench: install the Debian package(s): apt-get install ${pkgs.join(' ')}`);
  process.exit(2);
}

// ---- cleanup: every process we start is stopped by its pid ----

const tmp = mkdtempSync(`${os.tmpdir()}/pen-bench-`);
const extra: TargetExtra = { oursArgs: opt['ours-args'].split(' ').filter((a) => a !== ''), engines, preload: reuseportShim() };

/** --engines N > 1: build bench/reuseport.c (an LD_PRELOAD shim) into tmp. */
function reuseportShim(): string | undefined {
  if (engines === 1) return undefined;
  const so = `${tmp}/reuseport.so`;
  const r = spawnSync('gcc', ['-O2', '-shared', '-fPIC', `${ROOT}bench/reuseport.c`, '-o', so, '-ldl'], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`bench: --engines needs gcc to build bench/reuseport.c: ${r.stderr || r.error?.message}`);
    process.exit(2);
  }
  return so;
}

/** CPU of all of a target's processes, in µs, or null when one is gone. */
function cpuOf(run: Running): number | null {
  let sum = 0;
  for (const p of run.procs) {
    const c = cpuMicros(p.pid);
    if (c === null) return null;
    sum += c;
  }
  return sum;
}
process.on('exit', () => {
  killAllSync();
  rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => { void stopAll().finally(() => process.exit(130)); });
}

function machine(): Record<string, string> {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const version = (cmd: string, args: string[], re: RegExp) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return re.exec(`${r.stdout}${r.stderr}`)?.[1] ?? '?';
  };
  let distro = 'Linux';
  try { distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? distro; } catch { /* not Debian */ }
  return {
    cpu: `${cpu} × ${cpuCount()}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${distro}, kernel ${os.release()}`,
    node: process.version,
    pen: version('dpkg-query', ['-W', '-f', '${Version}', 'pen'], /^(\S+)/),
    haproxy: version('haproxy', ['-v'], /version (\S+)/),
    nginx: version('nginx', ['-v'], /nginx\/(\S+)/),
    dnsmasq: version('dnsmasq', ['--version'], /version (\S+)/),
    load: `${os.loadavg()[0]!.toFixed(2)} (1-min load average at start)`,
  };
}

const results: Results = {
  started: new Date().toISOString(),
  finished: '',
  machine: machine(),
  settings: {
    rounds, duration, smoke, idle: idleCount, placement, targets: targets.join(','), cases: cases.join(','),
    ours: opt.ours, health: opt.health, oursArgs: opt['ours-args'], engines,
  },
  samples: {},
  missing: {},
  warnings: [],
};

const log = (s: string) => console.error(`bench: ${s}`);

/** Rotate the order each round so no target always runs first (or right after the bulk test). */
function rotated<T>(xs: T[], k: number): T[] {
  return xs.map((_, i) => xs[(i + k) % xs.length]!);
}

async function startAll(
  backend: number, udp: boolean, want: TargetKey[], metrics: string[],
): Promise<Map<TargetKey, Running>> {
  const up = new Map<TargetKey, Running>();
  for (const t of want) {
    if (t === 'haproxy' && udp) {
      for (const m of metrics) note(results, m, t, 'HAProxy does not proxy UDP');
      continue;
    }
    try {
      up.set(t, await startTarget(t, backend, udp, tmp, pin.proxy, opt.ours, undefined, opt.health, extra));
    } catch (err) {
      const why = `did not start: ${(err as Error).message.split('\n')[0]}`;
      log(`${TARGET_LABEL[t]} ${udp ? 'UDP' : 'TCP'} ${why}`);
      for (const m of metrics) note(results, m, t, why);
    }
  }
  return up;
}

async function tcpPhase(backendPort: number): Promise<void> {
  const tcpCases = cases.filter((c) => c in TCP_CASES);
  if (!tcpCases.length) return;
  const metrics = tcpCases.flatMap((c) => [TCP_CASES[c]!.metric, TCP_CASES[c]!.p99, TCP_CASES[c]!.cpu]);
  const up = await startAll(backendPort, false, targets, metrics);
  // warm-up (JIT, connection pools): not recorded
  for (const [t, run] of up) {
    try {
      await wrk(run.port, TCP_CASES.keepalive!, smoke ? 1 : 2, pin.load);
    } catch (err) {
      log(`warm-up of ${t} failed: ${(err as Error).message}`);
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const c of tcpCases) {
      const spec = TCP_CASES[c]!;
      for (const t of rotated([...up.keys()], round)) {
        const run = up.get(t)!;
        if (run.proc?.exited()) {
          note(results, spec.metric, t, `process exited: ${run.proc.output().trim().slice(-300)}`);
          continue;
        }
        try {
          const each0 = run.procs.map((p) => cpuMicros(p.pid) ?? 0);
          const cpu0 = run.proc ? cpuOf(run) : null;
          const r = await wrk(run.port, spec, duration, pin.load);
          const cpu1 = run.proc ? cpuOf(run) : null;
          if (run.procs.length > 1) {   // did the kernel spread the load over the copies?
            log(`  CPU s per copy: ${run.procs.map((p, i) => (((cpuMicros(p.pid) ?? 0) - each0[i]!) / 1e6).toFixed(2)).join(', ')}`);
          }
          const value = c === 'bulk' ? r.bps / 2 ** 20 : r.rps;
          record(results, spec.metric, t, value);
          record(results, spec.p99, t, r.p99ms);
          if (cpu0 !== null && cpu1 !== null && r.requests > 0) {
            // bulk in ms per 8 MiB response, the others in µs per request
            record(results, spec.cpu, t, (cpu1 - cpu0) / r.requests / (c === 'bulk' ? 1000 : 1));
          }
          if (r.errors) results.warnings.push(`${c} / ${t} round ${round + 1}: ${r.errors}`);
          log(`round ${round + 1} ${c} ${t}: ${value.toFixed(c === 'bulk' ? 1 : 0)}${c === 'bulk' ? ' MiB/s' : ' req/s'}, p99 ${r.p99ms.toFixed(2)} ms${r.errors ? ` (${r.errors})` : ''}`);
        } catch (err) {
          note(results, spec.metric, t, (err as Error).message.split('\n')[0]!);
          log(`round ${round + 1} ${c} ${t}: ${(err as Error).message}`);
        }
        await sleep(300);
      }
    }
  }
  await Promise.all([...up.values()].map((r) => r.proc?.stop()));
}

async function udpPhase(): Promise<void> {
  if (!cases.includes('udp')) return;
  const dns = await startDnsmasq(tmp, pin.load);
  const queries = `${tmp}/queries.txt`;
  writeQueryFile(queries);
  const up = await startAll(dns.port, true, targets, ['udp_qps', 'udp_cpu']);
  for (const [, run] of up) {
    try { await dnsperf(run.port, queries, 1, pin.load); } catch { /* reported in the rounds */ }
  }
  for (let round = 0; round < rounds; round++) {
    for (const t of rotated([...up.keys()], round)) {
      const run = up.get(t)!;
      if (run.proc?.exited()) {
        note(results, 'udp_qps', t, `process exited: ${run.proc.output().trim().slice(-300)}`);
        continue;
      }
      try {
        const cpu0 = run.proc ? cpuMicros(run.proc.pid) : null;
        const r = await dnsperf(run.port, queries, duration, pin.load);
        const cpu1 = run.proc ? cpuMicros(run.proc.pid) : null;
        if (cpu0 !== null && cpu1 !== null && r.completed > 0) record(results, 'udp_cpu', t, (cpu1 - cpu0) / r.completed);
        if (r.qps > 0) record(results, 'udp_qps', t, r.qps);
        else note(results, 'udp_qps', t, 'no answers');
        if (r.lostPct > 1) results.warnings.push(`udp / ${t} round ${round + 1}: ${r.lostPct}% of queries lost`);
        log(`round ${round + 1} udp ${t}: ${r.qps.toFixed(0)} queries/s, ${r.lostPct}% lost`);
      } catch (err) {
        note(results, 'udp_qps', t, (err as Error).message.split('\n')[0]!);
        log(`round ${round + 1} udp ${t}: ${(err as Error).message}`);
      }
      await sleep(300);
    }
  }
  await Promise.all([...up.values()].map((r) => r.proc?.stop()));
  await dns.proc.stop();
}

/** Slots for the table-cost measurement: enough that a few MiB of start-up noise is small per slot. */
const SLOT_SPAN = 40000;

/**
 * Memory set aside per connection slot: RSS of a fresh proxy with -x/-c SLOT_SPAN less one with
 * -x/-c 1, per slot. pen allocates (and touches) its whole connection and client tables at start,
 * so holding connections then costs it nothing more that RSS can see; this is where it pays.
 */
async function slotKiB(t: TargetKey, backendPort: number): Promise<number> {
  const rss: number[] = [];
  for (const slots of [1, SLOT_SPAN]) {
    const run = await startTarget(t, backendPort, false, tmp, pin.proxy, opt.ours, slots);
    try {
      await sleep(1000);
      rss.push(rssKiB(run.proc!.pid) ?? NaN);
    } finally {
      await run.proc!.stop();
    }
  }
  return (rss[1]! - rss[0]!) / (SLOT_SPAN - 1);
}

/**
 * The ways memory per held connection is read, each by a fresh proxy (load.ts holdIdle): after a
 * cold or a warm start, and the slope, from `idle` to 3 × `idle` held, which leaves out what the
 * process grows into once (V8's heap pages, malloc arenas of V8's worker threads) and pays
 * whatever the count. Each names its result rows and its `held + slot` row.
 */
const HELD = {
  cold: { warm: 'cold', perConn: 'idle_kib_per_conn', rss: 'idle_rss_mib', sum: 'conn_kib', times: 1 },
  warm: { warm: 'warm', perConn: 'idle_kib_per_conn_warm', rss: null, sum: 'conn_kib_warm', times: 1 },
  slope: { warm: 'cold', perConn: 'idle_kib_per_conn_slope', rss: null, sum: 'conn_kib_slope', times: 3 },
} as const satisfies Record<string, { warm: WarmUp; perConn: string; rss: string | null; sum: string; times: number }>;
type HeldHow = keyof typeof HELD;

/** RSS per connection held, read as HELD[how] says; NaN if it failed. */
async function heldKiB(t: TargetKey, backendPort: number, round: number, how: HeldHow): Promise<number> {
  const m = HELD[how];
  const rows = [m.perConn, m.sum, ...(m.rss ? [m.rss, 'slot_kib'] : [])];
  const n = idleCount * m.times;
  let run: Running | undefined;
  try {
    // a fresh process each time, so earlier load does not show up as idle memory; slots for all n,
    // after those the warm-up used (slots are taken round the table, as pen does), so the held
    // ones touch slots of their own and pay for them here as they would in a fresh process
    const slots = Math.max(4000, n + 500 + (m.warm === 'warm' ? WARM_UPS.warm.total : 0));
    run = await startTarget(t, backendPort, false, tmp, pin.proxy, opt.ours, slots, opt.health, extra);
    const r = await holdIdle(run.proc!.pid, run.port, backendPort, n, m.warm, m.times > 1 ? idleCount : 0);
    if (r.backendHeld < n * 0.99) {
      results.warnings.push(`memory (${how}) / ${t} round ${round + 1}: nginx saw only ${r.backendHeld} of ${n} connections`);
    }
    const held = r.midKiB === undefined ? (r.heldKiB - r.baseKiB) / n : (r.heldKiB - r.midKiB) / (n - r.midHeld!);
    if (m.rss) record(results, m.rss, t, r.heldKiB / 1024);
    record(results, m.perConn, t, held);
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    const mid = r.midKiB === undefined ? '' : ` → ${mib(r.midKiB)} holding ${r.midHeld}`;
    log(`round ${round + 1} memory ${t} (${how}): ${mib(r.baseKiB)} idle${mid} → ${mib(r.heldKiB)} holding ${n} (${r.backendHeld} at nginx)`);
    return held;
  } catch (err) {
    for (const row of rows) note(results, row, t, (err as Error).message.split('\n')[0]!);
    log(`round ${round + 1} memory ${t} (${how}): ${(err as Error).message}`);
    return NaN;
  } finally {
    await run?.proc?.stop();
  }
}

async function memoryPhase(backendPort: number): Promise<void> {
  if (!cases.includes('memory')) return;
  const proxies = targets.filter((t) => t !== 'direct');
  for (let round = 0; round < rounds; round++) {
    for (const t of rotated(proxies, round)) {
      const held: [HeldHow, number][] = [];
      for (const how of Object.keys(HELD) as HeldHow[]) held.push([how, await heldKiB(t, backendPort, round, how)]);
      const both = (slot: number) => {
        for (const [how, kib] of held) if (Number.isFinite(kib)) record(results, HELD[how].sum, t, kib + slot);
      };
      if (t === 'haproxy') {
        // HAProxy sizes its buffers per connection as it goes; maxconn reserves nothing up front
        note(results, 'slot_kib', t, 'no -x/-c table');
        both(0);
        continue;
      }
      try {
        const slot = await slotKiB(t, backendPort);
        record(results, 'slot_kib', t, slot);
        both(slot);
        log(`round ${round + 1} memory ${t}: ${slot.toFixed(3)} KiB per table slot`);
      } catch (err) {
        note(results, 'slot_kib', t, (err as Error).message.split('\n')[0]!);
      }
    }
  }
}

async function main(): Promise<void> {
  log(`${rounds} round(s) of ${duration} s; targets ${targets.join(', ')}; cases ${cases.join(', ')}`);
  log(`CPU placement: ${placement}`);
  const needNginx = cases.some((c) => c in TCP_CASES || c === 'memory');
  const nginx = needNginx ? await startNginx(tmp, pin.load, Math.max(idleCount * HELD.slope.times, 1000) + 500) : null;
  try {
    if (nginx) await tcpPhase(nginx.port);
    await udpPhase();
    if (nginx) await memoryPhase(nginx.port);
  } finally {
    await stopAll();
  }
  results.finished = new Date().toISOString();
  mkdirSync(opt.out, { recursive: true });
  const stamp = results.started.replace(/[:.]/g, '-');
  const json = JSON.stringify(results, null, 2) + '\n';
  const md = markdown(results);
  writeFileSync(`${opt.out}/bench-${stamp}.json`, json);
  writeFileSync(`${opt.out}/bench-${stamp}.md`, md);
  writeFileSync(`${opt.out}/latest.json`, json);
  writeFileSync(`${opt.out}/latest.md`, md);
  console.log(summaryText(results));
  console.log(`\nCPU placement: ${placement}`);
  console.log(`bulk body ${BULK_BYTES / 2 ** 20} MiB; results written to ${opt.out}/latest.{json,md}`);
}

main().catch(async (err) => {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  await stopAll();
  process.exit(1);
});
