// Open connections: who, to which server, in what state, with the bytes still queued each way.
import type { AppState } from '../../state.ts';
import { bytes, connState, duration, slotName } from '../../format.ts';

const SHOWN = 200;

export function ConnectionsTable({ state }: { state: AppState }) {
  const s = state.snapshot.value;
  if (!s) return null;
  const can = state.canChange.value;
  const busy = state.pending.value;
  const rows = s.connections.slice(0, SHOWN);
  const close = (index: number, who: string) => void state.run(
    `conn-${index}`, `close connection ${index}`, () => state.api.closeConnection(index),
    { title: `Close connection ${index}?`, body: `The client ${who} is disconnected at once, mid-transfer if need be.`, action: 'Close it' },
  );
  return (
    <section class="panel" aria-label="connections" data-testid="connections">
      <div class="panel-head">
        <h2>Connections</h2>
        <span class="badge plain">{s.connections.length}</span>
      </div>
      {rows.length === 0 ? <div class="empty">No open connections.</div> : (
        <div class="table-wrap">
          <table class="grid">
            <thead>
              <tr>
                <th class="num">#</th><th>Client</th><th class="num">Server</th><th>State</th>
                <th class="num" title="bytes waiting to go to the client">Queued ↓</th>
                <th class="num" title="bytes waiting to go to the server">Queued ↑</th>
                <th class="num">Age</th>
                {can && <th><span class="sr-only">Operations</span></th>}
              </tr>
            </thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.index} data-testid={`conn-row-${c.index}`}>
                  <td class="num">{c.index}</td>
                  <td class="mono">{c.clientAddress}</td>
                  <td class="num">{slotName(c.server)}</td>
                  <td class="muted">{connState(c.state)}</td>
                  <td class="num">{bytes(c.pendingDown)}</td>
                  <td class="num">{bytes(c.pendingUp)}</td>
                  <td class="num">{duration(c.age)}</td>
                  {can && (
                    <td class="actions">
                      <button type="button" class="btn small danger" data-testid={`close-${c.index}`} disabled={busy.has(`conn-${c.index}`)} onClick={() => close(c.index, c.clientAddress)}>Close</button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {s.connections.length > SHOWN && <div class="empty small">…and {s.connections.length - SHOWN} more.</div>}
        </div>
      )}
    </section>
  );
}
