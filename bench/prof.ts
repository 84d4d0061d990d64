// Summarise a V8 .cpuprofile (from `node --cpu-prof bin/pen.js ...`): self time per function
// and per file, so a profile under wrk can be read in a terminal.
//   node --import tsx bench/prof.ts PROFILE.cpuprofile [top]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: bench/prof.ts PROFILE.cpuprofile [top]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
}
const total = p.endTime - p.startTime;

const short = (url: string) => url.replace(/^file:\/\/.*?\/(node_modules|server|bench|shared)\//, '$1/').replace(/^node:/, '');
const fnKey = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

function tally(key: (n: Node) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const k = key(byId.get(id)!);
    m.set(k, (m.get(k) ?? 0) + us);
  }
  return [...m].sort((a, b) => b[1] - a[1]);
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
console.log(`profile ${(total / 1e6).toFixed(2)} s, ${p.samples.length} samples\n\nself time by function:`);
for (const [k, us] of tally(fnKey).slice(0, top)) console.log(`${pct(us)}  ${k}`);
console.log('\nself time by file:');
for (const [k, us] of tally((n) => short(n.callFrame.url) || `(${n.callFrame.functionName})`).slice(0, 15)) console.log(`${pct(us)}  ${k}`);
