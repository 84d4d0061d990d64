// The header: what this balancer is (listen address, protocol, pid, uptime, mode) and the state
// of the live link and of the session's token.
import type { PeerSnapshot } from '../../../../shared/snapshot.ts';
import type { AppState } from '../../state.ts';
import { duration, modeName } from '../../format.ts';
import styles from './style.module.css';

const LINK_TEXT = { live: 'live', connecting: 'connecting…', disconnected: 'disconnected' } as const;

export function TopBar({ state }: { state: AppState }) {
  const s = state.snapshot.value;
  const link = state.link.value;
  return (
    <header class={styles.bar}>
      <div class={styles.brand}>
        <span class={styles.logo} aria-hidden="true">pen</span>
        <span class={styles.listen} data-testid="listen">{s?.listen ?? '—'}</span>
        {s && <span class={styles.meta}>{s.protocol}</span>}
      </div>
      <div class={styles.facts}>
        {s && <span class={styles.fact}><span class="muted">mode</span> <b data-testid="mode-name">{modeName(s.mode)}</b></span>}
        {s && <span class={styles.fact}><span class="muted">up</span> {duration(s.uptime)}</span>}
        {s && <span class={`${styles.fact} ${styles.optional}`}><span class="muted">pid</span> {s.pid}</span>}
        {s?.peer && <Pair peer={s.peer} timeMs={s.timeMs} />}
      </div>
      <div class={styles.right}>
        <span class={`${styles.link} ${styles[link]}`} data-testid="link" title={state.linkDetail.value ?? undefined}>
          <i />{LINK_TEXT[link]}
        </span>
        {state.authRequired.value && state.scope.value && (
          <span class={styles.session}>
            <span class={`badge plain ${state.scope.value === 'admin' ? 'info' : ''}`} data-testid="scope">
              {state.scope.value === 'admin' ? 'admin' : 'read only'}
            </span>
            <button type="button" class="btn ghost small" onClick={() => void state.logout()}>sign out</button>
          </span>
        )}
      </div>
    </header>
  );
}

/** The pair (docs/high-availability.md): this host's VRRP role, and the pen it follows or that follow it. */
function Pair({ peer, timeMs }: { peer: PeerSnapshot; timeMs: number }) {
  if (peer.url === null && peer.role === 'unknown' && peer.followers === 0) return null;
  const synced = peer.lastSync === null ? 'never' : `${duration(Math.max(0, (timeMs - peer.lastSync) / 1000))} ago`;
  return (
    <span class={styles.fact} data-testid="pair">
      {peer.role !== 'unknown' && <><span class="muted">role</span> <b data-testid="role">{peer.role}</b> </>}
      {peer.url !== null && (
        <span
          class={`badge plain ${peer.connected ? 'up' : 'bad'}`}
          data-testid="peer"
          title={peer.connected ? `following ${peer.url}; last update ${synced}; ${peer.behind} entries behind` : `${peer.url}: ${peer.error ?? 'not connected'}`}
        >
          peer {peer.connected ? `synced ${synced}` : 'down'}{peer.connected && peer.behind > 0 ? `, ${peer.behind} behind` : ''}
        </span>
      )}
      {peer.followers > 0 && <> <span class="muted">followed by</span> {peer.followers}</>}
    </span>
  );
}
