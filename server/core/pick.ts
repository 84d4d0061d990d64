// The pick sequence, once for every transport: pen's initial choice, try_server's checks and the
// failover scan (select.ts), put together into a result that says where a connection goes, or
// why it goes nowhere (HAProxy's SRV_STATUS_*). Pure: state in, a Pick out, no sockets, no clock.
//
// Picks are shared, immutable objects (one per server index, made on first use), so a pick
// allocates nothing on the data path.
import { aclPermits } from './acl.ts';
import {
  TRY_ACL, TRY_FULL, TRY_OK, chooseInitial, failoverNext, tryVerdict, type ClientInfo, type SelectState,
} from './select.ts';
import { ABUSE, EMERGENCY, NO_SERVER } from './servers.ts';

/** Why no server takes a client: none up (or none at all), all at their limits, or an ACL says no. */
export type NoneWhy = 'nosrv' | 'full' | 'acl';

export type Pick =
  | { readonly kind: 'server'; readonly s: number }
  | { readonly kind: 'emergency'; readonly s: typeof EMERGENCY }
  | { readonly kind: 'abuse'; readonly s: typeof ABUSE }
  | { readonly kind: 'none'; readonly why: NoneWhy };

/** A client as the pick sees it; firstPick writes pen's initial choice into `initial`. */
export interface PickClient extends ClientInfo {
  initial: number;
}

const EMERGENCY_PICK: Pick = Object.freeze({ kind: 'emergency', s: EMERGENCY });
const ABUSE_PICK: Pick = Object.freeze({ kind: 'abuse', s: ABUSE });
const NONE: Record<NoneWhy, Pick> = {
  nosrv: Object.freeze({ kind: 'none', why: 'nosrv' }),
  full: Object.freeze({ kind: 'none', why: 'full' }),
  acl: Object.freeze({ kind: 'none', why: 'acl' }),
};
const serverPicks: Pick[] = [];

/** The pick for a server index (a regular one, EMERGENCY or ABUSE). */
export function pickOf(s: number): Pick {
  if (s === EMERGENCY) return EMERGENCY_PICK;
  if (s === ABUSE) return ABUSE_PICK;
  while (serverPicks.length <= s) serverPicks.push(Object.freeze({ kind: 'server', s: serverPicks.length }));
  return serverPicks[s] ?? NONE.nosrv; // only for a negative s that names no server (NO_SERVER)
}

/** The server index a pick goes to; NO_SERVER for none. */
export function pickIndex(p: Pick): number {
  return p.kind === 'none' ? NO_SERVER : p.s;
}

/**
 * How many failovers one client may make after its first connect: pen's scan from the initial
 * choice tries the N-1 other servers, the initial one once more and then the emergency server,
 * N+1 in all. pen rescans after every connect that fails asynchronously, without a bound (with
 * -b 0 a client of dead servers would go round for ever); here every failover of a client counts
 * against this one bound, TCP and UDP alike.
 */
export function failoverLimit(st: SelectState): number {
  return st.servers.list.length + 1;
}

/** Where a new connection goes: initial_server, then try_server, then the failover scan. */
export function firstPick(st: SelectState, client: PickClient, now: number): Pick {
  const initial = chooseInitial(st, client, now);
  client.initial = initial;
  if (tryVerdict(st, initial, client, now) === TRY_OK) return pickOf(initial);
  const next = failoverNext(st, initial, initial, client, now);
  return next === NO_SERVER ? NONE[whyNone(st, initial, initial, client, now)] : pickOf(next);
}

/**
 * Where a connection goes after `failed` did not take it (refused, timed out, or down since),
 * its `failovers`-th failover: the scan from the server after `failed` up to `initial`, then the
 * emergency server; none once the bound is reached.
 */
export function nextPick(
  st: SelectState, failed: number, initial: number, client: ClientInfo, now: number, failovers = 0,
): Pick {
  if (failovers >= failoverLimit(st)) return NONE.nosrv;
  const next = failoverNext(st, failed, initial, client, now);
  return next === NO_SERVER ? NONE[whyNone(st, failed, initial, client, now)] : pickOf(next);
}

/**
 * Why a failover found nothing, for the `dropped` counter: a client that client_acl denies is
 * 'acl'; otherwise the servers the scan would have tried say it: any at its limit makes 'full',
 * else any whose ACL refuses the client 'acl', else 'nosrv'. Only runs when a client is dropped.
 */
export function whyNone(st: SelectState, failed: number, initial: number, client: ClientInfo, now: number): NoneWhy {
  if (!aclPermits(st.acls, st.settings.clientAcl, client.ip, st.country) && st.servers.abuse === null) return 'acl';
  let full = false;
  let acl = false;
  const note = (s: number): void => {
    const v = tryVerdict(st, s, client, now);
    if (v === TRY_FULL) full = true;
    else if (v === TRY_ACL) acl = true;
  };
  note(failed);
  const n = st.servers.list.length;
  if (!st.settings.stubborn && failed >= 0 && n >= 2) {
    for (let k = 1; k <= n; k++) {
      const i = (failed + k) % n;
      note(i);
      if (i === initial) break;
    }
  }
  if (!st.settings.stubborn && failed !== ABUSE && failed !== EMERGENCY) note(EMERGENCY);
  return full ? 'full' : acl ? 'acl' : 'nosrv';
}
