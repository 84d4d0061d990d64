// startAdmin(): what `pen --admin [host:]port [--admin-token-file FILE] [--admin-host NAME]…
// [--admin-cors ORIGIN]… [--admin-file-root DIR]` runs. Loopback unless told otherwise; a
// non-loopback address needs tokens.
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { Balancer } from '../core/balancer.ts';
import { ipaddr } from '../core/acl.ts';
import { PenError } from '../core/errors.ts';
import type { Runtime } from '../control/context.ts';
import { buildAdmin } from './app.ts';
import { NO_TOKENS, loadTokenFile } from './auth.ts';
import { allowedHosts } from './guard.ts';

export interface AdminAddress {
  host: string;
  port: number;
}

/** `port`, `host:port`, `[v6]:port` or `v6:port` (split at the last colon, as pen does). */
export function parseAdminAddress(text: string): AdminAddress {
  const m = /^(?:(.*):)?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new PenError('PEN_ERR_ADDRESS', `--admin: expected [host:]port, got '${text}'`);
  let host = m[1] ?? '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? '127.0.0.1' : host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (!ipaddr.isValid(host)) return false;
  return ipaddr.process(host).range() === 'loopback';
}

/** An --admin-cors value: a bare origin, `http(s)://host[:port]` with no path. */
export function corsOrigin(text: string): string {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    /* refused below */
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text.replace(/\/$/, '').toLowerCase()) {
    throw new PenError('PEN_ERR_ARGUMENT', `--admin-cors: expected an origin such as http://localhost:5173, got '${text}'`);
  }
  return url.origin;
}

export interface StartAdminOptions {
  address: string;
  tokenFile?: string | null;
  logger?: FastifyBaseLogger;
  /** --admin-host: more names the server answers to */
  hosts?: readonly string[];
  /** --admin-cors: origins that may call from another page */
  cors?: readonly string[];
  /** --admin-file-root: where REST may name files (default: the -F file's directory) */
  fileRoot?: string | null;
  /** --admin-stream-max: WebSocket subscribers at once */
  streamMax?: number;
}

export function isUnspecified(host: string): boolean {
  return ipaddr.isValid(host) && ipaddr.process(host).range() === 'unspecified';
}

export async function startAdmin(
  pen: Balancer, runtime: Runtime, opts: StartAdminOptions,
): Promise<{ close(): Promise<void>; port: number }> {
  const { host, port } = parseAdminAddress(opts.address);
  const tokens = opts.tokenFile ? loadTokenFile(opts.tokenFile) : NO_TOKENS;
  if (!tokens.enabled && !isLoopback(host)) {
    throw new PenError('PEN_ERR_ARGUMENT', `refusing to serve the admin API on ${host} without --admin-token-file (only loopback addresses may go without tokens)`);
  }
  let hosts: string[];
  try {
    // 0.0.0.0 and :: listen on loopback too, so the loopback names reach them
    hosts = allowedHosts(host, isLoopback(host) || isUnspecified(host), opts.hosts ?? []);
  } catch (err) {
    throw new PenError('PEN_ERR_ARGUMENT', (err as Error).message);
  }
  const cors = (opts.cors ?? []).map(corsOrigin);
  const app = await buildAdmin({
    pen, runtime, tokens, logger: opts.logger, guard: { hosts, cors }, fileRoot: opts.fileRoot ?? null,
    streamMax: opts.streamMax,
  });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw new PenError('PEN_ERR_IO', `can't bind admin address ${opts.address}: ${(err as Error).message}`);
  }
  const bound = (app.server.address() as AddressInfo).port;
  app.log.info({ host, port: bound, auth: tokens.enabled, hosts, cors }, 'admin API listening');
  return { port: bound, close: () => app.close() };
}
