// startAdmin(): what `pen --admin [host:]port [--admin-token-file FILE]` runs. Loopback unless
// told otherwise; a non-loopback address needs tokens.
import type { AddressInfo } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { FastifyBaseLogger } from 'fastify';
import type { Balancer } from '../core/balancer.ts';
import { PenError } from '../core/errors.ts';
import type { Runtime } from '../control/registry.ts';
import { buildAdmin } from './app.ts';
import { NO_TOKENS, loadTokenFile } from './auth.ts';

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

export async function startAdmin(
  pen: Balancer,
  runtime: Runtime,
  opts: { address: string; tokenFile?: string | null; streamMax?: number; logger?: FastifyBaseLogger },
): Promise<{ close(): Promise<void>; port: number }> {
  const { host, port } = parseAdminAddress(opts.address);
  const tokens = opts.tokenFile ? loadTokenFile(opts.tokenFile) : NO_TOKENS;
  if (!tokens.enabled && !isLoopback(host)) {
    throw new PenError('PEN_ERR_ARGUMENT', `refusing to serve the admin API on ${host} without --admin-token-file (only loopback addresses may go without tokens)`);
  }
  const app = await buildAdmin({ pen, runtime, tokens, logger: opts.logger, streamMax: opts.streamMax });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw new PenError('PEN_ERR_IO', `can't bind admin address ${opts.address}: ${(err as Error).message}`);
  }
  const bound = (app.server.address() as AddressInfo).port;
  app.log.info({ host, port: bound, auth: tokens.enabled }, 'admin API listening');
  return { port: bound, close: () => app.close() };
}
