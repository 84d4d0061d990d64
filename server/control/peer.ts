// The standby side of a pair (docs/high-availability.md): follow the pen named by --peer. Its
// GET /peer stream brings its configuration (as `write`'s command lines, run here through the
// registry like a -F file) and its client table (stored in ours), so that after a failover this
// pen knows the servers, settings and which client went where. A pen that keepalived says is
// master applies nothing: it is the source. The link comes back by itself when the peer returns.
import http from 'node:http';
import https from 'node:https';
import { PEER_PATH, PEER_SILENCE_MS, type PeerMessage } from '../../shared/peer.ts';
import { debug } from '../core/diag.ts';
import { publish } from '../core/events.ts';
import { configLines } from './config.ts';
import type { CommandContext } from './context.ts';
import { execute, tokenize } from './registry.ts';

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 5000;
/** a line longer than this is not from a pen (a config of 10 000 servers is ~1 MiB) */
const MAX_LINE = 8 << 20;
/** lines a peer may not run here: they touch files or processes, not configuration */
const NOT_FROM_PEER = new Set(['include', 'write', 'exit', 'close', 'status', 'listen']);

export interface PeerLink {
  close(): void;
}

/** Read the token from --peer-token-file's first line ("TOKEN", or "read TOKEN" / "admin TOKEN"). */
export function peerToken(text: string): string {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#')) ?? '';
  return line.split(/\s+/).pop() ?? '';
}

function isMessage(m: unknown): m is PeerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const msg = m as Record<string, unknown>;
  if (msg.type === 'config') return Array.isArray(msg.lines) && msg.lines.every((l) => typeof l === 'string');
  if (msg.type === 'clients') {
    return Array.isArray(msg.entries) && msg.entries.every((e) => Array.isArray(e) && e.length === 3
      && typeof e[0] === 'string' && Number.isInteger(e[1]) && Number.isFinite(e[2]));
  }
  return msg.type === 'status' && Number.isInteger(msg.behind);
}

/** `acl N …` and `no acl N`: the lines of access list N, which only make sense together and in order */
function aclOf(line: string): string | null {
  return /^(?:no )?acl (\d+)/.exec(line)?.[1] ?? null;
}

/**
 * The peer's lines that this pen's configuration lacks, in the peer's order: each line sets one
 * thing whole (`server 1 … max 7`, `no hash`), except access lists, whose block is run again
 * whole when it differs. So one change there is one change here, not a rerun of everything.
 */
export function changedLines(theirs: readonly string[], ours: readonly string[]): string[] {
  const mine = new Set(ours);
  const block = (lines: readonly string[], n: string) => lines.filter((l) => aclOf(l) === n).join('\n');
  return theirs.filter((line) => {
    const n = aclOf(line);
    return n === null ? !mine.has(line) : block(theirs, n) !== block(ours, n);
  });
}

export function followPeer(ctx: CommandContext, url: string, token: string): PeerLink {
  const { pen } = ctx;
  pen.peer.url = url;
  let retryMs = RETRY_FIRST_MS;
  let closed = false;
  let req: http.ClientRequest | null = null;
  let retry: NodeJS.Timeout | null = null;
  let silence: NodeJS.Timeout | null = null;
  /** config messages run one after the other, never interleaved; only the newest one waits */
  let running = false;
  let waiting: string[] | null = null;

  const up = (): void => {
    pen.peer.lastSync = Date.now();
    if (pen.peer.connected) return;
    pen.peer.error = null;
    pen.peer.connected = true;
    retryMs = RETRY_FIRST_MS;
    publish(pen, 'peer-up', `following the peer at ${url}`);
  };

  /** the request now in use: events of one already given up are ignored */
  let current = 0;

  const down = (why: string, of = current): void => {
    if (of !== current) return;
    current += 1;
    pen.peer.error = why;
    if (silence) clearTimeout(silence);
    req?.destroy();
    req = null;
    if (pen.peer.connected) {
      pen.peer.connected = false;
      publish(pen, 'peer-down', `lost the peer at ${url}: ${why}`);
    }
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = null;
      connect();
    }, retryMs);
    retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
  };

  const applyConfig = async (lines: string[]): Promise<void> => {
    const own = configLines(pen);
    if (lines.join('\n') === own.join('\n')) return;
    for (const line of changedLines(lines, own)) {
      const name = tokenize(line)[0];
      if (name === undefined || NOT_FROM_PEER.has(name)) continue;
      const r = await execute({ ...ctx, origin: 'file' }, line);
      if (r.error) debug(`--peer: ${r.error.message}`);
    }
  };

  const runConfig = async (): Promise<void> => {
    if (running) return;
    running = true;
    while (waiting !== null) {
      const lines = waiting;
      waiting = null;
      await applyConfig(lines).catch((e) => debug(`--peer: ${(e as Error).message}`));
    }
    running = false;
  };

  const apply = (msg: PeerMessage): void => {
    if (msg.type === 'status') {
      pen.peer.behind = msg.behind;
      return;
    }
    // the host that holds the address is the source of truth: it takes nothing from its peer
    if (!pen.peer.applying) return;
    if (msg.type === 'config') {
      waiting = msg.lines;
      void runConfig();
      return;
    }
    const now = pen.now();
    for (const [address, server, age] of msg.entries) {
      pen.clients.adopt(address, address, server, now - age, now, pen.settings.trackingTime);
    }
  };

  const watch = (of: number): void => {
    if (silence) clearTimeout(silence);
    silence = setTimeout(() => down(`nothing for ${PEER_SILENCE_MS} ms`, of), PEER_SILENCE_MS);
  };

  function connect(): void {
    if (closed) return;
    const target = new URL(PEER_PATH, url);
    const get = target.protocol === 'https:' ? https.get : http.get;
    const mine = current;
    const lost = (why: string) => down(why, mine);
    req = get(target, { headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        lost(`HTTP ${res.statusCode}`);
        return;
      }
      res.setEncoding('utf8');
      let partial = '';
      watch(mine);
      res.on('data', (chunk: string) => {
        watch(mine);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        if (partial.length > MAX_LINE) return lost('a line too long');
        for (const line of lines) {
          let msg: unknown;
          try {
            msg = JSON.parse(line);
          } catch {
            return lost('not JSON');
          }
          if (!isMessage(msg)) return lost('not a peer message');
          up();
          apply(msg);
        }
      });
      res.on('end', () => lost('the stream ended'));
      res.on('error', (e) => lost(e.message === 'aborted' ? 'the connection was cut' : e.message));
    });
    req.on('error', (e) => lost(e.message));
  }

  connect();
  return {
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      if (silence) clearTimeout(silence);
      req?.destroy();
    },
  };
}
