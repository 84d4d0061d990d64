// The server table: one row per slot (plus the emergency and abuse servers when configured),
// with its state, load against its limits, counters, sparklines and the per-server operations.
// The table renders when its rows come or go, not on each stats tick (the rows bind their
// numbers as signals, row.tsx).
import { useComputed } from '@preact/signals';
import { useState } from 'preact/hooks';
import type { ServerSnapshot } from '../../../../shared/snapshot.ts';
import type { AppState } from '../../state.ts';
import { slotName } from '../../format.ts';
import { BlacklistDialog } from '../blacklist-dialog/index.tsx';
import { HealthEditor } from '../health-editor/index.tsx';
import { ServerEditor } from '../server-editor/index.tsx';
import { SPARK_POINTS, ServerRow, rowsOf, type RowKind } from './row.tsx';
import styles from './style.module.css';

export function ServersTable({ state }: { state: AppState }) {
  // a string, so a tick with the same rows is no change and renders nothing here
  const layout = useComputed(() => {
    const s = state.snapshot.value;
    return s ? rowsOf(s).map((r) => `${r.kind}:${r.index}`).join(' ') : null;
  });
  const slots = useComputed(() => state.snapshot.value?.servers.length ?? 0);
  const current = useComputed(() => { const s = state.snapshot.value; return s ? slotName(s.current) : ''; });
  const [blacklisting, setBlacklisting] = useState<ServerSnapshot | null>(null);
  const [editing, setEditing] = useState<ServerSnapshot | null>(null);
  const [checking, setChecking] = useState<ServerSnapshot | null>(null);
  const canChange = state.canChange.value;
  if (layout.value === null) return null;
  const rows = layout.value === '' ? [] : layout.value.split(' ').map((key) => {
    const [kind, index] = key.split(':');
    return { key, kind: kind as RowKind, index: Number(index) };
  });
  return (
    <section class="panel" aria-label="servers" data-testid="servers">
      <div class="panel-head">
        <h2>Servers</h2>
        <span class="badge plain">{slots}</span>
        <span class="spacer" />
        <span class="muted small">last chosen: <b data-testid="current">{current}</b></span>
      </div>
      {rows.length === 0 ? <div class="empty">No servers configured.</div> : (
        <div class="table-wrap">
          <table class={`grid ${styles.table}`}>
            <thead>
              <tr>
                <th class="num">#</th>
                <th>Server</th>
                <th>State</th>
                <th title="active health check and drain">Health</th>
                <th>Connections</th>
                <th class="num" title="weight (used in weight mode)">Wt</th>
                <th class="num" title="priority (used in prio mode; lower is preferred)">Prio</th>
                <th class="num" title="bytes sent to the server, and the rate now">Sent</th>
                <th class="num" title="bytes received from the server, and the rate now">Received</th>
                <th title={`open connections (blue) and traffic both ways (green), last ${SPARK_POINTS}s`}>Trend</th>
                {canChange && <th class={styles.opsHead}><span class="sr-only">Operations</span></th>}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <ServerRow key={r.key} state={state} kind={r.kind} index={r.index} canChange={canChange}
                  onBlacklist={setBlacklisting} onEdit={setEditing} onCheck={setChecking} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {blacklisting && <BlacklistDialog state={state} server={blacklisting} onClose={() => setBlacklisting(null)} />}
      {editing && <ServerEditor state={state} server={editing} onClose={() => setEditing(null)} />}
      {checking && <HealthEditor state={state} server={checking} onClose={() => setChecking(null)} />}
    </section>
  );
}
