// Process plumbing for the benchmark: every child is spawned through here, remembered by pid,
// and stopped by that pid (never by name: other pen processes may share the machine).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';

export const HOST = '127.0.0.1';

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

const live = new Set<Proc>();

/** CPU pinning: null = none, otherwise the CPU list given to taskset. */
export interface Pin {
  proxy: string | null;
  load: string | null;
}

export const NO_PIN: Pin = { proxy: null, load: null };

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Start a long-running child (a backend or a proxy), optionally pinned with taskset. */
export function start(
  name: string, cmd: string, args: string[], cpu: string | null = null, env?: Record<string, string>,
): Proc {
  const [file, argv] = cpu ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  let out = '';
  const keep = (d: Buffer) => { if (out.length < 64 * 1024) out += d.toString(); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => { out += `spawn error: ${err.message}\n`; });
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const proc: Proc = {
    name,
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async stop() {
      live.delete(proc);
      if (proc.exited()) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => { if (!proc.exited()) child.kill('SIGKILL'); }, 3000);
      await gone;
      clearTimeout(t);
    },
  };
  // taskset execs the command, so the pid is the command's own
  live.add(proc);
  return proc;
}

/** Stop everything still running (exit handlers call this). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Synchronous last resort for process.on('exit'). */
export function killAllSync(): void {
  for (const p of live) if (!p.exited()) p.child.kill('SIGKILL');
  live.clear();
}

/** Run a load generator to completion, bounded in time; resolves with its stdout. */
export function run(
  cmd: string, args: string[], cpu: string | null, timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [file, argv] = cpu ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { stderr += err.message; });
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

/** An unused TCP+UDP port on 127.0.0.1 (bound then released; good enough on loopback). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, HOST, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, HOST, () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free port found');
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/** Wait until a TCP port accepts connections, or the process dies, or 10 s pass. */
export async function waitTcp(proc: Proc, port: number): Promise<void> {
  const deadline = Date.now() + 10000;
  while (!(await canConnect(port))) {
    if (proc.exited()) throw new Error(`${proc.name} exited: ${proc.output().trim().slice(0, 500)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} did not listen on ${port}: ${proc.output().trim().slice(0, 500)}`);
    await sleep(50);
  }
}

/** Wait until a UDP port is bound by someone (seen in /proc/net/udp). */
export async function waitUdp(proc: Proc, port: number): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + 10000;
  for (;;) {
    const table = readFileSync('/proc/net/udp', 'utf8');
    if (table.split('\n').some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex))) return;
    if (proc.exited()) throw new Error(`${proc.name} exited: ${proc.output().trim().slice(0, 500)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} did not bind udp ${port}`);
    await sleep(50);
  }
}

/** Resident memory of a process in KiB (VmRSS), or null if it is gone. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system, all threads) a process has used so far, in microseconds. */
export function cpuMicros(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1e6 / CLOCK_TICKS);
  } catch {
    return null;
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** Find a program on PATH or in the sbin directories Debian puts daemons in. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/local/sbin'])) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return null;
}

export function cpuCount(): number {
  const r = spawnSync('nproc', [], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 1;
}
