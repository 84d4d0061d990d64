#!/usr/bin/env node
// A standalone round-robin proxy on the native engine alone (no balancer), with pen's argument
// shape, so that `npm run bench -- --ours bench/native-proxy.mjs` measures the data path by
// itself before it is wired into the balancer:
//   node bench/native-proxy.mjs [-U] [-f] [-x N] [-c N] host:port server:port [server:port ...]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const addon = require(process.env.PEN_NATIVE_ADDON || '../build/Release/pen_native.node');

const args = process.argv.slice(2);
let udp = false, slots = 2048;
const ends = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '-U') udp = true;
  else if (a === '-f' || a === '-r') continue;
  else if (a === '-x') slots = Number(args[++i]);
  else if (a === '-c') i++;
  else ends.push(a);
}
const split = (s) => { const k = s.lastIndexOf(':'); return { address: s.slice(0, k), port: Number(s.slice(k + 1)) }; };
const [listen, ...servers] = ends.map(split);

const free = [];
for (let i = slots - 1; i >= 0; i--) free.push(i);
let rr = 0;
const eng = addon.create({
  slots,
  select() {
    const slot = free.pop();
    if (slot === undefined) return -1;
    rr = (rr + 1) % servers.length;
    return slot * addon.layout.pickSlotMul + rr;
  },
  failed: () => -1,
  onRecords(n) {
    const r = eng.records, w = addon.layout.recWords;
    for (let i = 0; i < n; i++) free.push(r[i * w + 1]);
  },
});
eng.setServers(servers);
if (udp) eng.setTimeouts(0, 0, 30000);
eng.listen(udp ? 'udp' : 'tcp', listen.address, listen.port, 511);
process.on('SIGTERM', () => { eng.destroy(); process.exit(0); });
process.on('SIGINT', () => { eng.destroy(); process.exit(0); });
