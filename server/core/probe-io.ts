// What every health check's prober (probes.ts, http-check.ts) is built from: the check's shape,
// its bounded settle, and a raw libuv connect that honours `source`.
import type { HealthCheck } from '../../shared/health.ts';
import type { Family } from './address.ts';
import { PIPE_SOCKET, Pipe, PipeConnectWrap, TCP, TCPConnectWrap, TCP_SOCKET, uvMessage, type StreamHandle } from './uv.ts';

export interface ProbeTarget {
  family: Exclude<Family, 0>;
  address: string;
  port: number;
}

/**
 * Start a check: `settle` is called once, with null when the server passed or the reason it
 * failed. The result stops the check early and closes what it opened (the schedule calls it at
 * the check's timeout: one timer for every check, core/health.ts, rather than one each).
 */
export type Probe = (
  t: ProbeTarget, check: HealthCheck, source: string | null, settle: (error: string | null) => void,
) => (why: string) => void;

/** One server's checker: `run` starts a check; `close` lets go of what it keeps between checks. */
export interface Prober {
  run: Probe;
  close(): void;
}

/** Callbacks for a check's body; `cleanup` (what the body returns) always runs, exactly once. */
export function bounded(
  settle: (error: string | null) => void,
  body: (ok: () => void, fail: (why: string) => void) => () => void,
): (why: string) => void {
  let done = false;
  let cleanup: (() => void) | null = null;
  const finish = (why: string | null) => {
    if (done) return;
    done = true;
    cleanup?.();
    settle(why);
  };
  const close = body(() => finish(null), (why) => finish(why));
  if (done) close(); // it finished before it could hand over its cleanup
  else cleanup = close;
  return (why) => finish(why);
}

/** A source address only applies to servers of its own family. */
export function localAddress(t: ProbeTarget, source: string | null): string | undefined {
  if (source === null || t.family === 'unix') return undefined;
  return source.includes(':') === (t.family === 6) ? source : undefined;
}

/**
 * Close a check's handle. With `reset`, a connected TCP socket closes with an RST rather than a
 * FIN (assumption 11 in core/uv.ts), which leaves no TIME_WAIT socket on either side: the http
 * check does it once it has the server's answer (the server has said all the check waits for).
 * A tcp check closes with a FIN: after an RST the server could not even tell where the check came
 * from (getpeername fails on its accepted socket), and the RST measured no cheaper there. Pipes,
 * and sockets not yet connected (nothing to linger), close plainly.
 */
function closeHandle(handle: StreamHandle, reset: boolean): void {
  if (reset && handle.reset !== undefined) {
    if (handle.reset() === 0) return;
  }
  handle.close(); // after a failed reset this does nothing on Node 20 (see uv.ts): kept for the others
}

/** Where every check that reads reads into: its bytes are looked at in onread, at once. */
export const READ_BUFFER = Buffer.allocUnsafe(1024);

/**
 * Connect a raw libuv handle (as the data path does, core/uv.ts: a net.Socket per check cost ~7x
 * more CPU); `connected` gets the open handle. With `onread`, reading (into READ_BUFFER) starts at
 * once rather than once connected (assumption 12): libuv then registers the socket for both
 * directions in one epoll_ctl, where starting it later cost two (the first failing with EEXIST);
 * a handle that reads is reset once connected (closeHandle). Returns the handle's close.
 */
export function connectRaw(
  t: ProbeTarget, source: string | null, onread: StreamHandle['onread'],
  connected: (h: StreamHandle) => void, fail: (why: string) => void,
): () => void {
  const unix = t.family === 'unix';
  const handle = unix ? new Pipe(PIPE_SOCKET) : new TCP(TCP_SOCKET);
  let state: 'connecting' | 'connected' | 'closed' = 'connecting';
  const close = () => {
    if (state === 'closed') return;
    closeHandle(handle, state === 'connected' && onread !== null);
    state = 'closed';
  };
  const req = unix ? new PipeConnectWrap() : new TCPConnectWrap();
  req.oncomplete = (status) => {
    if (state === 'closed') return;
    if (status !== 0) return void fail(uvMessage('connect', status, unix ? t.address : `${t.address}:${t.port}`));
    state = 'connected';
    connected(handle);
  };
  const local = localAddress(t, source);
  let err = 0;
  if (local !== undefined) err = t.family === 6 ? handle.bind6!(local, 0, 0) : handle.bind!(local, 0);
  if (err !== 0) {
    fail(uvMessage('bind', err, local));
    return close;
  }
  if (unix) err = handle.connect(req, t.address);
  else if (t.family === 6) err = handle.connect6!(req, t.address, t.port);
  else err = handle.connect(req, t.address, t.port);
  if (err !== 0) fail(uvMessage('connect', err, unix ? t.address : `${t.address}:${t.port}`));
  else if (onread !== null) {
    handle.onread = onread;
    handle.useUserBuffer(READ_BUFFER);
    err = handle.readStart();
    if (err !== 0) fail(uvMessage('read', err));
  }
  return close;
}
