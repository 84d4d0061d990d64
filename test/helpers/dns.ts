// A tiny DNS responder on a loopback UDP port. Every A query is answered with the responder's
// own `answer` address, so a client (dig) can tell which backend served it; other query types
// get an empty NOERROR answer. It records where each query came from.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { reservedPort } from './backends.ts';

export interface DnsBackend {
  port: number;
  /** the A record this backend answers with, e.g. 10.0.0.1 */
  answer: string;
  /** source address:port of every query received */
  queries: { address: string; port: number }[];
  close(): Promise<void>;
}

/** Build the reply to one DNS query, or null when it is not a query we can parse. */
export function dnsReply(query: Buffer, answer: string): Buffer | null {
  if (query.length < 12 || (query.readUInt8(2) & 0x80) !== 0) return null; // too short, or a response
  if (query.readUInt16BE(4) !== 1) return null;                   // exactly one question
  let i = 12;
  while (i < query.length && query[i] !== 0) {
    if ((query.readUInt8(i) & 0xc0) !== 0) return null;           // no compression in a question
    i += query.readUInt8(i) + 1;
  }
  if (i + 5 > query.length) return null;
  const question = query.subarray(12, i + 5);
  const qtype = query.readUInt16BE(i + 1);
  const isA = qtype === 1;
  const head = Buffer.alloc(12);
  head.writeUInt16BE(query.readUInt16BE(0), 0);         // id
  head.writeUInt16BE(0x8180 | (query.readUInt8(2) & 0x01) << 8, 2); // QR, RD copied, RA
  head.writeUInt16BE(1, 4);                              // qdcount
  head.writeUInt16BE(isA ? 1 : 0, 6);                    // ancount
  if (!isA) return Buffer.concat([head, question]);
  const rr = Buffer.alloc(16);
  rr.writeUInt16BE(0xc00c, 0);                           // name: pointer to the question
  rr.writeUInt16BE(1, 2);                                // type A
  rr.writeUInt16BE(1, 4);                                // class IN
  rr.writeUInt32BE(0, 6);                                // ttl
  rr.writeUInt16BE(4, 10);                               // rdlength
  answer.split('.').forEach((b, k) => { rr[12 + k] = Number(b); });
  return Buffer.concat([head, question, rr]);
}

/** Start a responder on `host` (an ephemeral port unless `port` is given). */
export async function dnsBackend(answer: string, host = '127.0.0.1', port = 0): Promise<DnsBackend> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const queries: { address: string; port: number }[] = [];
  socket.on('message', (msg, rinfo) => {
    queries.push({ address: rinfo.address, port: rinfo.port });
    const reply = dnsReply(msg, answer);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  socket.bind(port, host);
  await once(socket, 'listening');
  return {
    port: (socket.address() as AddressInfo).port,
    answer,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A free UDP port on `host` for pen's -U listener, picked and reserved as freePort does. */
export function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  return reservedPort((port) => new Promise<boolean>((resolve) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => { s.close(); resolve(false); });
    s.bind(port, host, () => s.close(() => resolve(true)));
  }));
}

let nextId = 1;

/** A DNS query for `name` type A, as dig would send it (without EDNS). */
export function dnsQuery(name = 'example.com'): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(nextId++ & 0xffff, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

/** The A address in a reply from dnsReply, or null when there is none. */
export function answerOf(reply: Buffer): string | null {
  if (reply.length < 16 || reply.readUInt16BE(6) === 0) return null;
  return Array.from(reply.subarray(reply.length - 4)).join('.');
}

/** A client socket that can ask several times from the same source port. */
export interface DnsClient {
  port: number;
  /** send a query to host:port; resolves with the answer and where the reply came from, or null on timeout */
  ask(
    port: number, host?: string, timeoutMs?: number,
  ): Promise<{ answer: string | null; from: { address: string; port: number } } | null>;
  close(): void;
}

export async function dnsClient(localAddress = '127.0.0.1'): Promise<DnsClient> {
  const s = dgram.createSocket(localAddress.includes(':') ? 'udp6' : 'udp4');
  s.bind(0, localAddress);
  await once(s, 'listening');
  return {
    port: (s.address() as AddressInfo).port,
    ask(port, host = localAddress, timeoutMs = 2000) {
      return new Promise((resolve) => {
        const q = dnsQuery();
        const id = q.readUInt16BE(0);
        const onMsg = (msg: Buffer, rinfo: dgram.RemoteInfo) => {
          if (msg.length < 2 || msg.readUInt16BE(0) !== id) return;
          clearTimeout(t);
          s.removeListener('message', onMsg);
          resolve({ answer: answerOf(msg), from: { address: rinfo.address, port: rinfo.port } });
        };
        const t = setTimeout(() => { s.removeListener('message', onMsg); resolve(null); }, timeoutMs);
        s.on('message', onMsg);
        s.send(q, port, host);
      });
    },
    close: () => s.close(),
  };
}

/** Whether something is bound to this UDP port (read from /proc, so probing binds nothing). */
export function udpPortBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      const lines = readFileSync(f, 'utf8').split('\n').slice(1);
      if (lines.some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex.trim()))) return true;
    } catch {
      // no such table (IPv6 disabled)
    }
  }
  return false;
}
