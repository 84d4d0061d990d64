// The bounds of every count, index and time pen takes: one row each, read by the command line
// (server/cli/args.ts), the commands (penctl port, -o/-O, -F, include, HUP: server/control/) and
// the REST schemas (shared/api.ts), so all of them accept the same values. A value past `max` is
// refused with one line (pastLimit) and changes nothing. Below `min` a setting's flag and command
// share one rule, pen's where pen has one (its row in shared/settings.ts), which `low` describes;
// REST refuses. The ACL numbers keep pen's port replies on both sides (the control-compat test
// holds them to C pen). A setting whose bound no other code reads may carry it in its row of
// shared/settings.ts instead (so adding it is one edit); the README's bounds table lists both.
// No Node APIs here.

export interface Limit {
  min: number;
  max: number;
  /** the command-line flag that sets it, if any */
  flag?: string;
  /** what happens below min, in pen's words */
  low: string;
  /** why the upper bound is where it is */
  why: string;
}

export const LIMITS = {
  server: {
    min: 0, max: 9_999, low: 'ignored (`server -1` does nothing)',
    why: 'server slots: every report prints each slot and selection may walk them all, so 10,000 slots '
      + '(far past any real pool) keeps a `status` page near 1 MB and a pick in microseconds',
  },
  conn_max: {
    min: 1, max: 1_000_000, flag: 'x', low: 'the command changes nothing below 1, as in pen (the table never shrinks); -x below 1 is an error',
    why: 'connection slots cost 8 bytes each until used and each connection needs two file '
      + 'descriptors, so a million slots (8 MB) is past what one process can hold open',
  },
  clients_max: {
    min: 1, max: 1_000_000, flag: 'c', low: 'the command changes nothing below 1, as in pen (the table never shrinks); -c below 1 is an error',
    why: 'client slots are made when a client first arrives, so the bound only caps memory at about '
      + '200 MB for a million distinct client addresses',
  },
  blacklist: { min: 0, max: 100_000_000, flag: 'b', low: 'stored as given, from -b or the command, as pen does (no blacklisting)', why: 'seconds: three years' },
  tracking: { min: 0, max: 100_000_000, flag: 'T', low: 'stored as given, from -T or the command, as pen does', why: 'seconds: three years' },
  timeout: {
    min: 1, max: 100_000, flag: 't', low: 'refused, from -t (pen prints its usage) or the command (pen stores it and every connect times out at once)',
    why: 'connect timeout in seconds: 27 hours is far past any useful connect wait',
  },
  idle_timeout: { min: 0, max: 100_000_000, low: 'clamped to 0 (no idle timeout)', why: 'seconds: three years' },
  pending_max: { min: 1, max: 1_000_000, low: 'clamped to 1', why: 'as many as connection slots' },
  idlers: { min: 0, max: 1_000_000, low: 'stored as given, as pen does', why: 'as many as connection slots' },
  debug: { min: 0, max: 100, low: 'stored (below 1 is off)', why: 'pen has levels 0-3; 100 leaves room' },
  listen_queue: {
    min: 50, max: 65_535, flag: 'q', low: 'bumped to 50, as pen does',
    why: 'the kernel caps a backlog at net.core.somaxconn anyway; 65,535 is its classic ceiling',
  },
  multi_accept: { min: 1, max: 65_535, flag: 'm', low: 'bumped to 1, as pen does', why: 'accepts per wake-up, like the backlog' },
  client_acl: { min: 0, max: 9, low: 'outside 0-9, either side, the port resets it to 0 as pen does (its reply shows the 0); REST refuses', why: 'there are ten access lists' },
  control_acl: { min: 0, max: 9, low: 'outside 0-9, either side, the port resets it to 0 as pen does (its reply shows the 0); REST refuses', why: 'there are ten access lists' },
  tarpit_acl: { min: -1, max: 9, low: 'outside -1..9, either side, the port resets it to 0 as pen does (-1: none); REST refuses', why: 'there are ten access lists' },
  acl: { min: 0, max: 9, low: 'either side: refused with a debug line and no reply, as pen does; REST refuses', why: 'there are ten access lists' },
  // the keys of `server N key value` (and the REST server fields)
  'server port': { min: 0, max: 65_535, low: 'an error line', why: 'a TCP/UDP port' },
  'server max': { min: 0, max: 1_000_000, low: 'an error line (0: no limit)', why: 'as many as connection slots' },
  'server hard': { min: 0, max: 1_000_000, low: 'an error line (0: no limit)', why: 'as many as connection slots' },
  'server weight': { min: 0, max: 1_000_000, low: 'an error line', why: 'a share; a million keeps sums exact' },
  'server prio': { min: 0, max: 1_000_000, low: 'an error line', why: 'a rank; a million is plenty' },
  'server acl': { min: 0, max: 9, low: 'an error line', why: 'there are ten access lists' },
  'server blacklist': { min: 0, max: 100_000_000, low: '0 or less takes it off the blacklist', why: 'seconds: three years' },
  // `health … interval/timeout/rise/fall` (our extension; shared/health.ts reads these)
  'health interval': { min: 1, max: 86_400, low: 'an error line', why: 'seconds between checks: a day at most' },
  'health timeout': { min: 1, max: 3_600, low: 'an error line', why: 'seconds one check may take: an hour at most' },
  'health rise': { min: 1, max: 100, low: 'an error line', why: 'successes in a row; past 100 a server would never come back in practice' },
  'health fall': { min: 1, max: 100, low: 'an error line', why: 'failures in a row; past 100 a dead server would never be noticed in practice' },
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof LIMITS;

/** The one error line for a value past its bound. */
export function pastLimit(name: LimitName, text: string | number): string {
  return pastMax(name, LIMITS[name].max, text);
}

/** The same for a bound that is not in this table (a setting's own, in its row of shared/settings.ts). */
export function pastMax(name: string, max: number, text: string | number): string {
  return `${name}: ${text} is more than ${max}, the most allowed`;
}

/** Below-or-above check for surfaces that reject both ways (REST, the server keys). */
export function outOfRange(name: LimitName, value: number): boolean {
  const l: Limit = LIMITS[name];
  return value < l.min || value > l.max;
}
