// The pen side of a keepalived pair (docs/high-availability.md): --health-file tells keepalived's
// track_file whether this pen is serving, and --drain keeps it forwarding after SIGTERM until VRRP
// has moved the address away, so a planned hand-over refuses no client.
import type { Balancer } from '../core/balancer.ts';
import { debug } from '../core/diag.ts';
import { writeOperatorFileSync } from '../core/files.ts';

/** what --health-file holds: keepalived's track_file with weight 0 faults on anything but 0 */
export const HEALTH_SERVING = '0\n';
export const HEALTH_STOPPING = '1\n';

export function writeHealthFile(path: string | null, value: string): void {
  if (path === null) return;
  try {
    // renamed into place: keepalived's inotify sees one whole value, never an empty file
    writeOperatorFileSync(path, value);
  } catch (err) {
    debug(`--health-file: ${(err as Error).message}`);
  }
}

/**
 * SIGTERM with --drain: say "stopping" at once (health file, /healthz), keep forwarding for
 * `seconds`, then stop. A second SIGTERM during the drain stops at once.
 */
export function drainThenStop(
  pen: Balancer, opts: { seconds: number; healthFile: string | null }, stop: () => void,
): void {
  writeHealthFile(opts.healthFile, HEALTH_STOPPING);
  if (opts.seconds <= 0 || pen.draining) return stop();
  pen.draining = true;
  if (pen.settings.debug >= 1) debug(`draining for ${opts.seconds} s before closing`);
  setTimeout(stop, opts.seconds * 1000);
}
