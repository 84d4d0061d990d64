// Active health checks: the state machine (pure, unit-tested without sockets) and the schedule
// that runs one prober per server off the data path (probes.ts). A server goes down after `fall`
// failures in a row and up after `rise` successes; selection skips a down server (servers.ts:
// isOut) exactly as it skips a blacklisted one. Passive blacklisting carries on beside this.
import { formatHealth, type HealthCheck } from '../../shared/health.ts';
import { publish } from './events.ts';
import { PROBERS, type ProbeTarget, type Prober } from './probes.ts';
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
}

interface Job {
  key: string;
  kind: HealthCheck['kind'];
  /** runs the checks, and keeps what they keep between them (the http check's connection) */
  prober: Prober;
  state: HealthState;
  /** ms since the epoch when the next check is due */
  due: number;
  /** the check under way: when it started, when it times out, and how to stop it */
  running: { started: number; deadline: number; stop: (why: string) => void } | null;
}

/**
 * How often the schedule looks for due checks: checks due within one tick start together, so
 * 100 checks a second wake pen 4 times rather than 100 (each wake-up costs more than a check).
 */
export const TICK_MS = 250;

/**
 * One job per checked server, all driven by one timer that runs only while there are jobs. The
 * first run of each is placed at its share of the interval (server i of n at i/n), so 100 servers
 * do not connect all at once; each later run starts `interval` after the previous one started,
 * or on the next tick if it overran.
 */
export class HealthChecker {
  private jobs = new Map<Server, Job>();
  private timer: NodeJS.Timeout | null = null;
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
    const now = Date.now();
    list.forEach((s, i) => {
      const check = effectiveCheck(s, this.host.healthDefault);
      const target = targetOf(s);
      if (check.kind === 'off' || target === null) return;
      live.add(s);
      const key = `${formatHealth(check)}|${target.family}|${target.address}|${target.port}`;
      const job = this.jobs.get(s);
      if (job && job.key === key) return;
      if (job) this.drop(s);
      const due = now + (check.interval * 1000 * i) / Math.max(1, list.length);
      this.jobs.set(s, {
        key, kind: check.kind, prober: PROBERS[check.kind](), state: freshHealth(), due, running: null,
      });
    });
    for (const s of this.jobs.keys()) if (!live.has(s)) this.drop(s);
    if (this.jobs.size > 0 && this.timer === null) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    } else if (this.jobs.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) {
      job.running?.stop('stopped');
      job.prober.close();
    }
  }

  private drop(s: Server): void {
    const job = this.jobs.get(s);
    this.jobs.delete(s);
    job?.running?.stop('check removed');
    job?.prober.close();
    s.healthDown = false; // an unchecked server is judged by blacklisting alone
  }

  private tick(): void {
    const now = Date.now();
    for (const [s, job] of this.jobs) {
      if (job.running !== null) {
        if (now >= job.running.deadline) job.running.stop(`timed out after ${(job.running.deadline - job.running.started) / 1000} s`);
      } else if (job.due <= now) {
        this.start(s, job, now);
      }
    }
  }

  private start(s: Server, job: Job, now: number): void {
    const check = effectiveCheck(s, this.host.healthDefault);
    const target = targetOf(s);
    if (target === null || check.kind !== job.kind) return; // changed since the last reconcile, which will restart it
    job.due = Math.max(job.due + check.interval * 1000, now);
    const running = { started: now, deadline: now + check.timeout * 1000, stop: (_why: string) => {} };
    job.running = running;
    running.stop = job.prober.run(target, check, this.host.settings.source, (error) => {
      if (job.running === running) job.running = null;
      if (this.jobs.get(s) === job) this.record(s, job, check, now, error);
    });
  }

  private record(s: Server, job: Job, check: HealthCheck, started: number, error: string | null): void {
    const h = job.state;
    h.lastCheck = Date.now();
    h.lastDurationMs = h.lastCheck - started;
    h.lastError = error;
    const change = recordResult(h, error === null, check.rise, check.fall);
    s.healthDown = h.state === 'down';
    const index = this.host.servers.list.indexOf(s);
    if (change === 'down') publish(this.host, 'down', `server ${index} is down: ${error}`, index);
    else if (change === 'up') publish(this.host, 'up', `server ${index} is up`, index);
  }
}

