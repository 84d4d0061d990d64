// The header: what this balancer is (listen address, protocol, pid, uptime, mode) and the state
// of the live link and of the session's token.
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
