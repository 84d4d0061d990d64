// The browser guard: the first onRequest hook, ahead of auth and of every route, so it covers
// WebSocket upgrades, the dashboard's files and 404s too. Loopback is not a trust boundary: any
// page in the operator's browser can send requests to 127.0.0.1, and a DNS-rebinding page can
// read the answers. So:
// - Host: only the names this server answers to (a rebinding page sends its own name);
// - Origin: a request that can change something, and every WebSocket upgrade, must come from
//   this server's own origin, an --admin-cors origin, or no browser page at all (curl, penctl);
// - headers that keep the dashboard's pages from being framed, sniffed or leaking a Referer.
import ipaddr from 'ipaddr.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

export interface GuardOptions {
  /**
   * Host names this server answers to, lower case, IPv6 in brackets. A bare name matches on the
   * port the request came in on; `name:port` matches that exact Host (a proxy or tunnel in front).
   */
  hosts: readonly string[];
  /** origins (`http://host:port`) that may call from another page; they get CORS headers */
  cors: readonly string[];
}

/** The names a loopback bind answers to, whatever loopback address it is bound to. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export const SECURITY_HEADERS = {
  'content-security-policy': [
    "default-src 'self'", "script-src 'self'", "script-src-attr 'none'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // WHY: a page elsewhere may not even embed our responses (<img>, <script>) in no-cors mode
  'cross-origin-resource-policy': 'same-origin',
} satisfies Readonly<Record<string, string>>;

/** Swagger UI sets one inline style; its pages may, scripts still may not */
const DOCS_CSP = SECURITY_HEADERS['content-security-policy'].replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Sec-Fetch-Site values a request that changes something may carry */
const OWN_FETCH_SITES = new Set(['same-origin', 'none']);

/** `127.0.0.1`, `::1` → `[::1]`, `Localhost` → `localhost`: the form Host headers are compared in. */
export function hostName(name: string): string {
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (ipaddr.IPv6.isValid(bare) && bare.includes(':')) return `[${ipaddr.IPv6.parse(bare).toString()}]`;
  return name.toLowerCase();
}

/**
 * The allowlist for a bind address: the address itself, the loopback names when it is loopback,
 * and the operator's --admin-host names (`name` or `name:port`).
 */
export function allowedHosts(bind: string, loopback: boolean, extra: readonly string[] = []): string[] {
  const names = [hostName(bind), ...(loopback ? LOOPBACK_NAMES : []), ...extra.map(hostEntry)];
  return [...new Set(names)];
}

/** An --admin-host value in the allowlist's form; throws for anything that is not a host name. */
export function hostEntry(text: string): string {
  const parsed = parseHost(text.trim());
  if (!parsed) throw new Error(`--admin-host: '${text}' is not a host name (name, name:port or [v6]:port)`);
  return parsed.port === null ? parsed.name : `${parsed.name}:${parsed.port}`;
}

/** Split a Host header into its name and port; null for anything malformed. Anchored. */
export function parseHost(header: string): { name: string; port: number | null } | null {
  const [, host, portText] = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))?$/.exec(header) ?? [];
  if (host === undefined) return null;
  const port = portText === undefined ? null : Number(portText);
  if (port !== null && port > 65535) return null;
  const name = hostName(host);
  if (name.startsWith('[') && !ipaddr.IPv6.isValid(name.slice(1, -1))) return null;
  return { name, port };
}

export function createGuard(opts: GuardOptions) {
  const hosts = new Set(opts.hosts.map((h) => h.toLowerCase()));
  const cors = new Set(opts.cors.map((o) => o.toLowerCase()));

  /** Is `Host` one of ours? `port` is the port the request came in on (undefined under inject). */
  const hostAllowed = (header: string | undefined, port: number | undefined): boolean => {
    if (header === undefined) return false;
    const h = parseHost(header);
    if (!h) return false;
    const effective = h.port ?? 80;
    if (hosts.has(`${h.name}:${effective}`)) return true;
    return hosts.has(h.name) && (port === undefined || port === effective);
  };

  /** The request's own origin, given that its Host is ours. */
  const ownOrigin = (origin: string, host: string): boolean => origin === `http://${host}` || origin === `https://${host}`;

  /** Refusals are logged (no query string: it may hold a token), so an operator sees the attempt. */
  const refuse = (req: FastifyRequest, why: string, message: string): never => {
    req.log.warn({ remote: req.ip, method: req.method, url: req.url.split('?')[0], host: req.headers.host, origin: req.headers.origin, why }, 'admin request refused');
    throw new HttpError(403, message);
  };

  return async function guard(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    if (req.url === '/docs' || req.url.startsWith('/docs/')) reply.header('content-security-policy', DOCS_CSP);
    const host = req.headers.host?.toLowerCase();
    if (!hostAllowed(host, req.socket.localPort)) {
      refuse(req, 'host', 'this admin server does not answer to that Host name (see --admin-host)');
    }
    const origin = req.headers.origin?.toLowerCase();
    const corsOrigin = origin !== undefined && cors.has(origin);
    if (cors.size > 0) reply.header('vary', 'Origin');
    if (corsOrigin) {
      reply.header('access-control-allow-origin', req.headers.origin as string);
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        reply.header('access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE');
        reply.header('access-control-allow-headers', 'authorization, content-type');
        reply.header('access-control-max-age', '600');
        return reply.code(204).send();
      }
    }
    const upgrade = req.headers.upgrade?.toLowerCase() === 'websocket';
    if (SAFE_METHODS.has(req.method) && !upgrade) return;
    if (origin !== undefined) {
      if (corsOrigin || ownOrigin(origin, host as string)) return;
      refuse(req, 'origin', `requests from ${origin} may not change anything here (see --admin-cors)`);
    }
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string' && !OWN_FETCH_SITES.has(site.toLowerCase())) {
      refuse(req, 'sec-fetch-site', 'requests from another site may not change anything here');
    }
  };
}
