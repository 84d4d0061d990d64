// The load bench/syscalls.ts measures under: a fixed number of requests, `conc` at a time. HTTP
// through a raw client, so the client's own cost is small and the same for every proxy; DNS
// queries through dnsperf, as `npm run bench` sends them.
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { parseDnsperf } from './load.ts';
import { HOST, run } from './procs.ts';

/** What each case sends, and over which transport the proxy must listen for it. */
export const CASES = {
  keepalive: 'tcp', // one connection carries many requests
  close: 'tcp',     // a new connection per request
  udp: 'udp',       // one DNS query per request
} as const;
export type Case = keyof typeof CASES;
export type Transport = (typeof CASES)[Case];

const REQ = (close: boolean) => `GET / HTTP/1.1\r\nHost: ${HOST}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;

/** One response read off s; resolves when its body (Content-Length) is complete. */
function response(s: net.Socket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => done(new Error('response timed out')), ms);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/content-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString())?.[1] ?? 0);
      if (buf.length >= end + 4 + len) done(null);
    };
    const onClose = () => done(new Error('closed before the response ended'));
    function done(err: Error | null) {
      clearTimeout(t);
      s.off('data', onData);
      s.off('close', onClose);
      if (err) reject(err); else resolve();
    }
    s.on('data', onData);
    s.on('close', onClose);
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST, () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

/** n requests over `conc` workers: keep-alive reuses one connection each, close opens one per request (as wrk). */
async function http(port: number, close: boolean, n: number, conc: number): Promise<void> {
  let left = n;
  const worker = async () => {
    let s: net.Socket | null = null;
    while (left > 0) {
      left -= 1;
      if (s === null) s = await connect(port);
      s.write(REQ(close));
      await response(s, 30_000);
      if (close) { s.destroy(); s = null; }
    }
    s?.destroy();
  };
  await Promise.all(Array.from({ length: conc }, worker));
}

/**
 * n queries for example.com, `conc` outstanding (from up to 4 clients, the bench's). A datagram
 * may be dropped (a socket buffer full under a tracer): up to 1 % of them unanswered is accepted.
 */
async function dns(port: number, n: number, conc: number, dir: string): Promise<void> {
  const file = `${dir}/query.txt`;
  writeFileSync(file, 'example.com A\n'); // one line, not load.ts's writeQueryFile: -n counts passes through the file
  const args = ['-s', HOST, '-p', String(port), '-d', file, '-n', String(n), '-c', String(Math.min(4, conc)),
    '-q', String(conc), '-T', '1', '-t', '5'];
  const r = await run('dnsperf', args, null, 300_000);
  const done = r.code === 0 ? parseDnsperf(r.stdout).completed : NaN;
  if (!(done >= n * 0.99)) throw new Error(`dnsperf: ${done} of ${n} queries answered (exit ${r.code}): ${r.stderr.trim()}`);
}

/** n requests of case c to the proxy on `port`, `conc` at a time; `dir` is a scratch directory. */
export function load(port: number, c: Case, n: number, conc: number, dir: string): Promise<void> {
  if (n <= 0) return Promise.resolve();
  return c === 'udp' ? dns(port, n, conc, dir) : http(port, c === 'close', n, conc);
}
