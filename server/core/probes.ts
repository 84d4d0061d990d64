// One prober per health-check kind, as a table keyed by kind. Each check resolves when the
// server passes and rejects with a one-line reason when it fails; each is bounded by its timeout
// and closes what it opened either way (the http check keeps its connection between checks,
// http-check.ts). Backend sockets bind to `source` when it is set, as the data path's do. They
// run on raw libuv handles, as the data path does, to stay cheap.
import type { HealthKind } from '../../shared/health.ts';
import { httpProber } from './http-check.ts';
import { bounded, connectRaw, localAddress, type Probe, type Prober } from './probe-io.ts';
import { SendWrap, UDP, connectUdp, uvMessage } from './uv.ts';

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

const dns: Probe = (t, check, source, settle) => bounded(settle, (ok, fail) => {
  if (t.family === 'unix') {
    fail('dns: needs an IP server');
    return () => {};
  }
  const v6 = t.family === 6;
  const id = (queryId = (queryId + 1) & 0xffff);
  const handle = new UDP();
  const local = localAddress(t, source);
  let { err, syscall }: { err: number; syscall: string } = connectUdp(handle, v6, local, t.address, t.port);
  if (err === 0) {
    // any reply to our query counts: the server is there and answering; on a connected socket
    // an ICMP port unreachable arrives here as ECONNREFUSED, so a stopped server fails at once
    handle.onmessage = (nread, _h, buf) => {
      if (nread < 0) fail(`dns: ${uvMessage('recvmsg', nread)}`);
      else if (nread >= 12 && buf.readUInt16BE(0) === id && ((buf[2] ?? 0) & 0x80) !== 0) ok();
    };
    handle.onerror = () => {};
    syscall = 'recvStart';
    err = handle.recvStart();
  }
  if (err === 0) {
    syscall = 'send';
    const list = [dnsQuery(check.name ?? '.', id)];
    const req = new SendWrap();
    req.list = list; // kept alive while the datagram may wait in libuv's queue
    const sent = handle.send(req, list, 1, false);
    if (sent < 0) err = sent;
  }
  if (err !== 0) fail(`dns: ${uvMessage(syscall, err, syscall === 'bind' ? local : `${t.address}:${t.port}`)}`);
  return () => {
    handle.recvStop();
    handle.close();
  };
});

/** A prober that keeps nothing between checks. */
const each = (run: Probe) => (): Prober => ({ run, close() {} });

/** A new prober for one server's checks of each kind. */
export const PROBERS: Record<HealthKind, () => Prober> = {
  off: each((_t, _c, _s, settle) => bounded(settle, (ok) => { ok(); return () => {}; })),
  tcp: each(tcp),
  http: httpProber,
  dns: each(dns),
};
