// A small lab of network namespaces joined by one bridge, for tests that need hosts of their own
// (the keepalived failover test). Root only; every name carries a unique prefix, and close()
// stops what was started (by pid) and removes every namespace, whatever state the test left.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { sleep } from './backends.ts';

/** Why this machine cannot run the lab, or null when it can. */
export function labUnavailable(programs: readonly string[]): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, addresses, keepalived)';
  for (const p of ['ip', ...programs]) {
    if (which(p) === null) return `needs ${p} (apt-get install keepalived iproute2 nginx-light curl)`;
  }
  const probe = `penprobe${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) return `cannot create a network namespace here: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 5000 });
  return null;
}

export function which(program: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin']) {
    if (existsSync(`${dir}/${program}`)) return `${dir}/${program}`;
  }
  return null;
}

export interface LabProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<void>;
}

export class Lab {
  readonly hosts = new Map<string, string>();
  private readonly switchNs: string;
  private readonly procs = new Set<LabProcess>();
  /** pid files of processes that others fork (keepalived's VRRP child): stopped by pid at close */
  private readonly pidFiles = new Set<string>();

  /** the program whose pid files adoptPidFile() takes */
  pidFileComm = 'keepalived';

  constructor(readonly prefix: string) {
    this.switchNs = `${prefix}sw`;
  }

  /** The namespace name of `host`. */
  ns(host: string): string {
    const ns = this.hosts.get(host);
    if (!ns) throw new Error(`no host ${host} in the lab`);
    return ns;
  }

  /** Run a command to completion; throws with its stderr when it fails. */
  run(cmd: string, args: string[]): string {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
    return r.stdout;
  }

  /** Run a command inside a host's namespace; its stdout, or null when it fails. */
  probe(host: string, cmd: string, args: string[]): string | null {
    const r = spawnSync('ip', ['netns', 'exec', this.ns(host), cmd, ...args], { encoding: 'utf8', timeout: 10000 });
    return r.status === 0 ? r.stdout : null;
  }

  /** `ip` inside a host's namespace. */
  ip(host: string, ...args: string[]): string {
    return this.run('ip', ['-n', this.ns(host), ...args]);
  }

  /** The bridge, in a namespace of its own so nothing touches the machine's own network. */
  createSwitch(): void {
    this.run('ip', ['netns', 'add', this.switchNs]);
    this.run('ip', ['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    this.run('ip', ['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
  }

  /** A host with eth0 on the bridge and `addresses` (CIDR) on it. */
  addHost(host: string, addresses: string[]): void {
    const ns = `${this.prefix}${host}`;
    this.run('ip', ['netns', 'add', ns]);
    this.hosts.set(host, ns);
    this.ip(host, 'link', 'set', 'lo', 'up');
    this.run('ip', ['-n', this.switchNs, 'link', 'add', `p${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    this.run('ip', ['-n', this.switchNs, 'link', 'set', `p${host}`, 'master', 'br0', 'up']);
    for (const a of addresses) this.ip(host, 'addr', 'add', a, 'dev', 'eth0');
    this.ip(host, 'link', 'set', 'eth0', 'up');
  }

  /** Whether `address` is on one of the host's interfaces now. */
  hasAddress(host: string, address: string): boolean {
    return this.ip(host, '-br', '-4', 'addr', 'show').split(/[\s/]+/).includes(address);
  }

  /** Start a long-running process inside a host (host null: in the machine's namespace). */
  start(
    name: string, host: string | null, cmd: string, args: string[],
    opts: { cwd?: string; onLine?: (line: string) => void } = {},
  ): LabProcess {
    const [file, argv]: [string, string[]] = host === null ? [cmd, args] : ['ip', ['netns', 'exec', this.ns(host), cmd, ...args]];
    const child = spawn(file, argv, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer) => { out = (out + d.toString()).slice(-64 * 1024); };
    child.stdout!.on('data', keep);
    if (opts.onLine) {
      let partial = '';
      child.stdout!.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) opts.onLine!(l);
      });
    }
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const p: LabProcess = { name, child, output: () => out, exited };
    this.procs.add(p);
    void exited.then(() => this.procs.delete(p));
    return p;
  }

  /** Signal a process by pid and wait (bounded) for it to exit; SIGKILL after the wait. */
  async stop(p: LabProcess, signal: NodeJS.Signals = 'SIGTERM', waitMs = 5000): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill(signal);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), waitMs);
    await p.exited;
    clearTimeout(timer);
  }

  /** Remember a pid file whose process close() stops if it is still running then. */
  adoptPidFile(path: string): void {
    this.pidFiles.add(path);
  }

  /** Stop every process still running (by pid), then remove every namespace (their veths go with them). */
  async close(): Promise<void> {
    await Promise.all([...this.procs].map((p) => this.stop(p, 'SIGTERM', 3000)));
    for (const file of this.pidFiles) {
      const pid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : NaN;
      // only a process that is still the one the file names (a pid can be reused)
      if (Number.isInteger(pid) && pid > 1 && commOf(pid) === this.pidFileComm) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
    for (const ns of [...this.hosts.values(), this.switchNs]) {
      spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
    }
    this.hosts.clear();
  }
}

/** Poll `check` every `everyMs` until it is true or `ms` have passed; returns whether it became true. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}
