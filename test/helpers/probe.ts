// A forwarding probe: one connection through pen to an echo backend, pinging one byte at a time.
// It measures how long pen's event loop stops forwarding while something else runs: the longest
// round trip, and the time lost to slow round trips (each one's excess over `slowMs`).
import net from 'node:net';
import { once } from 'node:events';

export interface ProbeReport {
  trips: number;
  maxMs: number;
  /** the sum of (round trip - slowMs) over the trips slower than slowMs */
  stalledMs: number;
}

export interface Probe {
  /** start counting afresh (the connect and greeting are not counted) */
  reset(): void;
  report(): ProbeReport;
  stop(): Promise<ProbeReport>;
}

/** Connect to pen on `port`; the backend greets with one line and echoes (tcpBackend). */
export async function startProbe(port: number, slowMs = 20): Promise<Probe> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  await once(socket, 'data'); // the greeting
  let trips = 0;
  let maxMs = 0;
  let stalledMs = 0;
  let running = true;
  let sent = 0;
  const ping = () => {
    if (!running) return;
    sent = performance.now();
    socket.write('x');
  };
  socket.on('data', () => {
    const ms = performance.now() - sent;
    trips += 1;
    if (ms > maxMs) maxMs = ms;
    if (ms > slowMs) stalledMs += ms - slowMs;
    setImmediate(ping);
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  ping();
  const report = (): ProbeReport => ({ trips, maxMs: Math.round(maxMs * 10) / 10, stalledMs: Math.round(stalledMs) });
  return {
    reset() { trips = 0; maxMs = 0; stalledMs = 0; },
    report,
    async stop() {
      running = false;
      const r = report();
      socket.destroy();
      await closed;
      return r;
    },
  };
}

/** One command on pen's control port, without blocking this process (penctl is spawned synchronously). */
export function control(port: number, line: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no reply to ${line}`)); }, timeoutMs);
    s.on('connect', () => s.write(`${line}\n`));
    s.on('data', (d) => { reply += d; });
    s.on('end', () => { clearTimeout(timer); s.end(); resolve(reply); });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/**
 * Wait until forwarding is quiet (a window of `windowMs` with under 20 ms lost), so a freshly
 * started pen's own warm-up (JIT, lazy imports, heap growth) is not counted; gives up after maxMs.
 */
export async function settle(probe: Probe, windowMs = 500, maxMs = 15_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    probe.reset();
    await new Promise((r) => setTimeout(r, windowMs));
    const r = probe.report();
    if (r.trips > 0 && r.stalledMs < 20) return;
  }
}
