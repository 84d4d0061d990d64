// Start our pen (or Debian's, for comparison) as a real process, and stop it by pid.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { sleep } from './backends.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PEN = `${ROOT}bin/pen.js`;
export const PENCTL = `${ROOT}bin/penctl.js`;

export interface PenProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Run pen in the foreground (-f is added) with args; waits until `waitPort` accepts connections. */
export async function startPen(args: string[], opts: { waitPort?: number; waitPath?: string; binary?: string; nodeArgs?: string[] } = {}): Promise<PenProcess> {
  const bin = opts.binary ?? PEN;
  const child = bin === PEN
    ? spawn(process.execPath, [...(opts.nodeArgs ?? []), PEN, '-f', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, ['-f', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const proc: PenProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  if (opts.waitPort !== undefined || opts.waitPath !== undefined) {
    const deadline = Date.now() + 10000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`pen exited ${child.exitCode}: ${err}`);
      if (await canConnect(opts.waitPort, opts.waitPath)) break;
      if (Date.now() > deadline) {
        await proc.stop('SIGKILL');
        throw new Error(`pen did not listen in time: ${err}`);
      }
      await sleep(50);
    }
  }
  return proc;
}

function canConnect(port?: number, path?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = port !== undefined ? net.connect({ host: '127.0.0.1', port }) : net.connect({ path: path! });
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/** Run our pen to completion (for argument errors, --help, daemon mode). */
export function runPen(args: string[], timeoutMs = 10000) {
  const r = spawnSync(process.execPath, [PEN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run a penctl (ours by default, or /usr/bin/penctl) and return its stdout. */
export function penctl(target: string, command: string[], binary: string = PENCTL): { code: number | null; stdout: string; stderr: string } {
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
