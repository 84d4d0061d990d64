// Load generators: wrk (HTTP over TCP), dnsperf (DNS over UDP), and a holder of idle connections
// for the memory figure. Each returns plain numbers; parsing is kept next to the tool it reads.
import http from 'node:http';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { HOST, rssKiB, run, sleep } from './procs.ts';

export interface WrkResult {
  requests: number;
  rps: number;
  /** bytes per second, as wrk reports Transfer/sec */
  bps: number;
  p99ms: number;
  errors: string | null;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000 };
const UNIT_BYTES: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  const tps = /Transfer\/sec:\s+([\d.]+)([KMGT]?B)/.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  if (!rps || !tps || !p99 || !requests) throw new Error(`cannot parse wrk output:\n${out}`);
  const problems: string[] = [];
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  // read errors are how wrk counts the server closing a `Connection: close` socket: not a problem
  if (sock && (Number(sock[1]) > 0 || Number(sock[3]) > 0 || Number(sock[4]) > 0)) problems.push(sock[0]);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) problems.push(non2xx[0]);
  return {
    requests: Number(requests[1]),
    rps: Number(rps[1]),
    bps: Number(tps[1]) * UNIT_BYTES[tps[2]!]!,
    p99ms: Number(p99[1]) * UNIT_MS[p99[2]!]!,
    errors: problems.length ? problems.join('; ') : null,
  };
}

export interface WrkCase {
  connections: number;
  path: string;
  close: boolean;
}

export async function wrk(port: number, c: WrkCase, seconds: number, cpu: string | null): Promise<WrkResult> {
  const args = ['-t1', `-c${c.connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s'];
  if (c.close) args.push('-H', 'Connection: close');
  args.push(`http://${HOST}:${port}${c.path}`);
  const r = await run('wrk', args, cpu, (seconds + 30) * 1000);
  if (r.code !== 0) throw new Error(`wrk exited ${r.code}: ${r.stderr || r.stdout}`);
  return parseWrk(r.stdout);
}

export interface DnsperfResult {
  completed: number;
  qps: number;
  lostPct: number;
}

export function parseDnsperf(out: string): DnsperfResult {
  const qps = /Queries per second:\s+([\d.]+)/.exec(out);
  const completed = /Queries completed:\s+(\d+)/.exec(out);
  const lost = /Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(out);
  if (!qps) throw new Error(`cannot parse dnsperf output:\n${out}`);
  return { completed: Number(completed?.[1] ?? 0), qps: Number(qps[1]), lostPct: lost ? Number(lost[1]) : 0 };
}

export function writeQueryFile(path: string): void {
  writeFileSync(path, 'example.com A\n'.repeat(1000));
}

export async function dnsperf(
  port: number, queryFile: string, seconds: number, cpu: string | null,
): Promise<DnsperfResult> {
  const args = ['-s', HOST, '-p', String(port), '-d', queryFile, '-l', String(seconds), '-c', '4', '-T', '1', '-q', '64', '-t', '2'];
  const r = await run('dnsperf', args, cpu, (seconds + 30) * 1000);
  if (r.code !== 0) throw new Error(`dnsperf exited ${r.code}: ${r.stderr || r.stdout}`);
  return parseDnsperf(r.stdout);
}

// ---- idle connections ----

/** nginx's own count of open client connections (stub_status), which includes the asker. */
export function nginxActive(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: '/nginx_status', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(Number(/Active connections:\s*(\d+)/.exec(body)?.[1] ?? NaN)));
    });
    req.setTimeout(5000, () => req.destroy(new Error('nginx status timeout')));
    req.on('error', reject);
  });
}

function openOne(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port });
    s.setTimeout(10000, () => s.destroy(new Error('connect timeout')));
    s.once('connect', () => { s.setTimeout(0); resolve(s); });
    s.once('error', reject);
  });
}

export interface IdleResult {
  baseKiB: number;
  heldKiB: number;
  /** RSS while the first `midHeld` (≥ `midway`) of them were held, when asked for */
  midKiB?: number;
  midHeld?: number;
  /** connections nginx saw open while they were held (proves they went all the way through) */
  backendHeld: number;
}

/**
 * The warm-ups before the memory is read: `total` connections, `batch` at a time, each batch held
 * `heldMs`, then `gapMs` before the next, then `settleMs` of quiet before the first reading.
 * `cold`: 10, so lazily initialised code paths do not count per connection; a JIT still compiles
 * the accept path while the held connections open. `warm`: enough for V8 to have tiered the
 * accept path up (ours' step for 2000 held, median of 5: 1,288 KiB after 1000 connections, 92
 * after 2000, 100 after 3000; 500 were too few), few enough at a time that what the closed ones
 * free is a small part of what the held ones take; its settleMs waits out V8's memory reducer,
 * which collects what the warm-up left about 6 s after it ends and hands back ~8 MiB (read inside
 * the held window, that made the step negative in 3 of 5 rounds).
 */
export const WARM_UPS = {
  cold: { total: 10, batch: 10, heldMs: 200, gapMs: 0, settleMs: 500 },
  warm: { total: 3000, batch: 25, heldMs: 20, gapMs: 20, settleMs: 12000 },
} as const;
export type WarmUp = keyof typeof WARM_UPS;

async function warmUp(port: number, how: WarmUp): Promise<void> {
  const { total, batch, heldMs, gapMs, settleMs } = WARM_UPS[how];
  for (let i = 0; i < total; i += batch) {
    const warm = await Promise.all(Array.from({ length: Math.min(batch, total - i) }, () => openOne(port)));
    await sleep(heldMs);
    for (const s of warm) s.destroy();
    await sleep(gapMs);
  }
  await sleep(settleMs);
}

/**
 * Open `n` connections through the proxy on `port`, let them sit idle, and read the proxy's
 * resident memory before and while they are held; with `midway`, also while that many were.
 */
export async function holdIdle(
  pid: number, port: number, backendPort: number, n: number, how: WarmUp = 'cold', midway = 0,
): Promise<IdleResult> {
  await warmUp(port, how);
  const baseKiB = rssKiB(pid) ?? NaN;
  const before = await nginxActive(backendPort);
  const held: net.Socket[] = [];
  /** RSS once nginx sees `k` of them (or 10 s passed), and how many it saw */
  const settled = async (k: number): Promise<[number, number]> => {
    let seen = 0;
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      seen = (await nginxActive(backendPort)) - before;
      if (seen >= k) break;
      await sleep(100);
    }
    await sleep(1000);
    return [rssKiB(pid) ?? NaN, seen];
  };
  try {
    let midKiB: number | undefined;
    let midHeld = 0;
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => openOne(port)));
      for (const s of batch) s.on('error', () => {});
      held.push(...batch);
      if (midway > 0 && midKiB === undefined && held.length >= midway) {
        midHeld = held.length;
        [midKiB] = await settled(midHeld);
      }
    }
    const [heldKiB, backendHeld] = await settled(n);
    return { baseKiB, heldKiB, backendHeld, ...(midKiB === undefined ? {} : { midKiB, midHeld }) };
  } finally {
    for (const s of held) s.destroy();
    await sleep(300);
  }
}
