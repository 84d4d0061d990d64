// Number and time formatting for the dashboard: short, fixed-width friendly, no locale surprises.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; whole bytes below 1 KiB. */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

export function rate(bytesPerSecond: number): string {
  return `${bytes(bytesPerSecond)}/s`;
}

/** 12345 → "12,345" (always with commas, whatever the browser's locale). */
export function count(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Seconds → "45s", "3m 05s", "2h 03m", "4d 02h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

/** Unix seconds → "14:03:27" in local time. */
export function clock(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}

/** An address and port as one endpoint; IPv6 in brackets, Unix sockets as the path. */
export function endpoint(address: string, port: number): string {
  if (address === '') return '(unset)';
  if (address.startsWith('/')) return address;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** pen's connection state bits as words. */
export function connState(bits: number): string {
  const words: string[] = [];
  if (bits & 1) words.push('connecting');
  if (bits & 2) words.push('open');
  if (bits & 4) words.push('server EOF');
  if (bits & 8) words.push('client EOF');
  return words.length ? words.join(', ') : String(bits);
}

/** Server slot → label: 0.., or the hidden emergency and abuse slots. */
export function slotName(index: number): string {
  if (index === -1) return 'emergency';
  if (index === -2) return 'abuse';
  if (index < 0) return '–';
  return String(index);
}

/** The selection mode in words: "tracking", "round robin + weight", … */
export function modeName(
  m: { roundrobin: boolean; hash: boolean; weight: boolean; prio: boolean; stubborn: boolean },
): string {
  const parts = [m.roundrobin ? 'round robin' : 'tracking'];
  if (m.hash) parts.push('hash');
  if (m.weight) parts.push('weight');
  if (m.prio) parts.push('prio');
  if (m.stubborn) parts.push('stubborn');
  return parts.join(' + ');
}
