// Shared set-up for the admin API tests: a real Balancer with small loopback backends, the admin
// app built around it (inject-ready), a captured change log, and a penctl-port client.
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { Balancer } from '../../server/core/balancer.ts';
import type { Runtime } from '../../server/control/context.ts';
import { execute } from '../../server/control/registry.ts';
import { buildAdmin, type AdminOptions } from '../../server/admin/app.ts';
import { parseTokens } from '../../server/admin/auth.ts';
import type { GuardOptions } from '../../server/admin/guard.ts';
import { tcpBackend } from '../helpers/backends.ts';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const READ_TOKEN = 'read-token-0123456789abcdef';
export const TOKEN_FILE = `# test tokens\nadmin ${ADMIN_TOKEN}\nread ${READ_TOKEN}\n`;

export interface Fixture {
  pen: Balancer;
  runtime: Runtime & { exits: number; out: string[] };
  app: FastifyInstance;
  /** the admin log, one parsed pino line each */
  logs: Record<string, unknown>[];
  backends: { port: number }[];
  /** run a penctl line straight through the registry (set-up, not the thing under test) */
  cmd(line: string): Promise<string>;
  close(): Promise<void>;
}

export async function adminFixture(opts: {
  backends?: number; tokens?: boolean; authFailures?: AdminOptions['authFailures']; webRoot?: string;
  guard?: GuardOptions; fileRoot?: string;
} = {}): Promise<Fixture> {
  const pen = new Balancer();
  const runtime = { exits: 0, out: [] as string[], argv: ['pen'], exit() { runtime.exits += 1; }, stdout(t: string) { runtime.out.push(t); } };
  const backends = await Promise.all(Array.from({ length: opts.backends ?? 2 }, (_, i) => tcpBackend(`b${i}`)));
  const cmd = async (line: string) => (await execute({ pen, runtime, origin: 'cli' }, line)).reply;
  for (const [i, b] of backends.entries()) await cmd(`server ${i} address 127.0.0.1 port ${b.port}`);
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => { logs.push(JSON.parse(s) as Record<string, unknown>); } });
  const app = await buildAdmin({
    pen, runtime, logger, webRoot: opts.webRoot ?? null,
    tokens: opts.tokens ? parseTokens(TOKEN_FILE) : undefined,
    authFailures: opts.authFailures, guard: opts.guard, fileRoot: opts.fileRoot,
  });
  return {
    pen, runtime, app, logs, backends, cmd,
    async close() {
      await app.close();
      pen.shutdown();
      await Promise.all(backends.map((b) => b.close()));
    },
  };
}

/** Send one line to a penctl port and read the reply until it closes, as penctl does. */
export function penctlPort(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let out = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`no reply to ${line}`)); }, 5000);
    s.setEncoding('latin1');
    s.on('data', (d: string) => { out += d; });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.on('close', () => { clearTimeout(t); resolve(out); });
    s.write(`${line}\n`);
  });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP request over a real socket with exactly the headers given (a browser's Host, Origin,
 * Sec-Fetch-Site …); `host: null` leaves the Host header out.
 */
export function httpRequest(port: number, opts: {
  method?: string; path?: string; headers?: Record<string, string>; host?: string | null; body?: string | Buffer;
  /** the client's address, for tests of the per-address failure limiter */
  localAddress?: string; agent?: http.Agent;
}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.host !== null) headers.host = opts.host ?? `127.0.0.1:${port}`;
    if (opts.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers, setHost: false, agent: opts.agent ?? false, localAddress: opts.localAddress, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Open a WebSocket and report how the upgrade went: 101 and the protocol chosen, or the HTTP status. */
export function wsUpgrade(
  url: string, opts: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<{ status: number; protocol: string; ws: WebSocket | null }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers, handshakeTimeout: 10_000 });
    ws.on('unexpected-response', (_req, res) => { resolve({ status: res.statusCode ?? 0, protocol: '', ws: null }); ws.terminate(); });
    ws.on('open', () => resolve({ status: 101, protocol: ws.protocol, ws }));
    ws.on('error', () => resolve({ status: 0, protocol: '', ws: null }));
  });
}
