// Shared set-up for the admin API tests: a real Balancer with small loopback backends, the admin
// app built around it (inject-ready), a captured change log, and a penctl-port client.
import net from 'node:net';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { Balancer } from '../../server/core/balancer.ts';
import { execute, type Runtime } from '../../server/control/registry.ts';
import { buildAdmin, type AdminOptions } from '../../server/admin/app.ts';
import { parseTokens } from '../../server/admin/auth.ts';
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

export async function adminFixture(opts: { backends?: number; tokens?: boolean; authFailures?: AdminOptions['authFailures']; webRoot?: string } = {}): Promise<Fixture> {
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
    authFailures: opts.authFailures,
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
