// The REST client: one typed function per admin operation, all through request(), which adds the
// bearer token and turns the admin API's error body ({statusCode, error, message, field?}) into
// an ApiError the UI can show as it is.
import type { AclAdd, AclList, Mode, ModePatch, ServerPatch, WhoAmI } from '../../shared/api.ts';
import type { SettingsSnapshot, Snapshot } from '../../shared/snapshot.ts';
import type { HealthBody } from '../../shared/health.ts';

export type { AclAdd, AclList, Mode, ModePatch, ServerPatch, WhoAmI };
export type Scope = WhoAmI['scope'];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiOptions {
  /** where the admin API lives; the page's own directory by default */
  base: URL;
  token: () => string | null;
  /** injectable for tests */
  fetch?: typeof fetch;
}

export type Api = ReturnType<typeof createApi>;

export function createApi(opts: ApiOptions) {
  const doFetch = opts.fetch ?? ((input: URL, init?: RequestInit) => fetch(input, init));
  async function request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json, text/plain' };
    const token = opts.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await doFetch(new URL(path, opts.base), { method, headers, body: payload, cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'the admin server cannot be reached');
    }
    const text = await res.text();
    const isJson = (res.headers.get('content-type') ?? '').includes('json');
    let data: unknown = text;
    if (isJson && text !== '') {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!res.ok) {
      const err = (typeof data === 'object' && data !== null ? data : {}) as { message?: string; field?: string };
      const message = err.message ?? (typeof data === 'string' && data.trim() !== '' ? data.trim() : `${res.status} ${res.statusText}`);
      throw new ApiError(res.status, message, err.field);
    }
    return (text === '' ? undefined : data) as T;
  }

  const seg = (n: number) => encodeURIComponent(String(n));

  return {
    request,
    whoami: () => request<WhoAmI>('GET', 'whoami'),
    stats: () => request<Snapshot>('GET', 'stats'),
    blacklist: (n: number, seconds: number) => request<unknown>('PUT', `servers/${seg(n)}/blacklist`, { seconds }),
    whitelist: (n: number) => request<unknown>('DELETE', `servers/${seg(n)}/blacklist`),
    patchServer: (n: number, patch: ServerPatch) => request<unknown>('PATCH', `servers/${seg(n)}`, patch),
    mode: () => request<Mode>('GET', 'mode'),
    patchMode: (patch: ModePatch) => request<Mode>('PATCH', 'mode', patch),
    settings: () => request<SettingsSnapshot>('GET', 'settings'),
    patchSettings: (patch: Partial<SettingsSnapshot>) => request<unknown>('PATCH', 'settings', patch),
    closeConnection: (n: number) => request<unknown>('DELETE', `connections/${seg(n)}`),
    acls: () => request<AclList[]>('GET', 'acls'),
    addAcl: (n: number, entry: AclAdd) => request<unknown>('POST', `acls/${seg(n)}`, entry),
    clearAcl: (n: number) => request<unknown>('DELETE', `acls/${seg(n)}`),
    setHealth: (n: number | null, check: HealthBody) =>
      request<unknown>('PUT', n === null ? 'health' : `servers/${seg(n)}/health`, check),
    defaultHealth: (n: number) => request<unknown>('DELETE', `servers/${seg(n)}/health`),
    drain: (n: number, on: boolean) => request<unknown>(on ? 'PUT' : 'DELETE', `servers/${seg(n)}/drain`),
    write: (file?: string) => request<unknown>('POST', 'write', file ? { file } : {}),
    penctl: (line: string) => request<string>('POST', 'penctl', line, 'text/plain'),
  };
}
