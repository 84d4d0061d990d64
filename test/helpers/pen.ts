// Start our pen (or Debian's, for comparison) as a real process, and stop it by pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep } from './backends.ts';
import { describeEndpoint, listening, startedUp, type Endpoint } from './listening.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PEN = `${ROOT}bin/pen.js`;
export const PENCTL = `${ROOT}bin/penctl.js`;

export interface PenProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Run pen in the foreground (-f is added) with args; waits until pen listens on `waitPort` (bound,
 * with -U) or `waitPath` and has finished starting, seen in /proc: no connection goes through the
 * balancer before the test's own.
 */
export async function startPen(
  args: string[], opts: { waitPort?: number; waitPath?: string; binary?: string; nodeArgs?: string[] } = {},
): Promise<PenProcess> {
  const bin = opts.binary ?? PEN;
  const child = bin === PEN
    ? spawn(process.execPath, [...(opts.nodeArgs ?? []), PEN, '-f', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, ['-f', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // 'exit' can come before the last of stdout: the C pen's is block-buffered into the pipe and only
  // flushed as it exits, so its whole -O/-F output may still be unread then. 'close' means the
  // pipes are drained too (bounded, in case something else holds them open).
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const proc: PenProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      let drained: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((r) => { drained = setTimeout(r, 2000); })]);
      clearTimeout(drained);
      return code;
    },
  };
  const at: Endpoint | null = opts.waitPath !== undefined ? { unix: opts.waitPath }
    : opts.waitPort === undefined ? null
      : args.includes('-U') ? { udp: opts.waitPort } : { tcp: opts.waitPort };
  if (at !== null) await waitListening(proc, at);
  return proc;
}

/**
 * Poll /proc (every 25 ms, at most 1200 times or 30 s) until pen holds the socket at `at` and has
 * finished start-up (it catches SIGHUP and SIGTERM). With --admin on a loaded machine start-up
 * took 3.4-6.3 s, and the CI machine runs the suite about 3x slower than this one: 10 s was missed.
 */
async function waitListening(proc: PenProcess, at: Endpoint): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let i = 0; i < 1200 && Date.now() < deadline; i++) {
    const { exitCode, signalCode, pid, spawnfile } = proc.child;
    if (pid === undefined) throw new Error(`could not start ${spawnfile}`);
    if (exitCode !== null || signalCode !== null) throw new Error(`pen exited (${exitCode ?? signalCode}) before listening on ${describeEndpoint(at)}: ${proc.stderr()}`);
    if (listening(pid, at) && startedUp(pid)) return;
    await sleep(25);
  }
  await proc.stop('SIGKILL');
  throw new Error(`pen did not listen on ${describeEndpoint(at)} in time: ${proc.stderr()}`);
}

/** Run our pen to completion (for argument errors, --help, daemon mode). */
export function runPen(args: string[], timeoutMs = 10000) {
  const r = spawnSync(process.execPath, [PEN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run a penctl (ours by default, or /usr/bin/penctl) and return its stdout. */
export function penctl(
  target: string, command: string[], binary: string = PENCTL,
): { code: number | null; stdout: string; stderr: string } {
  const r = binary === PENCTL
    ? spawnSync(process.execPath, [PENCTL, target, ...command], { encoding: 'utf8', timeout: 10000 })
    : spawnSync(binary, [target, ...command], { encoding: 'utf8', timeout: 10000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether a process (one the test started) is still running. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
