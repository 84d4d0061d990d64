// The page: the token prompt when the API wants one, otherwise the header, a banner while the
// live link is down, and the panels. Wide screens get a side column for mode, events, ACLs and
// configuration; narrow screens stack everything.
import type { AppState } from '../../state.ts';
import { AclPanel } from '../acl-panel/index.tsx';
import { ClientsTable } from '../clients-table/index.tsx';
import { ConfigPanel } from '../config-panel/index.tsx';
import { ConfirmDialog } from '../confirm-dialog/index.tsx';
import { ConnectionsTable } from '../connections-table/index.tsx';
import { EventLog } from '../event-log/index.tsx';
import { ModePanel } from '../mode-panel/index.tsx';
import { ServersTable } from '../servers-table/index.tsx';
import { Toasts } from '../toasts/index.tsx';
import { TokenPrompt } from '../token-prompt/index.tsx';
import { TopBar } from '../top-bar/index.tsx';
import { Totals } from '../totals/index.tsx';
import styles from './style.module.css';

function LinkBanner({ state }: { state: AppState }) {
  const link = state.link.value;
  const auth = state.auth.value;
  if (auth === 'unreachable') {
    return <div class={styles.banner} role="alert" data-testid="disconnected">Cannot reach the admin server ({state.authError.value}). Retrying…</div>;
  }
  if (link !== 'disconnected') return null;
  const s = state.snapshot.value;
  return (
    <div class={styles.banner} role="alert" data-testid="disconnected">
      Disconnected from the balancer{state.linkDetail.value ? ` (${state.linkDetail.value})` : ''}. Reconnecting…
      {s && <span class={styles.stale}> The figures below are from {
        new Date(state.receivedAt.value).toLocaleTimeString([], { hour12: false })
      }.</span>}
    </div>
  );
}

export function App({ state }: { state: AppState }) {
  if (state.auth.value === 'need-token') {
    return <><TokenPrompt state={state} /><Toasts state={state} /></>;
  }
  const s = state.snapshot.value;
  const stale = state.link.value === 'disconnected';
  return (
    <>
      <TopBar state={state} />
      <LinkBanner state={state} />
      {!s ? (
        <div class={styles.loading}>{state.auth.value === 'checking' ? 'Connecting…' : 'Waiting for the first snapshot…'}</div>
      ) : (
        <main class={`${styles.main} ${stale ? styles.staleMain : ''}`}>
          <div class={styles.primary}>
            <Totals state={state} />
            <ServersTable state={state} />
            <ConnectionsTable state={state} />
            <ClientsTable state={state} />
          </div>
          <aside class={styles.side}>
            <ModePanel state={state} />
            <EventLog state={state} />
            <AclPanel state={state} />
            <ConfigPanel state={state} />
          </aside>
        </main>
      )}
      <ConfirmDialog state={state} />
      <Toasts state={state} />
    </>
  );
}
