// A tiny SVG line with a soft fill: a glance at a trend, not a chart to read values from.
interface Props {
  values: readonly number[];
  /** how many points the line spans; fewer values are drawn right-aligned */
  points: number;
  color: string;
  width?: number;
  height?: number;
  label: string;
}

export function Sparkline({ values, points, color, width = 90, height = 22, label }: Props) {
  const n = Math.min(values.length, points);
  const vs = values.slice(values.length - n);
  const max = Math.max(1e-9, ...vs);
  const step = width / Math.max(1, points - 1);
  const x0 = width - (n - 1) * step;
  const pts = vs.map((v, i) => `${(x0 + i * step).toFixed(1)},${(height - 1.5 - (v / max) * (height - 3)).toFixed(1)}`);
  const line = pts.join(' ');
  const area = n > 1 ? `M${pts[0]} L${pts.slice(1).join(' L')} L${width},${height} L${x0.toFixed(1)},${height} Z` : '';
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <title>{label}</title>
      {n > 1 && <path d={area} fill={color} fill-opacity="0.14" stroke="none" />}
      {n > 1 && <polyline points={line} fill="none" stroke={color} stroke-width="1.4" stroke-linejoin="round" />}
      {n <= 1 && <line x1="0" x2={width} y1={height - 1.5} y2={height - 1.5} stroke={color} stroke-opacity="0.3" />}
    </svg>
  );
}
