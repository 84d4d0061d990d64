// The live link: one WebSocket to /stream, reopened with backoff whenever it drops or goes quiet.
// The server sends a snapshot every second, so two missed seconds plus slack means the link is
// dead even if the socket has not noticed yet.
import type { StreamMessage } from '../../shared/api.ts';

export type { StreamMessage };

export type LinkStatus = 'connecting' | 'live' | 'disconnected';

export interface StreamOptions {
  url: () => URL;
  /** WebSocket subprotocols to offer (the token travels in one: never in the URL) */
  protocols?: () => string[];
  onMessage: (m: StreamMessage) => void;
  onStatus: (s: LinkStatus, detail?: string) => void;
  /** ms of silence after which the link counts as dead */
  staleMs?: number;
  /** injectable for tests */
  WebSocketImpl?: typeof WebSocket;
}

export interface Stream {
  close(): void;
  /** drop the current socket and connect again now (e.g. after a token change) */
  restart(): void;
}

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

export function openStream(opts: StreamOptions): Stream {
  const Impl = opts.WebSocketImpl ?? WebSocket;
  const staleMs = opts.staleMs ?? 3500;
  let ws: WebSocket | null = null;
  let attempt = 0;
  let closed = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let staleTimer: ReturnType<typeof setTimeout> | undefined;

  const armStale = () => {
    clearTimeout(staleTimer);
    staleTimer = setTimeout(() => {
      opts.onStatus('disconnected', 'no data from the server');
      drop();
      schedule();
    }, staleMs);
  };

  const drop = () => {
    clearTimeout(staleTimer);
    if (!ws) return;
    const old = ws;
    ws = null;
    old.onopen = old.onmessage = old.onclose = old.onerror = null;
    try {
      old.close();
    } catch {
      /* already closing */
    }
  };

  const schedule = () => {
    if (closed) return;
    clearTimeout(retryTimer);
    const delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    attempt += 1;
    retryTimer = setTimeout(connect, delay);
  };

  function connect() {
    if (closed) return;
    drop();
    opts.onStatus('connecting');
    let socket: WebSocket;
    try {
      socket = new Impl(opts.url().toString(), opts.protocols?.());
    } catch (err) {
      opts.onStatus('disconnected', (err as Error).message);
      schedule();
      return;
    }
    ws = socket;
    armStale();
    socket.onopen = () => armStale();
    socket.onmessage = (ev: MessageEvent) => {
      let msg: StreamMessage;
      try {
        msg = JSON.parse(String(ev.data)) as StreamMessage;
      } catch {
        return;
      }
      attempt = 0;
      opts.onStatus('live');
      armStale();
      opts.onMessage(msg);
    };
    socket.onclose = (ev: CloseEvent) => {
      if (ws !== socket) return;
      ws = null;
      clearTimeout(staleTimer);
      opts.onStatus('disconnected', ev.reason || undefined);
      schedule();
    };
    socket.onerror = () => {
      /* onclose follows and reconnects */
    };
  }

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      drop();
    },
    restart() {
      attempt = 0;
      clearTimeout(retryTimer);
      connect();
    },
  };
}
