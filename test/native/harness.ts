// A small JS side for the native engine, as the balancer will have: a slot table with a free
// list, a server choice per new connection, failover to the next server, and the close records.
import { once } from 'node:events';
import net from 'node:net';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import { CLOSE_WHY, REC, loadNative, pick, type NativeEngine, type NativeServer } from '../../server/core/native.ts';
import { nth } from '../helpers/nth.ts';

export interface Closed {
  /** address, port: the client's, as select saw them */
  kind: number; slot: number; address: string; port: number; server: number; listener: number; up: number; down: number;
  why: (typeof CLOSE_WHY)[number]; errno: number; pktsUp: number; pktsDown: number;
}

export interface Harness {
  eng: NativeEngine;
  closed: Closed[];
  failures: { slot: number; server: number; errno: number }[];
  selects: { listener: number; address: string; port: number }[];
  /** slots JS holds (taken in select, given back by a record) */
  inUse: Set<number>;
  /** the next server for a new connection (round robin unless set) */
  choose: (listener: number, address: string) => number;
  /** failover: next server or -1 */
  next: (slot: number, server: number, errno: number) => number;
  waitClosed(n: number, ms?: number): Promise<void>;
  destroy(): void;
}

export function addon() {
  const r = loadNative();
  if ('error' in r) throw new Error(r.error);
  return r.engine;
}

export function harness(servers: NativeServer[], slots = 256, threads = 1, holdLoop?: boolean): Harness {
  const free: number[] = [];
  for (let i = slots - 1; i >= 0; i--) free.push(i);
  const peerOf = new Map<number, { address: string; port: number }>();
  let rr = 0;
  const h: Harness = {
    eng: null as unknown as NativeEngine,
    closed: [], failures: [], selects: [], inUse: new Set(),
    choose: () => rr++ % servers.length,
    next: () => -1,
    async waitClosed(n, ms = 5000) {
      const end = Date.now() + ms;
      while (h.closed.length < n) {
        if (Date.now() > end) throw new Error(`waited ${ms} ms for ${n} close records, have ${h.closed.length}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    destroy() { h.eng.destroy(); },
  };
  h.eng = addon().create({
    slots,
    ...(threads === 1 ? {} : { threads }),
    ...(holdLoop === undefined ? {} : { holdLoop }),
    select(listener, address, port) {
      h.selects.push({ listener, address, port });
      const server = h.choose(listener, address);
      if (server < 0) return -1;
      const slot = free.pop();
      if (slot === undefined) return -1;
      h.inUse.add(slot);
      peerOf.set(slot, { address, port });
      return pick(slot, server);
    },
    failed(slot, server, errno) {
      h.failures.push({ slot, server, errno });
      return h.next(slot, server, errno);
    },
    onRecords(n) {
      const r = h.eng.records;
      for (let i = 0; i < n; i++) {
        const o = i * REC.WORDS;
        const w = (k: number): number => nth(r, o + k);
        const slot = w(REC.SLOT);
        h.closed.push({
          kind: w(REC.KIND), slot, address: peerOf.get(slot)?.address ?? '', port: peerOf.get(slot)?.port ?? -1, server: w(REC.SERVER), listener: w(REC.LISTENER),
          up: w(REC.BYTES_UP), down: w(REC.BYTES_DOWN), why: nth(CLOSE_WHY, w(REC.WHY)), errno: w(REC.ERRNO),
          pktsUp: w(REC.PKTS_UP), pktsDown: w(REC.PKTS_DOWN),
        });
        if (!h.inUse.delete(slot)) throw new Error(`record for slot ${slot} that JS does not hold`);
        free.push(slot);
      }
    },
  });
  h.eng.setServers(servers);
  return h;
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** An echo server (allowHalfOpen: it ends when the peer ends) on loopback. */
export async function echoServer(host = '127.0.0.1', opts: { path?: string } = {}) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  if (opts.path) server.listen(opts.path); else server.listen(0, host);
  await once(server, 'listening');
  const port = opts.path ? 0 : (server.address() as net.AddressInfo).port;
  return {
    port, sockets, server,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Connect, send `data`, half-close, and collect everything until EOF. */
export function roundTrip(port: number, data: Buffer | string, host = '127.0.0.1', ms = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => { s.destroy(); reject(new Error('roundTrip timed out')); }, ms);
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => { clearTimeout(t); s.end(); resolve(Buffer.concat(chunks)); });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.end(data);
  });
}

export async function udpEcho(host = '127.0.0.1') {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const peers = new Set<string>();
  sock.on('message', (m, r) => { peers.add(`${r.address}:${r.port}`); sock.send(m, r.port, r.address); });
  sock.bind(0, host);
  await once(sock, 'listening');
  return { port: sock.address().port, peers, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
