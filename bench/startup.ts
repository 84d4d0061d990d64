// `npm run bench:startup`: what our pen costs before it does any work. For an idle `pen` with and
// without --admin: time from exec to an accepting listener, resident memory and threads once it
// has settled (with --admin, listening means both ports accept); then RSS holding 2000 idle
// connections to nginx (as `npm run bench` measures it).
// `--pen PATH/bin/pen.js` measures another checkout; `--c-pen` adds Debian's pen for reference.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { holdIdle } from './load.ts';
import { HOST, canConnect, cpuMicros, freePort, killAllSync, rssKiB, sleep, start, stopAll, which, type Proc } from './procs.ts';
import { OUR_PEN, startNginx } from './targets.ts';

const { values: opt } = parseArgs({
  options: {
    pen: { type: 'string', default: OUR_PEN },
    rounds: { type: 'string', default: '5' },
    idle: { type: 'string', default: '2000' },
    'c-pen': { type: 'boolean', default: false },
  },
});
const rounds = Math.max(1, Number(opt.rounds));
const idle = Math.max(1, Number(opt.idle));

function threads(pid: number): number {
  return Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Sample { ms: number; cpuMs: number; rssMiB: number; threads: number }

/** Exec the command, poll its ports every 5 ms until both accept, let it settle 2 s, read /proc. */
async function idleSample(cmd: string, args: (port: number, admin: number) => string[]): Promise<Sample> {
  const [port, admin] = [await freePort(), await freePort()];
  const argv = args(port, admin);
  const ports = argv.includes('--admin') ? [port, admin] : [port];
  const t0 = process.hrtime.bigint();
  const proc = start('pen', cmd, argv);
  try {
    const deadline = Date.now() + 15000;
    for (const p of ports) {
      while (!(await canConnect(p))) {
        if (proc.exited() || Date.now() > deadline) throw new Error(`pen did not listen: ${proc.output()}`);
        await sleep(5);
      }
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    // CPU time used to get there: steadier than wall time on a busy machine
    const cpuMs = cpuMicros(proc.pid)! / 1000;
    await sleep(2000);
    return { ms, cpuMs, rssMiB: rssKiB(proc.pid)! / 1024, threads: threads(proc.pid) };
  } finally {
    await proc.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(`${os.tmpdir()}/pen-startup-`);
  try {
    const nginx = await startNginx(dir, null, idle + 500); // as `npm run bench` sizes it
    const backend = `${HOST}:${nginx.port}`;
    const node = (extra: string[]) => (port: number, admin: number) =>
      [opt.pen, '-f', ...extra.map((a) => a.replace('ADMIN', `${HOST}:${admin}`)), `${HOST}:${port}`, backend];
    const kinds: [string, string, (port: number, admin: number) => string[]][] = [
      ['pen-ts', process.execPath, node([])],
      ['pen-ts --admin', process.execPath, node(['--admin', 'ADMIN'])],
    ];
    if (opt['c-pen'] && which('pen')) kinds.push(['pen (C)', which('pen')!, (port) => ['-f', `${HOST}:${port}`, backend]]);
    console.log(`${opt.pen}, ${rounds} rounds, medians`);
    for (const [label, cmd, args] of kinds) {
      const samples: Sample[] = [];
      for (let i = 0; i < rounds; i++) samples.push(await idleSample(cmd, args));
      console.log(`${label.padEnd(16)} exec→listening ${median(samples.map((s) => s.ms)).toFixed(0)} ms (CPU ${median(samples.map((s) => s.cpuMs)).toFixed(0)} ms), idle RSS ${median(samples.map((s) => s.rssMiB)).toFixed(1)} MiB, ${median(samples.map((s) => s.threads))} threads`);
    }
    // 2000 idle connections, with the bench's table sizes
    const held: number[] = [];
    for (let i = 0; i < Math.min(rounds, 3); i++) {
      const port = await freePort();
      const proc: Proc = start('pen', process.execPath, [opt.pen, '-f', '-x', '4000', '-c', '4000', `${HOST}:${port}`, backend]);
      try {
        const deadline = Date.now() + 15000;
        while (!(await canConnect(port))) {
          if (proc.exited() || Date.now() > deadline) throw new Error(`pen did not listen: ${proc.output()}`);
          await sleep(20);
        }
        const r = await holdIdle(proc.pid, port, nginx.port, idle);
        if (r.backendHeld < idle) console.log(`warning: nginx saw only ${r.backendHeld} of ${idle} connections`);
        held.push(r.heldKiB / 1024);
      } finally {
        await proc.stop();
      }
    }
    console.log(`pen-ts holding ${idle} idle connections (-x/-c 4000): RSS ${median(held).toFixed(1)} MiB`);
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.on('exit', killAllSync);
main().catch((e) => { console.error(e); process.exitCode = 1; });
