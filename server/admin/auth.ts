// Bearer tokens with two scopes. `read` may GET and watch the stream; `admin` may also change
// things. Tokens come from --admin-token-file, one per line: `admin <token>` or `read <token>`
// (blank lines and `#` comments are ignored). Without a token file there is no authentication
// and everyone is admin, which server.ts only allows on a loopback address.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PenError } from '../core/errors.ts';
import { TOKEN_PROTOCOL_PREFIX } from '../../shared/stream-auth.ts';
import { FileError, readOperatorFileSync } from '../core/files.ts';
import { HttpError } from './errors.ts';

export type Scope = 'read' | 'admin';
/**
 * what a route needs; `public` routes (docs, the OpenAPI document) need nothing; `optional`
 * routes check a token when one is sent and otherwise run with no scope (GET /whoami, so a
 * first visit learns that it needs a token without an error response)
 */
export type RouteScope = Scope | 'public' | 'optional';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** default: `read` for GET/HEAD, `admin` for everything else */
    scope?: RouteScope;
    /**
     * a WebSocket route: accept the token in a `pen.token.…` subprotocol (browsers cannot set
     * headers on a WebSocket) or, for tools that can do neither, as `?token=`
     */
    queryToken?: boolean;
  }
  interface FastifyRequest {
    /** the caller's scope once authenticated (admin for everyone when auth is off) */
    callerScope: Scope | null;
  }
}

export const MIN_TOKEN_LENGTH = 16;

export interface TokenStore {
  /** false when no tokens are configured: everyone is admin */
  readonly enabled: boolean;
  /** The scope a presented token grants, or null. Compares in constant time against every token. */
  scopeOf(token: string): Scope | null;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Build a store from token lines; throws PenError naming the line for anything malformed. */
export function parseTokens(text: string, source = 'token file'): TokenStore {
  const tokens: { scope: Scope; hash: Buffer }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(admin|read)\s+(\S+)$/.exec(line);
    if (!m) throw new PenError('PEN_ERR_ARGUMENT', `${source}:${i + 1}: expected "admin <token>" or "read <token>"`);
    const [, scope = '', token = ''] = m;
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new PenError('PEN_ERR_ARGUMENT', `${source}:${i + 1}: tokens must be at least ${MIN_TOKEN_LENGTH} characters`);
    }
    tokens.push({ scope: scope as Scope, hash: sha256(token) });
  });
  return {
    enabled: tokens.length > 0,
    scopeOf(token) {
      // WHY: hashing first gives equal lengths for timingSafeEqual, and every token is compared
      // without an early exit, so timing reveals neither which token nor how much of it matched.
      const presented = sha256(token);
      let read = false;
      let admin = false;
      for (const t of tokens) {
        const hit = timingSafeEqual(presented, t.hash);
        if (t.scope === 'admin') admin = admin || hit;
        else read = read || hit;
      }
      return admin ? 'admin' : read ? 'read' : null;
    },
  };
}

/** Read at start-up, through files.ts: a regular file of at most FILE_LIMITS.tokens bytes. */
export function loadTokenFile(path: string): TokenStore {
  let text: string;
  try {
    text = readOperatorFileSync(path, 'tokens').data.toString('utf8');
  } catch (err) {
    throw new PenError('PEN_ERR_IO', `can't read admin token file ${path}: ${err instanceof FileError ? err.reason : (err as Error).message}`);
  }
  const store = parseTokens(text, path);
  if (!store.enabled) throw new PenError('PEN_ERR_ARGUMENT', `admin token file ${path} has no tokens`);
  return store;
}

export const NO_TOKENS: TokenStore = { enabled: false, scopeOf: () => null };

/**
 * Counts failed authentications per address and from all addresses together. After `max`
 * failures within `windowMs` an address gets 429 until its window ends, even with a right
 * token, so guessing stays slow. After `globalMax` failures from all addresses within a window
 * (a guesser rotating its source address, which on 127.0.0.0/8 costs nothing), every address
 * gets 429 until that window ends, except those that presented a valid token within `trustMs`:
 * an operator keeps working (still under its own per-address limit), while an unknown address
 * gets no answer that could tell a right token from a wrong one. Both tables are bounded: the
 * oldest address is forgotten first.
 */
export function createFailureLimiter(opts: {
  max?: number; globalMax?: number; windowMs?: number; trustMs?: number; maxTracked?: number; now?: () => number;
} = {}) {
  const max = opts.max ?? 10;
  const globalMax = opts.globalMax ?? 100;
  const windowMs = opts.windowMs ?? 60_000;
  const trustMs = opts.trustMs ?? 60 * 60_000;
  const maxTracked = opts.maxTracked ?? 10_000;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, { count: number; resetAt: number }>();
  const all = { count: 0, resetAt: 0 };
  /** address → until when a valid token from it exempts it from the global ceiling */
  const trusted = new Map<string, number>();
  const remember = <V>(table: Map<string, V>, ip: string, value: V): void => {
    table.delete(ip);
    if (table.size >= maxTracked) table.delete(table.keys().next().value as string);
    table.set(ip, value);
  };
  const isTrusted = (ip: string, t: number): boolean => (trusted.get(ip) ?? -Infinity) > t;
  return {
    /** seconds until `ip` may try again, or 0 when it may try now */
    retryAfter(ip: string): number {
      const t = now();
      let wait = 0;
      const e = seen.get(ip);
      if (e && t >= e.resetAt) seen.delete(ip);
      else if (e && e.count >= max) wait = Math.ceil((e.resetAt - t) / 1000);
      if (all.count >= globalMax && t < all.resetAt && !isTrusted(ip, t)) {
        wait = Math.max(wait, Math.ceil((all.resetAt - t) / 1000));
      }
      return wait;
    },
    /** count a failure; true when it is the one that reaches the global ceiling */
    fail(ip: string): boolean {
      const t = now();
      const e = seen.get(ip);
      if (!e || t >= e.resetAt) remember(seen, ip, { count: 1, resetAt: t + windowMs });
      else e.count += 1;
      if (t >= all.resetAt) Object.assign(all, { count: 0, resetAt: t + windowMs });
      all.count += 1;
      return all.count === globalMax;
    },
    /** a valid token came from `ip` */
    succeed(ip: string): void {
      remember(trusted, ip, now() + trustMs);
    },
  };
}
export type FailureLimiter = ReturnType<typeof createFailureLimiter>;

function presentedToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : '';
  }
  if (req.routeOptions.config.queryToken) {
    const offered = protocolToken(req.headers['sec-websocket-protocol']);
    if (offered !== undefined) return offered;
    const q = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof q === 'string') return q;
  }
  return undefined;
}

/** The token in a `pen.token.<base64url>` WebSocket subprotocol, if one is offered. */
export function protocolToken(header: string | undefined): string | undefined {
  for (const p of header?.split(',') ?? []) {
    const name = p.trim();
    if (name.startsWith(TOKEN_PROTOCOL_PREFIX)) return Buffer.from(name.slice(TOKEN_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
  }
  return undefined;
}

/** The onRequest hook: who is calling, and may they do this? */
export function authHook(tokens: TokenStore, limiter: FailureLimiter) {
  return async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const need: RouteScope = req.routeOptions.config?.scope ?? (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'admin');
    if (!tokens.enabled) {
      req.callerScope = 'admin';
      return;
    }
    if (need === 'public') return;
    const wait = limiter.retryAfter(req.ip);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new HttpError(429, 'too many failed authentication attempts; try again later');
    }
    const token = presentedToken(req);
    if (token === undefined && need === 'optional') {
      req.callerScope = null;
      return;
    }
    if (token === undefined) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(401, 'a bearer token is required');
    }
    const scope = token === '' ? null : tokens.scopeOf(token);
    if (scope === null) {
      if (limiter.fail(req.ip)) req.log.warn('too many failed authentications from all addresses; refusing addresses without a recent valid token until the window ends');
      req.log.warn({ remote: req.ip, url: req.url.split('?')[0] }, 'admin authentication failed');
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new HttpError(401, 'invalid token');
    }
    limiter.succeed(req.ip);
    req.callerScope = scope;
    if (need === 'optional') return;
    if (need === 'admin' && scope !== 'admin') throw new HttpError(403, 'this needs an admin token');
  };
}

/** For routes whose scope depends on the body (POST /penctl): may this caller run a change? */
export function requireAdmin(req: FastifyRequest): void {
  if (req.callerScope !== 'admin') throw new HttpError(403, 'this needs an admin token');
}
