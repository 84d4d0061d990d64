// One prober per health-check kind, as a table keyed by kind. Each check resolves when the
// server passes and rejects with a one-line reason when it fails; each is bounded by its timeout
// and closes what it opened either way (the http check keeps its connection between checks,
// http-check.ts, and the dns check its UDP socket). Backend sockets bind to `source` when it is
// set, as the data path's do. They run on raw libuv handles, as the data path does, to stay cheap.
import type { HealthKind } from '../../shared/health.ts';
import { httpProber } from './http-check.ts';
import { bounded, connectRaw, localAddress, type Probe, type ProbeTarget, type Prober } from './probe-io.ts';
import { SendWrap, UDP, connectUdp, uvMessage, type UdpHandle } from './uv.ts';

export type { ProbeTarget, Prober } from './probe-io.ts';

const tcp: Probe = (t, _check, source, settle) => bounded(settle, (ok, fail) => connectRaw(t, source, null, ok, fail));

let queryId = Math.floor(Math.random() * 0x10000);

/** An A query for `name` with recursion desired, as dig sends it. */
export function dnsQuery(name: string, id: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2);
  head.writeUInt16BE(1, 4);
  const labels = name.replace(/\.$/, '').split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

type OnReply = (nread: number, buf: Buffer) => void;
/** The socket a dns prober keeps, the source address it is bound to, and the check waiting on it. */
interface KeptUdp { handle: UdpHandle; local: string | undefined; check: OnReply | null }

/**
 * One server's dns checks on one connected UDP socket, kept between checks as the http check keeps
 * its connection: a check is a datagram each way, where a socket per check cost a socket, connect,
 * epoll_ctl and close each time. Any reply to the check's query counts: the server is there and
 * answering. A late reply to an earlier query does not (its id is not the current check's). On the
 * connected socket an ICMP port unreachable arrives as ECONNREFUSED, so a stopped server fails at
 * once; an error drops the socket, and so does a new source (a new target is a new prober: the
 * job's key in health.ts).
 */
function dnsProber(): Prober {
  let kept: KeptUdp | null = null;
  const drop = () => {
    if (kept === null) return;
    kept.handle.recvStop();
    kept.handle.close();
    kept = null;
  };
  /** A connected socket reading replies, or why it could not be opened. */
  const open = (t: ProbeTarget, local: string | undefined): KeptUdp | string => {
    const handle = new UDP();
    const v6 = t.family === 6;
    let { err, syscall }: { err: number; syscall: string } = connectUdp(handle, v6, local, t.address, t.port);
    const k: KeptUdp = { handle, local, check: null };
    if (err === 0) {
      handle.onmessage = (nread, _h, buf) => k.check?.(nread, buf);
      handle.onerror = () => {};
      syscall = 'recvStart';
      err = handle.recvStart();
    }
    if (err === 0) return k;
    handle.close();
    return `dns: ${uvMessage(syscall, err, syscall === 'bind' ? local : `${t.address}:${t.port}`)}`;
  };
  const run: Probe = (t, check, source, settle) => bounded(settle, (ok, fail) => {
    if (t.family === 'unix') {
      fail('dns: needs an IP server');
      return () => {};
    }
    const local = localAddress(t, source);
    if (kept !== null && kept.local !== local) drop();
    if (kept === null) {
      const opened = open(t, local);
      if (typeof opened === 'string') {
        fail(opened);
        return () => {};
      }
      kept = opened;
    }
    const k = kept;
    const id = (queryId = (queryId + 1) & 0xffff);
    const onReply: OnReply = (nread, buf) => {
      if (nread < 0) {
        drop();
        fail(`dns: ${uvMessage('recvmsg', nread)}`);
      } else if (nread >= 12 && buf.readUInt16BE(0) === id && ((buf[2] ?? 0) & 0x80) !== 0) ok();
    };
    k.check = onReply;
    const list = [dnsQuery(check.name ?? '.', id)];
    const req = new SendWrap();
    req.list = list; // kept alive while the datagram may wait in libuv's queue
    const sent = k.handle.send(req, list, 1, false);
    if (sent < 0) {
      drop();
      fail(`dns: ${uvMessage('send', sent, `${t.address}:${t.port}`)}`);
    }
    return () => { if (k.check === onReply) k.check = null; };
  });
  return { run, close: drop };
}

/** A prober that keeps nothing between checks. */
const each = (run: Probe) => (): Prober => ({ run, close() {} });

/** A new prober for one server's checks of each kind. */
export const PROBERS: Record<HealthKind, () => Prober> = {
  off: each((_t, _c, _s, settle) => bounded(settle, (ok) => { ok(); return () => {}; })),
  tcp: each(tcp),
  http: httpProber,
  dns: dnsProber,
};
