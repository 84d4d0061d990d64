// A live time-series chart on uPlot. The chart is created once; each tick only swaps its data.
// Colours come from the CSS variables so light and dark themes both work.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { clock } from '../../format.ts';
import styles from './style.module.css';

export interface SeriesSpec {
  label: string;
  /** a CSS custom property name, e.g. --chart-1 */
  color: string;
  fill?: boolean;
}

interface Props {
  title: string;
  series: SeriesSpec[];
  /** [unix seconds, ...one array per series], all the same length */
  data: () => uPlot.AlignedData;
  /** changes whenever data() would return something new */
  version: number;
  format: (v: number) => string;
  /** the y axis reaches at least this high, so an idle chart is not all rounding noise */
  minMax?: number;
  height?: number;
  testId?: string;
}

function latest(values: ArrayLike<number | null | undefined> | undefined): number | null {
  if (!values || values.length === 0) return null;
  return values[values.length - 1] ?? null;
}

function cssVar(el: Element, name: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || '#888';
}

export function LineChart({ title, series, data, version, format, minMax = 1, height = 150, testId }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const text = cssVar(el, '--muted');
    const grid = cssVar(el, '--grid');
    const axis: uPlot.Axis = {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
      font: '11px system-ui, sans-serif',
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      padding: [10, 30, 0, 0],
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(minMax, max * 1.15)] } },
      axes: [
        { ...axis, space: 70, values: (_u, splits) => splits.map((v) => clock(v)) },
        { ...axis, size: 64, values: (_u, splits) => splits.map(format) },
      ],
      series: [
        { label: 'time', value: (_u, v) => (v == null ? '–' : clock(v)) },
        ...series.map((s): uPlot.Series => {
          const color = cssVar(el, s.color);
          return {
            label: s.label,
            stroke: color,
            width: 1.6,
            fill: s.fill ? `color-mix(in srgb, ${color} 14%, transparent)` : undefined,
            points: { show: false },
            // with the cursor away the legend shows the latest value instead of a dash
            value: (u, v, si, idx) => {
              const shown = idx == null ? latest(u.data[si]) : v;
              return shown == null ? '–' : format(shown);
            },
          };
        }),
      ],
    };
    const u = new uPlot(opts, data(), el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(data());
  }, [version]);

  return (
    <div class={`panel ${styles.chart}`} data-testid={testId}>
      <div class="panel-head"><h2>{title}</h2></div>
      <div class={styles.plot} ref={box} />
    </div>
  );
}
