// Tiny backends the tests start on loopback ephemeral ports, and clients that talk through pen.
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';

export interface HttpBackend {
  port: number;
  name: string;
  /** the raw request heads this backend received */
  requests: string[];
  close(): Promise<void>;
}

/** An HTTP server whose every response body is its name; it records the request heads. */
export async function httpBackend(name: string, host = '127.0.0.1'): Promise<HttpBackend> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}\n${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}`);
    res.setHeader('Content-Type', 'text/plain');
    res.end(name);
  });
  server.keepAliveTimeout = 1000;
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port, name, requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A TCP server that answers each connection with `name\n`, echoes what it gets, and holds it open. */
export async function tcpBackend(name: string, host = '127.0.0.1'): Promise<{ port: number; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write(`${name}\n`);
    s.pipe(s);
  });
  server.listen(0, host);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/**
 * A port that nothing listens on: a reserved one (see freePort), so neither a parallel test's
 * listener nor an outgoing connection's ephemeral port can take it while the test relies on it.
 */
export function deadPort(): Promise<number> {
  return freePort();
}

/**
 * A free TCP port on `host` for a listener that another process opens. Picked at random below
 * the kernel's ephemeral range, so outgoing connections of parallel tests cannot take it meanwhile,
 * and reserved until this test process exits (a file per port in RESERVED, created exclusively), so
 * neither this process nor a test file running beside it is handed the same port before its
 * listener binds it. Pass '::' for a dual-stack wildcard listener: that probe also fails when the
 * port is taken on 127.0.0.1 or ::1.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return reservedPort((port) => new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  }));
}

/** A port below the ephemeral range that `probe` can bind, reserved as freePort explains. */
export async function reservedPort(probe: (port: number) => Promise<boolean>): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 10000 + Math.floor(Math.random() * 22000);
    if (reserve(port) && await probe(port)) return port;
  }
  throw new Error('no free port found');
}

const RESERVED = `${os.tmpdir()}/pen-test-ports`;
const STALE_MS = 3600_000; // a reservation left by a test process that was killed
const mine: string[] = [];
mkdirSync(RESERVED, { recursive: true });
process.on('exit', () => { for (const f of mine) rmSync(f, { force: true }); });

function reserve(port: number): boolean {
  const file = `${RESERVED}/${port}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(file, 'wx'));
      mine.push(file);
      return true;
    } catch {
      const age = Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < STALE_MS) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

/** GET / through pen; resolves with the body, or '' when the connection was closed or reset. */
export function get(
  port: number, opts: { host?: string; localAddress?: string; path?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({
      host: opts.host ?? '127.0.0.1', port, path: opts.path ?? '/', localAddress: opts.localAddress, agent: false,
      timeout: opts.timeoutMs ?? 5000,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(body));
    });
    req.on('error', () => resolve(''));
    req.on('timeout', () => { req.destroy(); resolve(''); });
  });
}

/** Open a TCP connection through pen and read the backend's greeting line (held open). */
export async function hold(port: number, localAddress?: string): Promise<{ socket: net.Socket; greeting: string }> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  const greeting = await new Promise<string>((resolve) => {
    let buf = '';
    const t = setTimeout(() => resolve(buf), 5000);
    socket.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) { clearTimeout(t); resolve(buf.trim()); }
    });
    socket.on('close', () => { clearTimeout(t); resolve(buf.trim()); });
  });
  return { socket, greeting };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
