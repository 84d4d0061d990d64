// Active health checks: the state machine (pure, unit-tested without sockets) and the schedule
// that runs one prober per server off the data path (probes.ts). A server goes down after `fall`
// failures in a row and up after `rise` successes; selection skips a down server (servers.ts:
// isOut) exactly as it skips a blacklisted one. Passive blacklisting carries on beside this.
import { HEALTH_OFF, formatHealth, type HealthCheck } from '../../shared/health.ts';
import { PROBES, type ProbeTarget } from './probes.ts';
import type { Server } from './servers.ts';

export type HealthStateName = 'unknown' | 'up' | 'down';

export interface HealthState {
  state: HealthStateName;
  /** consecutive results of the same kind as the last one */
  successes: number;
  failures: number;
  /** ms since the epoch when the last check finished (0: none yet) */
  lastCheck: number;
  lastDurationMs: number;
  lastError: string | null;
  checks: number;
  failuresTotal: number;
}

export function freshHealth(): HealthState {
  return { state: 'unknown', successes: 0, failures: 0, lastCheck: 0, lastDurationMs: 0, lastError: null, checks: 0, failuresTotal: 0 };
}

/**
 * Fold one result into the state; returns 'up' or 'down' when the server changed sides. A server
 * not yet judged ('unknown') is used meanwhile, so a fresh start does not wait `rise` checks.
 */
export function recordResult(h: HealthState, ok: boolean, rise: number, fall: number): 'up' | 'down' | null {
  h.checks += 1;
  if (ok) {
    h.successes += 1;
    h.failures = 0;
    if (h.state !== 'up' && h.successes >= rise) {
      const was = h.state;
      h.state = 'up';
      return was === 'down' ? 'up' : null;
    }
    return null;
  }
  h.failuresTotal += 1;
  h.failures += 1;
  h.successes = 0;
  if (h.state !== 'down' && h.failures >= fall) {
    h.state = 'down';
    return 'down';
  }
  return null;
}

/** The check that applies to a server: its own, else the default. */
export function effectiveCheck(s: Server, fallback: HealthCheck): HealthCheck {
  return s.health ?? fallback;
}

/** Where a check goes, or null when the slot has nowhere to check yet. */
function targetOf(s: Server): ProbeTarget | null {
  if (s.family === 0 || (s.family !== 'unix' && s.port === 0)) return null;
  return { family: s.family, address: s.address, port: s.port };
}

/** What the balancer gives the checker. */
export interface HealthHost {
  servers: { list: Server[] };
  settings: { source: string | null };
  healthDefault: HealthCheck;
  emitEvent(e: { type: 'down' | 'up'; server: number; message: string }): void;
}

interface Job {
  key: string;
  state: HealthState;
  timer: NodeJS.Timeout | null;
}

/**
 * One job per checked server, each on its own timer. The first run of each is placed at its
 * share of the interval (server i of n at i/n), so 100 servers do not connect all at once; each
 * later run starts `interval` after the previous one started, or at once if it overran.
 */
export class HealthChecker {
  private jobs = new Map<Server, Job>();
  private stopped = false;

  constructor(private readonly host: HealthHost) {}

  /** The check state of a server, or null when it is not checked. */
  stateOf(s: Server): HealthState | null {
    return this.jobs.get(s)?.state ?? null;
  }

  /** Bring the jobs in line with the commands: new checks start, changed ones restart fresh, dropped ones stop. */
  reconcile(): void {
    if (this.stopped) return;
    const list = this.host.servers.list;
    const live = new Set<Server>();
    list.forEach((s, i) => {
      const check = effectiveCheck(s, this.host.healthDefault);
      const target = targetOf(s);
      if (check.kind === 'off' || target === null) return;
      live.add(s);
      const key = `${formatHealth(check)}|${target.family}|${target.address}|${target.port}`;
      const job = this.jobs.get(s);
      if (job && job.key === key) return;
      if (job) this.drop(s, job);
      const fresh: Job = { key, state: freshHealth(), timer: null };
      this.jobs.set(s, fresh);
      this.schedule(s, fresh, (check.interval * 1000 * i) / Math.max(1, list.length));
    });
    for (const [s, job] of this.jobs) if (!live.has(s)) this.drop(s, job);
  }

  stop(): void {
    this.stopped = true;
    for (const job of this.jobs.values()) if (job.timer) clearTimeout(job.timer);
    this.jobs.clear();
  }

  private drop(s: Server, job: Job): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = null;
    this.jobs.delete(s);
    s.healthDown = false; // an unchecked server is judged by blacklisting alone
  }

  private schedule(s: Server, job: Job, delayMs: number): void {
    job.timer = setTimeout(() => { void this.run(s, job); }, Math.max(0, delayMs));
    job.timer.unref();
  }

  private async run(s: Server, job: Job): Promise<void> {
    job.timer = null;
    const check = effectiveCheck(s, this.host.healthDefault);
    const target = targetOf(s);
    if (this.jobs.get(s) !== job || target === null || check.kind === 'off') return;
    const started = Date.now();
    let error: string | null = null;
    try {
      await PROBES[check.kind](target, check, this.host.settings.source, check.timeout * 1000);
    } catch (err) {
      error = (err as Error).message || String(err);
    }
    if (this.jobs.get(s) !== job) return; // changed or stopped while it ran
    const h = job.state;
    h.lastCheck = Date.now();
    h.lastDurationMs = h.lastCheck - started;
    h.lastError = error;
    const change = recordResult(h, error === null, check.rise, check.fall);
    s.healthDown = h.state === 'down';
    const index = this.host.servers.list.indexOf(s);
    if (change === 'down') {
      this.host.emitEvent({ type: 'down', server: index, message: `server ${index} is down: ${error}` });
    } else if (change === 'up') {
      this.host.emitEvent({ type: 'up', server: index, message: `server ${index} is up` });
    }
    this.schedule(s, job, started + check.interval * 1000 - Date.now());
  }
}

export { HEALTH_OFF };
