// One small prober per health-check kind, as a table keyed by kind. Each resolves when the server
// passes and rejects with a one-line reason when it fails; each is bounded by its timeout and
// closes what it opened either way. Backend sockets bind to `source` when it is set, as the data
// path's do.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { statusMatches, type HealthCheck, type HealthKind } from '../../shared/health.ts';
import type { Family } from './address.ts';

export interface ProbeTarget {
  family: Exclude<Family, 0>;
  address: string;
  port: number;
}

export type Probe = (t: ProbeTarget, check: HealthCheck, source: string | null, timeoutMs: number) => Promise<void>;

/** Run `body` with a deadline: `cleanup` always runs once, and a timeout rejects with a clear reason. */
function bounded(timeoutMs: number, body: (ok: () => void, fail: (why: string) => void) => () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    let cleanup: () => void = () => {};
    const finish = (why: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cleanup();
      if (why === null) resolve();
      else reject(new Error(why));
    };
    const timer = setTimeout(() => finish(`timed out after ${timeoutMs / 1000} s`), timeoutMs);
    cleanup = body(() => finish(null), (why) => finish(why));
  });
}

/** A source address only applies to servers of its own family. */
function localAddress(t: ProbeTarget, source: string | null): string | undefined {
  if (source === null || t.family === 'unix') return undefined;
  return source.includes(':') === (t.family === 6) ? source : undefined;
}

const tcp: Probe = (t, _check, source, timeoutMs) => bounded(timeoutMs, (ok, fail) => {
  const socket = t.family === 'unix'
    ? net.connect({ path: t.address })
    : net.connect({ host: t.address, port: t.port, localAddress: localAddress(t, source) });
  socket.once('connect', ok);
  socket.once('error', (err) => fail(`connect: ${err.message}`));
  return () => socket.destroy();
});

const httpProbe: Probe = (t, check, source, timeoutMs) => bounded(timeoutMs, (ok, fail) => {
  const where = t.family === 'unix' ? { socketPath: t.address } : { host: t.address, port: t.port, localAddress: localAddress(t, source) };
  const host = t.family === 6 ? `[${t.address}]` : t.family === 'unix' ? 'localhost' : t.address;
  const req = http.request({
    ...where, method: 'GET', path: check.path ?? '/', agent: false,
    headers: { Host: t.family === 'unix' ? host : `${host}:${t.port}`, 'User-Agent': 'pen-health-check', Connection: 'close' },
  }, (res) => {
    const code = res.statusCode ?? 0;
    res.resume();
    if (statusMatches(check.status ?? '200', code)) ok();
    else fail(`http ${check.path}: status ${code}, expected ${check.status ?? '200'}`);
  });
  req.once('error', (err) => fail(`http ${check.path}: ${err.message}`));
  req.end();
  return () => req.destroy();
});

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

const dns: Probe = (t, check, source, timeoutMs) => bounded(timeoutMs, (ok, fail) => {
  if (t.family === 'unix') {
    fail('dns: needs an IP server');
    return () => {};
  }
  const id = (queryId = (queryId + 1) & 0xffff);
  const socket = dgram.createSocket(t.family === 6 ? 'udp6' : 'udp4');
  socket.on('error', (err) => fail(`dns: ${err.message}`));
  socket.on('message', (msg) => {
    // any reply to our query counts: the server is there and answering
    if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2] & 0x80) !== 0) ok();
  });
  const send = () => socket.connect(t.port, t.address, () => socket.send(dnsQuery(check.name ?? '.', id)));
  const local = localAddress(t, source);
  if (local !== undefined) socket.bind(0, local, send);
  else send();
  return () => { try { socket.close(); } catch { /* already closed */ } };
});

export const PROBES: Record<Exclude<HealthKind, 'off'>, Probe> & Record<HealthKind, Probe> = {
  off: async () => {},
  tcp,
  http: httpProbe,
  dns,
};
