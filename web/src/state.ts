// The dashboard's state: signals created once in createAppState(), no module-level mutable state.
// Stream frames are applied inside batch() so one snapshot is one render. Operations go through
// run(), which asks for confirmation when told to, and reports the result or the error both as
// a toast and in the event log.
import { batch, computed, signal } from '@preact/signals';
import type { PenEvent, Snapshot } from '../../shared/snapshot.ts';
import { ApiError, createApi, type Api, type Scope } from './api.ts';
import { emptyHistory, record, type History } from './history.ts';
import { openStream, type LinkStatus, type Stream, type StreamMessage } from './stream.ts';
import { STREAM_PROTOCOL, TOKEN_PROTOCOL_PREFIX } from '../../shared/stream-auth.ts';

export type LogKind = PenEvent['type'] | 'error' | 'link';

export interface LogEntry {
  id: number;
  time: number;
  kind: LogKind;
  message: string;
  server?: number;
}

export interface Toast {
  id: number;
  ok: boolean;
  text: string;
}

export interface ConfirmRequest {
  title: string;
  body: string;
  action: string;
  resolve: (ok: boolean) => void;
}

export interface RunResult {
  ok: boolean;
  error?: ApiError;
  cancelled?: boolean;
}

export type AuthState = 'checking' | 'ok' | 'need-token' | 'unreachable';

const LOG_MAX = 300;
const TOKEN_KEY = 'pen.token';

export interface AppOptions {
  base?: URL;
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  connect?: boolean;
  /** injectable for tests */
  fetch?: typeof fetch;
  WebSocketImpl?: typeof WebSocket;
  /** how long success and error toasts stay, ms */
  toastMs?: { ok: number; error: number };
}

function sessionStore(): AppOptions['storage'] {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function createAppState(opts: AppOptions = {}) {
  const base = opts.base ?? new URL('./', location.href);
  const storage = opts.storage === undefined ? sessionStore() : opts.storage;

  const token = signal<string | null>(storage?.getItem(TOKEN_KEY) ?? null);
  const scope = signal<Scope | null>(null);
  const authRequired = signal(false);
  const auth = signal<AuthState>('checking');
  const authError = signal<string | null>(null);

  const snapshot = signal<Snapshot | null>(null);
  /** when the last snapshot arrived, ms */
  const receivedAt = signal(0);
  const link = signal<LinkStatus>('connecting');
  const linkDetail = signal<string | null>(null);
  const history: History = emptyHistory();
  const historyVersion = signal(0);
  const log = signal<LogEntry[]>([]);
  const toasts = signal<Toast[]>([]);
  const confirmRequest = signal<ConfirmRequest | null>(null);
  const pending = signal<ReadonlySet<string>>(new Set());
  /** bumped on every configuration change seen, so panels that fetch (ACLs) can refetch */
  const configVersion = signal(0);

  const canChange = computed(() => scope.value === 'admin');

  const api: Api = createApi({ base, token: () => token.value, fetch: opts.fetch });
  let nextId = 1;
  let stream: Stream | null = null;

  function addLog(kind: LogKind, message: string, time = Math.floor(Date.now() / 1000), server?: number): void {
    const entry: LogEntry = { id: nextId++, time, kind, message, server };
    log.value = [entry, ...log.value].slice(0, LOG_MAX);
    if (kind === 'config') configVersion.value += 1;
  }

  function toast(ok: boolean, text: string): void {
    const t: Toast = { id: nextId++, ok, text };
    toasts.value = [...toasts.value, t].slice(-4);
    const ms = opts.toastMs ?? { ok: 4000, error: 9000 };
    setTimeout(() => dismiss(t.id), ok ? ms.ok : ms.error);
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }

  function applyMessage(m: StreamMessage): void {
    if (m.type === 'snapshot') {
      batch(() => {
        record(history, m.snapshot);
        snapshot.value = m.snapshot;
        receivedAt.value = Date.now();
        historyVersion.value += 1;
      });
    } else if (m.type === 'event') {
      addLog(m.event.type, m.event.message, m.event.time, m.event.server);
    }
  }

  let lost = false;

  let rawLink: LinkStatus = 'connecting';

  function setLink(s: LinkStatus, detail?: string): void {
    const was = rawLink;
    rawLink = s;
    // a reconnect attempt after a loss is still "disconnected" to the operator, until data flows
    const shown = s === 'connecting' && link.peek() === 'disconnected' ? 'disconnected' : s;
    batch(() => {
      link.value = shown;
      if (shown === s) linkDetail.value = detail ?? null;
    });
    if (s === 'disconnected' && was === 'live') {
      lost = true;
      addLog('link', `lost the live stream${detail ? `: ${detail}` : ''}`);
    }
    if (s === 'live' && lost) {
      lost = false;
      addLog('link', 'live stream back');
    }
    // a link that drops before it ever delivers may be a token the server turned down
    if (s === 'disconnected' && was === 'connecting' && auth.peek() === 'ok') void checkAuth(true);
  }

  function streamUrl(): URL {
    const u = new URL('stream', base);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u;
  }

  function startStream(): void {
    if (stream) stream.restart();
    else stream = openStream({
      url: streamUrl, protocols: () => streamProtocols(token.value), onMessage: applyMessage, onStatus: setLink,
      WebSocketImpl: opts.WebSocketImpl,
    });
  }

  function askForToken(error: string | null): void {
    stream?.close();
    stream = null;
    batch(() => {
      auth.value = 'need-token';
      authRequired.value = true;
      scope.value = null;
      authError.value = error;
    });
  }

  /** Ask the server who we are; start the stream once it lets us in. */
  async function checkAuth(quiet = false): Promise<void> {
    if (!quiet && auth.peek() !== 'unreachable') auth.value = 'checking';
    try {
      const who = await api.whoami();
      // tokens are configured and we sent none: ask for one
      if (who.scope === null) return askForToken(null);
      batch(() => {
        scope.value = who.scope;
        authRequired.value = who.auth;
        auth.value = 'ok';
        authError.value = null;
      });
      if (!quiet || !stream) startStream();
    } catch (err) {
      const e = err as ApiError;
      if (e.status === 401) {
        askForToken(token.value ? 'That token was not accepted.' : null);
      } else if (!quiet) {
        auth.value = 'unreachable';
        authError.value = e.message;
        setTimeout(() => void checkAuth(), 2000);
      }
    }
  }

  function login(t: string): Promise<void> {
    const clean = t.trim();
    token.value = clean === '' ? null : clean;
    if (clean === '') storage?.removeItem(TOKEN_KEY);
    else storage?.setItem(TOKEN_KEY, clean);
    return checkAuth();
  }

  function logout(): Promise<void> {
    storage?.removeItem(TOKEN_KEY);
    token.value = null;
    stream?.close();
    stream = null;
    return checkAuth();
  }

  function confirm(title: string, body: string, action: string): Promise<boolean> {
    return new Promise((resolve) => {
      confirmRequest.value = {
        title, body, action,
        resolve: (ok) => {
          confirmRequest.value = null;
          resolve(ok);
        },
      };
    });
  }

  /**
   * Run one change, described in the imperative ("blacklist server 0 for 30s"): optional
   * confirmation, then the call; the outcome becomes a toast and a log line. `key` marks the
   * control busy while the call is in flight.
   */
  async function run(
    key: string, what: string, fn: () => Promise<unknown>, guard?: { title: string; body: string; action: string },
  ): Promise<RunResult> {
    if (guard && !(await confirm(guard.title, guard.body, guard.action))) return { ok: false, cancelled: true };
    pending.value = new Set([...pending.value, key]);
    try {
      await fn();
      // no log line: the server reports the change to every dashboard as a config event
      toast(true, what);
      configVersion.value += 1;
      return { ok: true };
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, (err as Error).message);
      const text = `Could not ${what}: ${e.message}`;
      toast(false, text);
      addLog('error', text);
      if (e.status === 401) void checkAuth();
      return { ok: false, error: e };
    } finally {
      const next = new Set(pending.value);
      next.delete(key);
      pending.value = next;
    }
  }

  if (opts.connect !== false) void checkAuth();

  return {
    api, token, scope, authRequired, auth, authError, canChange,
    snapshot, receivedAt, link, linkDetail, history, historyVersion,
    log, toasts, confirmRequest, pending, configVersion,
    addLog, toast, dismiss, applyMessage, setLink, login, logout, confirm, run, checkAuth,
    close: () => stream?.close(),
  };
}

export type AppState = ReturnType<typeof createAppState>;

/** The stream's subprotocols: the token rides in one, base64url so any token is a valid name. */
export function streamProtocols(token: string | null): string[] {
  if (!token) return [STREAM_PROTOCOL];
  let bytes = '';
  for (const b of new TextEncoder().encode(token)) bytes += String.fromCharCode(b);
  const encoded = btoa(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return [STREAM_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${encoded}`];
}
