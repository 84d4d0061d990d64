// The client tracking table: each client pen remembers and the server it will go back to.
import type { AppState } from '../../state.ts';
import { bytes, count, duration, slotName } from '../../format.ts';

const SHOWN = 200;

export function ClientsTable({ state }: { state: AppState }) {
  const s = state.snapshot.value;
  if (!s) return null;
  const rows = [...s.clients].sort((a, b) => a.age - b.age).slice(0, SHOWN);
  return (
    <section class="panel" aria-label="clients" data-testid="clients">
      <div class="panel-head">
        <h2>Clients</h2>
        <span class="badge plain">{s.clients.length}</span>
        <span class="spacer" />
        <span class="muted small">{s.mode.roundrobin ? 'round robin: not used for selection' : 'returning clients go back to their last server'}</span>
      </div>
      {rows.length === 0 ? <div class="empty">No clients yet.</div> : (
        <div class="table-wrap">
          <table class="grid">
            <thead>
              <tr>
                <th class="num">#</th><th>Address</th><th class="num">Last server</th><th class="num">Connects</th>
                <th class="num">Sent</th><th class="num">Received</th><th class="num">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.index}>
                  <td class="num">{c.index}</td>
                  <td class="mono">{c.address}</td>
                  <td class="num">{slotName(c.lastServer)}</td>
                  <td class="num">{count(c.connects)}</td>
                  <td class="num">{bytes(c.sent)}</td>
                  <td class="num">{bytes(c.received)}</td>
                  <td class="num">{duration(c.age)} ago</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
