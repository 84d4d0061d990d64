// The server table: one row per slot (plus the emergency and abuse servers when configured),
// with its state, load against its limits, counters, sparklines and the per-server operations.
import { useState } from 'preact/hooks';
import type { ServerSnapshot } from '../../../../shared/snapshot.ts';
import type { AppState } from '../../state.ts';
import { bytes, count, endpoint, rate, slotName } from '../../format.ts';
import { HISTORY_POINTS } from '../../history.ts';
import { BlacklistDialog } from '../blacklist-dialog/index.tsx';
import { HealthEditor } from '../health-editor/index.tsx';
import { ServerEditor } from '../server-editor/index.tsx';
import { Sparkline } from '../sparkline/index.tsx';
import styles from './style.module.css';

const SPARK_POINTS = 60;

function StateBadge({ srv }: { srv: ServerSnapshot }) {
  switch (srv.state) {
    case 'up':
      return <span class="badge up">up</span>;
    case 'blacklisted':
      return <span class="badge bad" title="blacklisted: no new connections until the countdown ends">blacklisted <span class="num">{srv.blacklistLeft}s</span></span>;
    case 'limit':
      return <span class="badge warn" title="at its connection limit: new clients go elsewhere">at limit</span>;
    default:
      return <span class="badge">unset</span>;
  }
}

/** The active check's verdict, with when it last ran and why it last failed; and drain. */
function HealthBadge({ srv }: { srv: ServerSnapshot }) {
  const h = srv.health;
  const drain = srv.drain && <span class="badge warn" data-testid={`server-drain-${srv.index}`} title="draining: no new connections; open ones carry on">draining</span>;
  if (!h) return <>{drain}<span class="faint small" data-testid={`server-health-${srv.index}`} data-health="off">—</span></>;
  const when = h.lastCheck > 0 ? `last check ${new Date(h.lastCheck).toLocaleTimeString()} (${h.durationMs} ms)` : 'not checked yet';
  const title = `${h.check.kind}${h.own ? ' (own check)' : ''}; ${when}${h.lastError ? `; ${h.lastError}` : ''}; ${h.failuresTotal} failed of ${h.checks}`;
  const tone = h.state === 'up' ? 'up' : h.state === 'down' ? 'bad' : '';
  return (
    <>
      {drain}
      <span class={`badge ${tone}`} data-testid={`server-health-${srv.index}`} data-health={h.state} title={title}>
        {h.check.kind} {h.state}
      </span>
    </>
  );
}

function Load({ srv }: { srv: ServerSnapshot }) {
  const pct = srv.maxc > 0 ? Math.min(100, (srv.connections / srv.maxc) * 100) : 0;
  const tone = srv.maxc > 0 && srv.connections >= srv.maxc ? styles.full : pct >= 80 ? styles.high : '';
  return (
    <div class={styles.load} title={`${srv.connections} open; soft max ${srv.maxc || 'unlimited'}; hard max ${srv.hard || 'unlimited'}`}>
      <div class={styles.loadNums}>
        <b data-testid={`server-conns-${srv.index}`}>{count(srv.connections)}</b>
        <span class="muted"> / {srv.maxc > 0 ? count(srv.maxc) : '∞'}</span>
        {srv.hard > 0 && <span class="faint small"> hard {count(srv.hard)}</span>}
      </div>
      {srv.maxc > 0 && <div class={styles.bar}><i class={tone} style={{ width: `${pct}%` }} /></div>}
    </div>
  );
}

export function ServersTable({ state }: { state: AppState }) {
  const s = state.snapshot.value;
  const [blacklisting, setBlacklisting] = useState<ServerSnapshot | null>(null);
  const [editing, setEditing] = useState<ServerSnapshot | null>(null);
  const [checking, setChecking] = useState<ServerSnapshot | null>(null);
  const canChange = state.canChange.value;
  const busy = state.pending.value;
  void state.historyVersion.value; // redraw sparklines every tick
  if (!s) return null;
  const rows: { srv: ServerSnapshot; kind: 'server' | 'emergency' | 'abuse' }[] = [
    ...s.servers.map((srv) => ({ srv, kind: 'server' as const })),
    ...(s.emergency ? [{ srv: s.emergency, kind: 'emergency' as const }] : []),
    ...(s.abuse ? [{ srv: s.abuse, kind: 'abuse' as const }] : []),
  ];
  const whitelist = (srv: ServerSnapshot) =>
    void state.run(`bl-${srv.index}`, `whitelist server ${srv.index}`, () => state.api.whitelist(srv.index));
  const drain = (srv: ServerSnapshot) =>
    void state.run(`drain-${srv.index}`, `${srv.drain ? 'stop draining' : 'drain'} server ${srv.index}`, () => state.api.drain(srv.index, !srv.drain));
  return (
    <section class="panel" aria-label="servers" data-testid="servers">
      <div class="panel-head">
        <h2>Servers</h2>
        <span class="badge plain">{s.servers.length}</span>
        <span class="spacer" />
        <span class="muted small">last chosen: <b data-testid="current">{slotName(s.current)}</b></span>
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
              {rows.map(({ srv, kind }) => {
                const series = state.history.servers.get(srv.index);
                const current = s.current === srv.index;
                return (
                  <tr key={`${kind}-${srv.index}`} data-testid={`server-row-${srv.index}`} data-state={srv.state} class={srv.state === 'blacklisted' ? styles.down : ''}>
                    <td class={`num ${styles.idx}`}>
                      {kind === 'server' ? srv.index : ''}
                      {current && <span class={styles.current} title="the last server a connection went to">●</span>}
                    </td>
                    <td class={styles.addr}>
                      <span class="mono" data-testid={`server-addr-${srv.index}`}>{endpoint(srv.address, srv.port)}</span>
                    </td>
                    <td class={styles.state}>
                      <div class={styles.badges}>
                        {kind !== 'server' && <span class={`badge ${kind === 'emergency' ? 'emerg' : 'warn'} plain`} title={kind === 'emergency' ? 'used only when no other server can take a client (-e)' : 'where clients denied by the client ACL go (-B)'}>{kind}</span>}
                        <StateBadge srv={srv} />
                      </div>
                    </td>
                    <td data-label="Health"><div class={styles.badges}><HealthBadge srv={srv} /></div></td>
                    <td class={styles.wide} data-label="Connections"><Load srv={srv} /></td>
                    <td class="num" data-label="Weight">{srv.weight}</td>
                    <td class="num" data-label="Prio">{srv.prio}</td>
                    <td class="num" data-label="Sent"><div>{bytes(srv.sx)}<div class="faint small">{rate(srv.sxRate)}</div></div></td>
                    <td class="num" data-label="Received"><div>{bytes(srv.rx)}<div class="faint small">{rate(srv.rxRate)}</div></div></td>
                    <td data-label="Trend">
                      <div class={styles.trend}>
                        <Sparkline values={series?.conns ?? []} points={Math.min(SPARK_POINTS, HISTORY_POINTS)} color="var(--chart-1)" width={84} height={15} label={`server ${srv.index} connections, last ${SPARK_POINTS}s`} />
                        <Sparkline values={series?.traffic ?? []} points={Math.min(SPARK_POINTS, HISTORY_POINTS)} color="var(--chart-2)" width={84} height={15} label={`server ${srv.index} traffic, last ${SPARK_POINTS}s`} />
                      </div>
                    </td>
                    {canChange && (
                      <td class={styles.ops}>
                        {kind === 'server' && (
                          <div class="actions">
                            {srv.state === 'blacklisted' ? (
                              <button type="button" class="btn small" data-testid={`whitelist-${srv.index}`} disabled={busy.has(`bl-${srv.index}`)} onClick={() => whitelist(srv)}>Whitelist</button>
                            ) : (
                              <button type="button" class="btn small danger" data-testid={`blacklist-${srv.index}`} disabled={busy.has(`bl-${srv.index}`)} onClick={() => setBlacklisting(srv)}>Blacklist</button>
                            )}
                            <button type="button" class="btn small" data-testid={`drain-${srv.index}`} disabled={busy.has(`drain-${srv.index}`)} onClick={() => drain(srv)}>{srv.drain ? 'Undrain' : 'Drain'}</button>
                            <button type="button" class="btn small" data-testid={`health-${srv.index}`} onClick={() => setChecking(srv)}>Health</button>
                            <button type="button" class="btn small" data-testid={`edit-${srv.index}`} onClick={() => setEditing(srv)}>Edit</button>
                          </div>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
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
