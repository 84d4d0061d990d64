// One server's row. A stats tick replaces the whole snapshot, but the row renders again only when
// what it is changes (state, address, limits, weight, drain, check): the numbers that move every
// second are signals bound straight into the DOM (text, title, width), and the sparklines and the
// "last chosen" mark are small components of their own.
import { useComputed } from '@preact/signals';
import type { ReadonlySignal } from '@preact/signals';
import type { ServerSnapshot, Snapshot } from '../../../../shared/snapshot.ts';
import type { AppState } from '../../state.ts';
import { bytes, count, endpoint, rate } from '../../format.ts';
import { HISTORY_POINTS } from '../../history.ts';
import { Sparkline } from '../sparkline/index.tsx';
import styles from './style.module.css';

export const SPARK_POINTS = 60;

export type RowKind = 'server' | 'emergency' | 'abuse';

/** The rows a snapshot has, in order: each slot, then the emergency and abuse servers when set. */
export function rowsOf(s: Snapshot): { kind: RowKind; index: number }[] {
  return [
    ...s.servers.map((srv) => ({ kind: 'server' as const, index: srv.index })),
    ...(s.emergency ? [{ kind: 'emergency' as const, index: s.emergency.index }] : []),
    ...(s.abuse ? [{ kind: 'abuse' as const, index: s.abuse.index }] : []),
  ];
}

function serverOf(s: Snapshot | null, kind: RowKind, index: number): ServerSnapshot | null {
  if (!s) return null;
  if (kind === 'emergency') return s.emergency;
  if (kind === 'abuse') return s.abuse;
  const at = s.servers[index];
  return at?.index === index ? at : s.servers.find((x) => x.index === index) ?? null;
}

/** What the row's structure shows; a change here (not in a counter) renders the row again. */
function shapeOf(v: ServerSnapshot | null): string {
  if (!v) return '';
  const h = v.health;
  const check = h && [h.check.kind, h.state];
  return JSON.stringify([v.state, v.address, v.port, v.maxc, v.hard, v.weight, v.prio, v.drain, check]);
}

function loadTitle(v: ServerSnapshot): string {
  return `${v.connections} open; soft max ${v.maxc || 'unlimited'}; hard max ${v.hard || 'unlimited'}`;
}

function loadBar(v: ServerSnapshot): { width: string; tone: string } {
  const pct = v.maxc > 0 ? Math.min(100, (v.connections / v.maxc) * 100) : 0;
  return { width: `width: ${pct}%`, tone: v.maxc > 0 && v.connections >= v.maxc ? styles.full ?? '' : pct >= 80 ? styles.high ?? '' : '' };
}

function healthTitle(v: ServerSnapshot): string {
  const h = v.health;
  if (!h) return '';
  const when = h.lastCheck > 0 ? `last check ${new Date(h.lastCheck).toLocaleTimeString()} (${h.durationMs} ms)` : 'not checked yet';
  return `${h.check.kind}${h.own ? ' (own check)' : ''}; ${when}${h.lastError ? `; ${h.lastError}` : ''}; ${h.failuresTotal} failed of ${h.checks}`;
}

/** The mark on the last server a connection went to: it moves often, so only it renders. */
function CurrentMark({ on }: { on: ReadonlySignal<boolean> }) {
  return on.value ? <span class={styles.current} title="the last server a connection went to">●</span> : null;
}

/** The two sparklines, drawn again each tick from the history. */
function Trend({ state, index }: { state: AppState; index: number }) {
  void state.historyVersion.value;
  const series = state.history.servers.get(index);
  const points = Math.min(SPARK_POINTS, HISTORY_POINTS);
  return (
    <div class={styles.trend}>
      <Sparkline values={series?.conns ?? []} points={points} color="var(--chart-1)" width={84} height={15} label={`server ${index} connections, last ${SPARK_POINTS}s`} />
      <Sparkline values={series?.traffic ?? []} points={points} color="var(--chart-2)" width={84} height={15} label={`server ${index} traffic, last ${SPARK_POINTS}s`} />
    </div>
  );
}

export interface RowProps {
  state: AppState;
  kind: RowKind;
  index: number;
  canChange: boolean;
  onBlacklist(srv: ServerSnapshot): void;
  onEdit(srv: ServerSnapshot): void;
  onCheck(srv: ServerSnapshot): void;
}

export function ServerRow({ state, kind, index, canChange, onBlacklist, onEdit, onCheck }: RowProps) {
  const srv = useComputed(() => serverOf(state.snapshot.value, kind, index));
  const shape = useComputed(() => shapeOf(srv.value));
  // per-second values, each a signal the DOM binds to; they never render the row
  const num = <T,>(f: (v: ServerSnapshot) => T, none: T) => useComputed(() => (srv.value ? f(srv.value) : none));
  const conns = num((v) => count(v.connections), '');
  const title = num(loadTitle, '');
  const width = num((v) => loadBar(v).width, '');
  const tone = num((v) => loadBar(v).tone, '');
  const left = num((v) => `${v.blacklistLeft}s`, '');
  const sx = num((v) => bytes(v.sx), '');
  const rx = num((v) => bytes(v.rx), '');
  const sxRate = num((v) => rate(v.sxRate), '');
  const rxRate = num((v) => rate(v.rxRate), '');
  const checked = num(healthTitle, '');
  const current = useComputed(() => state.snapshot.value?.current === index);
  void shape.value; // the only subscription of the row itself
  const v = srv.peek();
  if (!v) return null;
  const busy = state.pending.value;
  const h = v.health;
  const whitelist = () => void state.run(`bl-${index}`, `whitelist server ${index}`, () => state.api.whitelist(index));
  const drain = () => {
    const on = !srv.peek()?.drain;
    void state.run(`drain-${index}`, `${on ? 'drain' : 'stop draining'} server ${index}`, () => state.api.drain(index, on));
  };
  const now = () => srv.peek() ?? v;
  return (
    <tr data-testid={`server-row-${index}`} data-state={v.state} class={v.state === 'blacklisted' ? styles.down : ''}>
      <td class={`num ${styles.idx}`}>
        {kind === 'server' ? index : ''}
        <CurrentMark on={current} />
      </td>
      <td class={styles.addr}>
        <span class="mono" data-testid={`server-addr-${index}`}>{endpoint(v.address, v.port)}</span>
      </td>
      <td class={styles.state}>
        <div class={styles.badges}>
          {kind !== 'server' && <span class={`badge ${kind === 'emergency' ? 'emerg' : 'warn'} plain`} title={kind === 'emergency' ? 'used only when no other server can take a client (-e)' : 'where clients denied by the client ACL go (-B)'}>{kind}</span>}
          {v.state === 'up' && <span class="badge up">up</span>}
          {v.state === 'blacklisted' && <span class="badge bad" title="blacklisted: no new connections until the countdown ends">blacklisted <span class="num">{left}</span></span>}
          {v.state === 'limit' && <span class="badge warn" title="at its connection limit: new clients go elsewhere">at limit</span>}
          {v.state === 'unset' && <span class="badge">unset</span>}
        </div>
      </td>
      <td data-label="Health">
        <div class={styles.badges}>
          {v.drain && <span class="badge warn" data-testid={`server-drain-${index}`} title="draining: no new connections; open ones carry on">draining</span>}
          {h ? (
            <span class={`badge ${h.state === 'up' ? 'up' : h.state === 'down' ? 'bad' : ''}`} data-testid={`server-health-${index}`} data-health={h.state} title={checked}>
              {h.check.kind} {h.state}
            </span>
          ) : <span class="faint small" data-testid={`server-health-${index}`} data-health="off">—</span>}
        </div>
      </td>
      <td class={styles.wide} data-label="Connections">
        <div class={styles.load} title={title}>
          <div class={styles.loadNums}>
            <b data-testid={`server-conns-${index}`}>{conns}</b>
            <span class="muted"> / {v.maxc > 0 ? count(v.maxc) : '∞'}</span>
            {v.hard > 0 && <span class="faint small"> hard {count(v.hard)}</span>}
          </div>
          {v.maxc > 0 && <div class={styles.bar}><i class={tone} style={width} /></div>}
        </div>
      </td>
      <td class="num" data-label="Weight">{v.weight}</td>
      <td class="num" data-label="Prio">{v.prio}</td>
      <td class="num" data-label="Sent"><div>{sx}<div class="faint small">{sxRate}</div></div></td>
      <td class="num" data-label="Received"><div>{rx}<div class="faint small">{rxRate}</div></div></td>
      <td data-label="Trend"><Trend state={state} index={index} /></td>
      {canChange && (
        <td class={styles.ops}>
          {kind === 'server' && (
            <div class="actions">
              {v.state === 'blacklisted' ? (
                <button type="button" class="btn small" data-testid={`whitelist-${index}`} disabled={busy.has(`bl-${index}`)} onClick={whitelist}>Whitelist</button>
              ) : (
                <button type="button" class="btn small danger" data-testid={`blacklist-${index}`} disabled={busy.has(`bl-${index}`)} onClick={() => onBlacklist(now())}>Blacklist</button>
              )}
              <button type="button" class="btn small" data-testid={`drain-${index}`} disabled={busy.has(`drain-${index}`)} onClick={drain}>{v.drain ? 'Undrain' : 'Drain'}</button>
              <button type="button" class="btn small" data-testid={`health-${index}`} onClick={() => onCheck(now())}>Health</button>
              <button type="button" class="btn small" data-testid={`edit-${index}`} onClick={() => onEdit(now())}>Edit</button>
            </div>
          )}
        </td>
      )}
    </tr>
  );
}
