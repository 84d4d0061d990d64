// One connection lifecycle for every transport: slot, client, pick, take, drop and release, as
// the PairHost (pair-host.ts) the transports are given. Built once per balancer; every function
// closes over the state, so a call allocates nothing (the pick fills one scratch record).
import { drop, foldClient, foldClosed, take } from './accounting.ts';
import type { ClientTable } from './clients.ts';
import { clientKey } from './clients.ts';
import type { ConnTable } from './conn-table.ts';
import type { Connection } from './connection.ts';
import { setBlacklist } from './blacklist.ts';
import { debug } from './diag.ts';
import { publish } from './events.ts';
import type { FdWait } from './fd-wait.ts';
import type { DropWhy, PairEntry, PairHost } from './pair-host.ts';
import { firstPick, nextPick, type PickClient } from './pick.ts';
import type { SelectState } from './select.ts';
import { NO_SERVER, serverAt } from './servers.ts';
import { noRouteFromHere } from './uv.ts';
import { tapClientChunk, type TapState } from './taps.ts';

export interface LifecycleState extends SelectState, TapState {
  clients: ClientTable;
  table: ConnTable;
  fd: FdWait;
  /** bytes of connections that have closed (live ones are read from the connections) */
  closedBytes: { sx: number; rx: number };
  accepted: number;
  dropped: number;
  droppedBy: Record<DropWhy, number>;
  now(): number;
  /** a connection to s let go of it: a draining server with none left is drained */
  noteReleased(s: number): void;
}

export function createPairHost(st: LifecycleState): PairHost {
  const scratch: PickClient = { ip: null, port: 0, lastServer: NO_SERVER, initial: NO_SERVER };
  const fill = (conn: PairEntry): PickClient => {
    scratch.ip = conn.clientIp;
    scratch.port = conn.clientPort;
    scratch.lastServer = st.clients.slots[conn.clientIndex]?.server ?? NO_SERVER;
    scratch.initial = NO_SERVER;
    return scratch;
  };

  return {
    settings: st.settings,
    now: () => st.now(),
    server: (s) => serverAt(st.servers, s),
    serverCount: () => st.servers.list.length,

    alloc(conn) {
      const i = st.table.alloc(conn);
      if (i >= 0) st.accepted += 1;
      return i;
    },

    conns: () => st.table.conns,

    full: () => st.table.used >= st.settings.connMax,

    wait: (w) => st.table.wait(w),

    storeClient(ip, port, now = st.now()) {
      const address = ip ?? 'unix';
      return st.clients.store(clientKey(ip === null ? 'unix' : 'ip', address), address, port, now, st.settings.trackingTime);
    },

    clientIp(i) {
      const slot = st.clients.slots[i];
      return slot === undefined || slot.key === 'unix' ? null : slot.address;
    },

    firstPick(conn, now = st.now()) {
      const pick = firstPick(st, fill(conn), now);
      conn.initial = scratch.initial;
      return pick;
    },

    nextPick: (conn, failed, initial, failovers) => nextPick(st, failed, initial, fill(conn), st.now(), failovers),

    chosen(conn, s) {
      const slot = st.clients.slots[conn.clientIndex];
      if (slot) slot.server = s;
      st.servers.current = s;
    },

    // a refused or timed-out connect blacklists the server (the man page's behaviour, pen HEAD)
    failed(s, why, status) {
      if (!serverAt(st.servers, s)) return;
      if (noRouteFromHere(status)) return debug(`not blacklisting server ${s}: ${why} (no route from this host)`);
      debug(`blacklisting server ${s} because of ${why}`);
      setBlacklist(st, s, null, why);
    },

    take(conn) {
      const server = serverAt(st.servers, conn.server);
      conn.counted = true;
      if (!server) return;
      take(server);
      // the one connection that brings it to its limit says so
      if (server.c === server.maxc) publish(st, 'limit', `server ${conn.server} reached its limit of ${server.maxc}`, conn.server);
    },

    drop(conn, bytes) {
      const server = serverAt(st.servers, conn.server);
      if (server) drop(server, bytes, conn.counted);
      if (conn.counted) st.noteReleased(conn.server);
      conn.counted = false;
    },

    release(conn: Connection) {
      if (!st.table.holds(conn)) return;
      const b = conn.bytes();
      const server = serverAt(st.servers, conn.server);
      if (server) {
        drop(server, b, conn.counted);
        if (conn.counted) st.noteReleased(conn.server);
      }
      const client = st.clients.slots[conn.clientIndex];
      if (client) foldClient(client, b);
      foldClosed(st.closedBytes, b);
      st.table.release(conn);
      st.table.admitNext();
      // a closed pair gave back its descriptors
      if (st.fd.paused) st.fd.retry();
    },

    dropped(why) {
      st.dropped += 1;
      st.droppedBy[why] += 1;
    },

    tap: (conn, chunk, https) => tapClientChunk(st, conn, chunk, https),

    outOfDescriptors: (why, waiter) => st.fd.out(why, waiter),
    fdPaused: () => st.fd.paused,
    descriptorsBack: () => st.fd.back(),
  };
}
