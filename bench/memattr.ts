// Where a held connection's memory goes, measured inside the balancer's own process: a Balancer
// in this process (node --expose-gc), a backend and a client in child processes (their sockets
// are not ours), N idle connections held, and before → while-held deltas of RSS, the V8 heap
// (after a full GC), external and ArrayBuffer memory, and the native engine's allocations. The
// engine's per-slot tables are mapped at start and touched as slots are used: what one held TCP
// connection touches there is the addon's layout.tcpSlotBytes, added to the total of live bytes,
// and so are the listener's own per-slot arrays (native-conn.ts SLOT_ARRAY_BYTES).
//
//   PEN_DATAPATH=native node --expose-gc --import tsx bench/memattr.ts [N] [SLOTS]
//
// N defaults to 9000 (each connection is two fds here; the hard fd limit is usually 20000).
// SLOTS (-x and -c) defaults to N + 100. RSS is printed but is not a per-connection figure here:
// the first full GC gives back more than the connections take. SNAPSHOT=FILE writes a heap
// snapshot while they are held. The children are stopped by their handles when it ends.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import v8 from 'node:v8';
import { Balancer } from '../server/core/balancer.ts';
import { ClientTable } from '../server/core/clients.ts';
import { SLOT_ARRAY_BYTES } from '../server/core/native-conn.ts';
import { NativeListener } from '../server/core/native-listener.ts';
import { loadNative } from '../server/core/native.ts';
import { emptyServer } from '../server/core/servers.ts';

const HOST = '127.0.0.1';
const child = process.argv[2];

/** The child processes: `backend` holds whatever connects; `client PORT N` opens N connections. */
if (child === 'backend') {
  const srv = net.createServer((s) => s.on('error', () => {}));
  srv.listen(0, HOST, () => process.send?.((srv.address() as net.AddressInfo).port));
  process.on('disconnect', () => process.exit(0));
} else if (child === 'client') {
  const [port, n] = [Number(process.argv[3]), Number(process.argv[4])];
  const held: net.Socket[] = [];
  const one = () => new Promise<void>((resolve, reject) => {
    const s = net.connect(port, HOST, () => resolve());
    s.on('error', reject);
    held.push(s);
  });
  void (async () => {
    for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, one));
    process.send?.('held');
  })();
  process.on('message', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, HOST, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) g();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKiB(): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? NaN);
}

interface Sample {
  rss: number; heap: number; external: number; arrayBuffers: number; native: number; old: number; young: number;
}

function sample(pen: Balancer): Sample {
  gc();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
  const l = pen.listener;
  const native = l instanceof NativeListener ? l.eng.stats().allocBytes : 0;
  return {
    rss: rssKiB() * 1024, heap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, native,
    old: spaces.old_space ?? 0, young: spaces.new_space ?? 0,
  };
}

/** A child's first message; it fails when the child exits first or within 60 s sends nothing. */
function waitFor<T>(p: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child sent nothing within 60 s')), 60000);
    p.once('message', (m) => { clearTimeout(timer); resolve(m as T); });
    p.once('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited (${code}) before it was ready`)); });
  });
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 9000);
  const slots = Number(process.argv[3] ?? n + 100);
  const self = new URL(import.meta.url).pathname;
  const kids: ChildProcess[] = [];
  const spawnChild = (args: string[]) => {
    const k = fork(self, args, { execArgv: ['--import', 'tsx'] });
    kids.push(k);
    return k;
  };
  const pen = new Balancer();
  try {
    const backendPort = await waitFor<number>(spawnChild(['backend']));
    pen.settings.connMax = slots;
    pen.settings.clientsMax = slots;
    pen.clients = new ClientTable(slots);
    pen.servers.list.push({ ...emptyServer(), family: 4, address: HOST, port: backendPort });
    const port = await freePort();
    await pen.listen(`${HOST}:${port}`);
    // warm-up: a few connections, so lazily made code and tables do not count per connection
    const warm = spawnChild(['client', String(port), '10']);
    await waitFor(warm);
    warm.send('stop');
    await sleep(500);
    const before = sample(pen);
    await waitFor(spawnChild(['client', String(port), String(n)]));
    for (let i = 0; i < 100 && pen.table.used < n; i++) await sleep(50);
    await sleep(500);
    const held = sample(pen);
    const per = (k: keyof Sample) => (n > 0 ? ((held[k] - before[k]) / n).toFixed(1) : '-');
    console.log(`datapath ${pen.datapath.path}, ${pen.table.used} held of ${n}, -x/-c ${slots}`);
    console.log('bytes per held connection (after a full GC):');
    for (const k of ['rss', 'heap', 'old', 'young', 'external', 'arrayBuffers', 'native'] as const) console.log(`  ${k.padEnd(12)} ${per(k)}`);
    const addon = loadNative();
    const slotBytes = pen.datapath.path === 'native' && 'engine' in addon ? addon.engine.layout.tcpSlotBytes ?? NaN : 0;
    // the listener's per-slot arrays are allocated with it, before the window, and touched per slot like the engine's
    const arrayBytes = pen.datapath.path === 'native' ? SLOT_ARRAY_BYTES : 0;
    console.log(`  ${'slot tables'.padEnd(12)} ${slotBytes} (touched per TCP slot; malloc's own headers are not counted)`);
    console.log(`  ${'slot arrays'.padEnd(12)} ${arrayBytes} (JS's typed arrays per TCP slot, native-conn.ts)`);
    const live = Number(per('heap')) + Number(per('native')) + slotBytes + arrayBytes;
    console.log(`  ${'total live'.padEnd(12)} ${live.toFixed(1)} (heap + native + slot tables + slot arrays)`);
    console.log(`absolute before: rss ${(before.rss / 2 ** 20).toFixed(1)} MiB, heap ${(before.heap / 2 ** 20).toFixed(1)} MiB, native ${before.native}`);
    if (process.env.SNAPSHOT) v8.writeHeapSnapshot(process.env.SNAPSHOT);
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill();   // by its own handle: only what this started
    await sleep(300);
    pen.shutdown();
    setTimeout(() => process.exit(0), 300).unref();
  }
}

if (child !== 'backend' && child !== 'client') await main();
