// Blacklisting starts and ends here, whatever causes it: a failed connect (lifecycle.ts),
// `server N blacklist S` (control/), or its time running out, which the timeout sweep finds
// (`blacklist N` changing the time is found the same way). Each start and each end is
// published exactly once: `announced` is what was last said of the server.
import { publish } from './events.ts';
import { blacklistFor, isBlacklisted, serverAt, type Server, type ServerTable } from './servers.ts';
import type { Settings } from './settings.ts';

export interface BlacklistOwner {
  servers: ServerTable;
  settings: Settings;
  now(): number;
}

/** Blacklist server i for `seconds` from now (pen's blacklist time when null); 0 takes it off. */
export function setBlacklist(owner: BlacklistOwner, i: number, seconds: number | null, why: string): void {
  const s = serverAt(owner.servers, i);
  if (!s) return;
  if (seconds === null) s.status = owner.now();
  else blacklistFor(s, seconds, owner.now(), owner.settings.blacklistTime);
  settle(owner, i, s, why);
}

/** Announce the blacklistings that began or ended since the last look (the sweep's part). */
export function settleBlacklists(owner: BlacklistOwner): void {
  const { list, emergency, abuse } = owner.servers;
  for (let i = 0; i < list.length; i++) settle(owner, i, list[i]!, '');
  if (emergency) settle(owner, -1, emergency, '');
  if (abuse) settle(owner, -2, abuse, '');
}

function settle(owner: BlacklistOwner, i: number, s: Server, why: string): void {
  const on = isBlacklisted(s, owner.now(), owner.settings.blacklistTime);
  if (on === s.announced) return;
  s.announced = on;
  publish(owner, on ? 'blacklisted' : 'back', on ? `server ${i} blacklisted${why ? `: ${why}` : ''}` : `server ${i} is back`, i);
}
