// Steady client traffic for the failover test, run inside the client's namespace:
//   node --import tsx ha-client.ts VIP PORT FIRST_IP COUNT WORKERS
// Clients FIRST_IP … FIRST_IP+COUNT-1 (addresses on this host) come in a random order (so that a
// balancer without their history, assigning round robin, would not happen to rebuild the same
// mapping); WORKERS requests are in flight at a time, each a new connection. One JSON line per request on stdout:
//   {"ip":…,"start":ms,"end":ms,"ok":true,"body":"be1"} or {…,"ok":false,"error":"ECONNREFUSED"}
// It runs until it is signalled.
import http from 'node:http';

const [vip, port, first = '', count, workers] = process.argv.slice(2);
const [a, b, c, d] = first.split('.').map(Number);
if (d === undefined) throw new Error(`ha-client: FIRST_IP '${first}' is not an IPv4 address`);
const ips = Array.from({ length: Number(count) }, (_, i) => `${a}.${b}.${c}.${d + i}`);
/** a connect that takes longer than this counts as failed (the address is somewhere unreachable) */
const TIMEOUT_MS = 250;
/** pause between one worker's requests, so the test does not take the machine's CPUs */
const PAUSE_MS = 5;

function once(ip: string): Promise<void> {
  const start = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const report = (r: { ok: boolean; body?: string; error?: string }) => {
      if (done) return;
      done = true;
      process.stdout.write(`${JSON.stringify({ ip, start, end: Date.now(), ...r })}\n`);
      resolve();
    };
    const req = http.get({ host: vip, port: Number(port), path: '/', localAddress: ip, agent: false, timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => report(res.statusCode === 200 ? { ok: true, body: body.trim() } : { ok: false, error: `HTTP ${res.statusCode}` }));
      res.on('error', (e: NodeJS.ErrnoException) => report({ ok: false, error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => report({ ok: false, error: e.code ?? e.message }));
    req.on('timeout', () => { req.destroy(); report({ ok: false, error: 'TIMEOUT' }); });
  });
}

async function worker(): Promise<void> {
  for (;;) {
    await once(ips[Math.floor(Math.random() * ips.length)]!); // random() < 1: an index below length
    await new Promise((r) => setTimeout(r, PAUSE_MS));
  }
}

for (let i = 0; i < Number(workers); i++) void worker();
process.on('SIGTERM', () => process.exit(0));
