// The dashboard's REST client: the token goes in the Authorization header, and the admin API's
// error body becomes an ApiError carrying its message and field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, createApi } from '../../web/src/api.ts';
import { nth } from '../helpers/nth.ts';

interface Seen { url: string; method: string; headers: Record<string, string>; body?: string }

function fakeFetch(status: number, body: string, contentType = 'application/json') {
  const seen: Seen[] = [];
  const fn = async (input: URL, init?: RequestInit) => {
    seen.push({ url: input.toString(), method: init?.method ?? 'GET', headers: init?.headers as Record<string, string>, body: init?.body as string | undefined });
    return new Response(body, { status, headers: { 'content-type': contentType } });
  };
  return { fn: fn as unknown as typeof fetch, seen };
}

describe('dashboard API client', () => {
  it('sends the bearer token and a JSON body to the path under the base', async () => {
    const f = fakeFetch(200, '{"seconds":30}');
    const api = createApi({ base: new URL('http://127.0.0.1:8080/pen/'), token: () => 'secret-token', fetch: f.fn });
    assert.deepEqual(await api.blacklist(2, 30), { seconds: 30 });
    assert.equal(f.seen[0]?.url, 'http://127.0.0.1:8080/pen/servers/2/blacklist');
    assert.equal(f.seen[0]?.method, 'PUT');
    assert.equal(f.seen[0]?.headers.Authorization, 'Bearer secret-token');
    assert.equal(f.seen[0]?.body, '{"seconds":30}');
  });

  it('sends no Authorization header without a token', async () => {
    const f = fakeFetch(200, '{"scope":"admin","auth":false}');
    const api = createApi({ base: new URL('http://127.0.0.1:8080/'), token: () => null, fetch: f.fn });
    assert.deepEqual(await api.whoami(), { scope: 'admin', auth: false });
    assert.equal(nth(f.seen, 0).headers.Authorization, undefined);
  });

  it('turns an error body into an ApiError with status, message and field', async () => {
    const f = fakeFetch(400, '{"statusCode":400,"error":"Bad Request","message":"body/port Expected integer","field":"port"}');
    const api = createApi({ base: new URL('http://127.0.0.1:8080/'), token: () => null, fetch: f.fn });
    await assert.rejects(api.patchServer(0, { port: 99999 }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 400);
      assert.equal(e.message, 'body/port Expected integer');
      assert.equal(e.field, 'port');
      return true;
    });
  });

  it('posts a penctl line as text and returns the text reply', async () => {
    const f = fakeFetch(200, '0 addr 127.0.0.1 port 80\n', 'text/plain');
    const api = createApi({ base: new URL('http://127.0.0.1:8080/'), token: () => null, fetch: f.fn });
    assert.equal(await api.penctl('servers'), '0 addr 127.0.0.1 port 80\n');
    assert.equal(f.seen[0]?.headers['Content-Type'], 'text/plain');
    assert.equal(f.seen[0]?.body, 'servers');
  });

  it('reports an unreachable server as status 0', async () => {
    const api = createApi({
      base: new URL('http://127.0.0.1:8080/'), token: () => null,
      fetch: (async () => { throw new TypeError('fetch failed'); }) as unknown as typeof fetch,
    });
    await assert.rejects(api.stats(), (e: unknown) => e instanceof ApiError && e.status === 0);
  });
});
