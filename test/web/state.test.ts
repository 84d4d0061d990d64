// The dashboard's state: stream frames land in signals, and changes go through run(), which asks
// first when told to and reports the outcome.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Snapshot } from '../../shared/snapshot.ts';
import { STREAM_PROTOCOL, TOKEN_PROTOCOL_PREFIX } from '../../shared/stream-auth.ts';
import { createAppState, streamProtocols } from '../../web/src/state.ts';
import { nth } from '../helpers/nth.ts';

function memoryStorage() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k), m,
  };
}

function fakeFetch(status: number, body: string) {
  const calls: string[] = [];
  const fn = async (input: URL, init?: RequestInit) => {
    calls.push(`${init?.method ?? 'GET'} ${input.pathname}`);
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  };
  return { fn: fn as unknown as typeof fetch, calls };
}

const base = new URL('http://127.0.0.1:8080/');

/** a WebSocket that never connects: these tests are about state, not the link */
class QuietSocket {
  onopen = null; onmessage = null; onclose = null; onerror = null;
  close() {}
}
const WebSocketImpl = QuietSocket as unknown as typeof WebSocket;

describe('dashboard state', () => {
  it('applies a snapshot frame to the snapshot, the history and the version in one go', () => {
    const st = createAppState({ toastMs: { ok: 10, error: 10 }, base, storage: null, connect: false });
    const snapshot = {
      time: 10, totals: { connections: 2, accepted: 5, dropped: 0, sx: 0, rx: 0, sxRate: 1, rxRate: 2 },
      servers: [], emergency: null, abuse: null,
    } as unknown as Snapshot;
    st.applyMessage({ type: 'snapshot', snapshot });
    assert.equal(st.snapshot.value, snapshot);
    assert.equal(st.historyVersion.value, 1);
    assert.deepEqual(st.history.conns, [2]);
  });

  it('logs stream events newest first, and a config event asks fetching panels to refetch', () => {
    const st = createAppState({ toastMs: { ok: 10, error: 10 }, base, storage: null, connect: false });
    st.applyMessage({ type: 'event', event: { type: 'blacklisted', time: 1, server: 0, message: 'server 0 blacklisted' } });
    st.applyMessage({ type: 'event', event: { type: 'config', time: 2, message: 'acl 1 permit 10.0.0.1' } });
    assert.deepEqual(st.log.value.map((e) => e.kind), ['config', 'blacklisted']);
    assert.equal(st.configVersion.value, 1);
  });

  it('a guarded change waits for the confirmation and does nothing when it is declined', async () => {
    const f = fakeFetch(200, '{}');
    const st = createAppState({ toastMs: { ok: 10, error: 10 }, base, storage: null, connect: false, fetch: f.fn });
    const guard = { title: 'Close connection 3?', body: 'b', action: 'Close it' };
    const declined = st.run('conn-3', 'close connection 3', () => st.api.closeConnection(3), guard);
    assert.equal(st.confirmRequest.value?.title, 'Close connection 3?');
    st.confirmRequest.value!.resolve(false);
    assert.deepEqual(await declined, { ok: false, cancelled: true });
    assert.deepEqual(f.calls, []);

    const accepted = st.run('conn-3', 'close connection 3', () => st.api.closeConnection(3), guard);
    st.confirmRequest.value!.resolve(true);
    assert.deepEqual(await accepted, { ok: true });
    assert.deepEqual(f.calls, ['DELETE /connections/3']);
    assert.equal(st.toasts.value.at(-1)?.ok, true);
    assert.equal(st.pending.value.has('conn-3'), false);
  });

  it('a refused change shows the API\'s message as an error toast and in the log', async () => {
    const f = fakeFetch(400, '{"statusCode":400,"error":"Bad Request","message":"write: no file","field":"file"}');
    const st = createAppState({ toastMs: { ok: 10, error: 10 }, base, storage: null, connect: false, fetch: f.fn });
    const r = await st.run('write', 'write the configuration', () => st.api.write());
    assert.equal(r.ok, false);
    assert.equal(r.error?.field, 'file');
    assert.equal(st.toasts.value.at(-1)?.text, 'Could not write the configuration: write: no file');
    assert.equal(st.log.value[0]?.kind, 'error');
  });

  it('keeps the token in the session storage it was given, and forgets it on sign-out', async () => {
    const storage = memoryStorage();
    const f = fakeFetch(200, '{"scope":"read","auth":true}');
    const st = createAppState({
      toastMs: { ok: 10, error: 10 }, base, storage, connect: false, fetch: f.fn, WebSocketImpl,
    });
    await st.login('  read-token-0123456789  ');
    assert.equal(storage.m.get('pen.token'), 'read-token-0123456789');
    assert.equal(st.scope.value, 'read');
    assert.equal(st.canChange.value, false);
    await st.logout();
    assert.equal(storage.m.has('pen.token'), false);
    assert.equal(st.token.value, null);
    st.close();
  });

  it('opens the stream with the token in a subprotocol, never in the URL', async () => {
    const opened: { url: string; protocols: string[] }[] = [];
    class RecordingSocket extends QuietSocket {
      constructor(url: string, protocols?: string[]) {
        super();
        opened.push({ url, protocols: protocols ?? [] });
      }
    }
    const token = 'read-token-0123456789/+=é';
    const f = fakeFetch(200, '{"scope":"read","auth":true}');
    const st = createAppState({
      toastMs: { ok: 10, error: 10 }, base, storage: memoryStorage(), connect: false, fetch: f.fn,
      WebSocketImpl: RecordingSocket as unknown as typeof WebSocket,
    });
    await st.login(token);
    st.close();
    assert.equal(opened.length, 1);
    assert.equal(opened[0]?.url, 'ws://127.0.0.1:8080/stream');
    assert.equal(opened[0]?.protocols[0], STREAM_PROTOCOL);
    const carried = nth(nth(opened, 0).protocols, 1);
    assert.match(carried, /^pen\.token\.[A-Za-z0-9_-]+$/, 'a valid subprotocol name whatever the token holds');
    assert.equal(Buffer.from(carried.slice(TOKEN_PROTOCOL_PREFIX.length), 'base64url').toString('utf8'), token);
    assert.deepEqual(streamProtocols(null), [STREAM_PROTOCOL]);
  });
});
