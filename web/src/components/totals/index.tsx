// The totals: a row of figures, then two live charts (connections, throughput) on uPlot.
import type { AppState } from '../../state.ts';
import { bytes, count, rate } from '../../format.ts';
import { LineChart } from '../line-chart/index.tsx';
import styles from './style.module.css';

function Tile({ label, value, sub, testId, tone }: { label: string; value: string; sub?: string; testId?: string; tone?: 'bad' }) {
  return (
    <div class={styles.tile} data-testid={testId}>
      <div class={styles.label}>{label}</div>
      <div class={`${styles.value} ${tone === 'bad' ? styles.bad : ''}`}>{value}</div>
      {sub && <div class={styles.sub}>{sub}</div>}
    </div>
  );
}

export function Totals({ state }: { state: AppState }) {
  const s = state.snapshot.value;
  const h = state.history;
  const accepts = h.accepts[h.accepts.length - 1] ?? 0;
  return (
    <>
      <section class={`panel ${styles.tiles}`} aria-label="totals">
        <Tile label="Connections" testId="total-connections" value={s ? count(s.totals.connections) : '–'} sub={s ? `open, of ${count(s.connMax)} slots` : undefined} />
        <Tile label="Accepted" testId="total-accepted" value={s ? count(s.totals.accepted) : '–'} sub={`${accepts.toFixed(accepts < 10 ? 1 : 0)} /s now`} />
        <Tile label="Dropped" value={s ? count(s.totals.dropped) : '–'} sub="no server free" tone={s && s.totals.dropped > 0 ? 'bad' : undefined} />
        <Tile label="To servers" value={s ? bytes(s.totals.sx) : '–'} sub={s ? rate(s.totals.sxRate) : undefined} />
        <Tile label="From servers" value={s ? bytes(s.totals.rx) : '–'} sub={s ? rate(s.totals.rxRate) : undefined} />
        <Tile label="Clients" value={s ? count(s.clients.length) : '–'} sub={s ? `tracked, of ${count(s.clientsMax)}` : undefined} />
        <Tile label="Loop delay" value={s ? `${s.eventLoopDelayMs.toFixed(1)} ms` : '–'} sub="p99, last second" />
      </section>
      <div class={styles.charts}>
        <LineChart
          title="Connections"
          testId="chart-connections"
          version={state.historyVersion.value}
          data={() => [h.time, h.conns, h.accepts]}
          series={[{ label: 'open', color: '--chart-1', fill: true }, { label: 'new /s', color: '--chart-3' }]}
          format={(v) => (Number.isInteger(v) ? count(v) : v.toFixed(1))}
          minMax={4}
        />
        <LineChart
          title="Throughput"
          testId="chart-throughput"
          version={state.historyVersion.value}
          data={() => [h.time, h.sxRate, h.rxRate]}
          series={[{ label: 'to servers', color: '--chart-1', fill: true }, { label: 'from servers', color: '--chart-2', fill: true }]}
          format={rate}
          minMax={1024}
        />
      </div>
    </>
  );
}
