// Two pens and keepalived, end to end on one machine (docs/high-availability.md). The test builds
// its own hosts as network namespaces on one bridge (a client, two balancer hosts, two nginx
// backends), with addresses from 198.18.0.0/24 that exist only inside them, and drives steady
// client traffic at the virtual address while the active pen is killed, its link taken down, and
// it is stopped cleanly. Needs root, iproute2, keepalived, nginx and curl; skips saying which is missing.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { Lab, labUnavailable, waitFor, which, type LabProcess } from '../helpers/netns.ts';
import { ROOT, PEN } from '../helpers/pen.ts';
import { sleep } from '../helpers/backends.ts';
import type { Snapshot } from '../../shared/snapshot.ts';

const NET = '198.18.0';
const VIP = `${NET}.100`;
const LB = { lb1: `${NET}.1`, lb2: `${NET}.2` } as const;
type Balancer = keyof typeof LB;
const BACKENDS = { be1: `${NET}.21`, be2: `${NET}.22` } as const;
const CLIENT_FIRST = 128;
const CLIENTS = 100;
const ADMIN_PORT = 9000;
const TOKEN = 'ha-test-token-0123456789abcdef';
/** seconds a SIGTERMed pen keeps forwarding: longer than VRRP needs to move the address */
const DRAIN = 2;

const skip = labUnavailable(['keepalived', 'nginx', 'curl']);

interface Request { ip: string; start: number; end: number; ok: boolean; body?: string; error?: string }

function nginxConf(dir: string, name: string, address: string): string {
  const conf = `${dir}/nginx-${name}.conf`;
  writeFileSync(conf, `
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx-${name}.pid;
error_log ${dir}/nginx-${name}-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp-${name}/body;
  proxy_temp_path ${dir}/tmp-${name}/proxy;
  fastcgi_temp_path ${dir}/tmp-${name}/fastcgi;
  uwsgi_temp_path ${dir}/tmp-${name}/uwsgi;
  scgi_temp_path ${dir}/tmp-${name}/scgi;
  server {
    listen ${address}:80;
    location / { return 200 "${name}\\n"; }
  }
}
`);
  return conf;
}

/** pen's command line on a balancer host; keepalived's track_process matches its first words. */
function penArgs(dir: string, host: Balancer): string[] {
  return [
    PEN, '-f', '-p', `${dir}/pen-${host}.pid`,
    '--admin', `0.0.0.0:${ADMIN_PORT}`, '--admin-token-file', `${dir}/tokens`, '--admin-host', `${LB[host]}:${ADMIN_PORT}`,
    '--health-file', `${dir}/health-${host}`, '--drain', String(DRAIN),
    // each pen follows the other; the one keepalived makes master ignores what it is sent
    '--peer', `http://${host === 'lb1' ? LB.lb2 : LB.lb1}:${ADMIN_PORT}`, '--peer-token-file', `${dir}/tokens`,
    '0.0.0.0:80', `${BACKENDS.be1}:80`, `${BACKENDS.be2}:80`,
  ];
}

/** The keepalived.conf of docs/high-availability.md, with this lab's names and paths. */
function keepalivedConf(dir: string, host: Balancer): string {
  const me = LB[host];
  const peer = host === 'lb1' ? LB.lb2 : LB.lb1;
  const conf = `${dir}/keepalived-${host}.conf`;
  writeFileSync(conf, `
global_defs {
  script_user root
  enable_script_security
  vrrp_garp_master_delay 1
}
vrrp_track_process pen {
  process "${process.execPath}" "${PEN}" "-f" "-p" "${dir}/pen-${host}.pid"
  param_match partial
  quorum 1
  delay 0.001
}
track_file pen_stopping {
  file "${dir}/health-${host}"
  weight 0
}
vrrp_script pen_healthz {
  script "${which('curl')} -fsS -o /dev/null -m 0.8 http://127.0.0.1:${ADMIN_PORT}/healthz"
  interval 1
  fall 2
  rise 1
}
vrrp_instance pen {
  state BACKUP
  nopreempt
  interface eth0
  virtual_router_id 51
  priority ${host === 'lb1' ? 254 : 253}
  version 3
  advert_int 0.1
  unicast_src_ip ${me}
  unicast_peer { ${peer} }
  virtual_ipaddress { ${VIP}/24 dev eth0 }
  track_process { pen }
  track_file { pen_stopping }
  track_script { pen_healthz }
  notify ${dir}/role.sh
}
`);
  return conf;
}

/** keepalived's notify script: tell pen its role (docs/high-availability.md). */
function roleScript(dir: string): void {
  writeFileSync(`${dir}/role.sh`, `#!/bin/sh
role=$(echo "$3" | tr 'A-Z' 'a-z')
exec ${which('curl')} -fsS -m 2 -o /dev/null -X PUT -H 'authorization: Bearer ${TOKEN}' \\
  -H 'content-type: application/json' -d "{\\"role\\":\\"$role\\"}" http://127.0.0.1:${ADMIN_PORT}/role
`, { mode: 0o700 });
}

/** Each client's server (the backend's name) in its last answer before t0, and in its first answer after `from`. */
function stickiness(requests: readonly Request[], t0: number, from: number): { seen: number; same: number } {
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  for (const r of requests) {
    if (!r.ok) continue;
    if (r.end < t0) before.set(r.ip, r.body ?? '');
    else if (r.start >= from && !after.has(r.ip)) after.set(r.ip, r.body ?? '');
  }
  let same = 0;
  let seen = 0;
  for (const [ip, server] of before) {
    if (!after.has(ip)) continue;
    seen += 1;
    if (after.get(ip) === server) same += 1;
  }
  return { seen, same };
}

/**
 * What happened to client traffic after `t0`: the requests that failed (including those already in
 * flight at t0), and `ms`, when new connections succeeded again: the end of the first successful
 * request started after the last failed one started.
 */
function outage(requests: readonly Request[], t0: number, until: number): {
  ms: number; failed: number; inFlight: number; errors: Record<string, number>; recoveredAt: number;
} {
  const after = requests.filter((r) => r.end >= t0 && r.start <= until);
  const failures = after.filter((r) => !r.ok);
  const lastFailStart = Math.max(t0, ...failures.map((r) => r.start));
  const recovered = after.filter((r) => r.ok && r.start > lastFailStart).sort((a, b) => a.end - b.end)[0];
  const errors: Record<string, number> = {};
  for (const f of failures) errors[f.error ?? '?'] = (errors[f.error ?? '?'] ?? 0) + 1;
  return {
    ms: recovered ? recovered.end - t0 : Infinity, failed: failures.length,
    inFlight: failures.filter((r) => r.start < t0).length, errors,
    recoveredAt: Math.max(t0, ...failures.map((r) => r.end)),
  };
}

test('two pens and keepalived: the virtual address moves on SIGKILL, link loss and SIGTERM, and does not flap back', { skip: skip ?? false, timeout: 110_000 }, async () => {
  const dir = mkdtempSync(`${os.tmpdir()}/pen-ha-`);
  const lab = new Lab(`penha${process.pid}`);
  const pens = new Map<Balancer, LabProcess>();
  const requests: Request[] = [];
  try {
    lab.createSwitch();
    const clientIps = Array.from({ length: CLIENTS }, (_, i) => `${NET}.${CLIENT_FIRST + i}/24`);
    lab.addHost('cl', [`${NET}.10/24`, ...clientIps]);
    for (const [h, a] of Object.entries(LB)) lab.addHost(h, [`${a}/24`]);
    for (const [h, a] of Object.entries(BACKENDS)) lab.addHost(h, [`${a}/24`]);
    writeFileSync(`${dir}/tokens`, `admin ${TOKEN}\n`);
    roleScript(dir);
    chmodSync(dir, 0o700);

    for (const [name, address] of Object.entries(BACKENDS)) {
      mkdirSync(`${dir}/tmp-${name}`);
      lab.start(`nginx ${name}`, name, 'nginx', ['-p', dir, '-c', nginxConf(dir, name, address)]);
    }
    const startPen = async (host: Balancer) => {
      const p = lab.start(`pen ${host}`, host, process.execPath, penArgs(dir, host), { cwd: ROOT });
      pens.set(host, p);
      const up = await waitFor(() => lab.probe(host, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${ADMIN_PORT}/healthz`]) === '200', 15_000, 100);
      assert.ok(up, `pen on ${host} became healthy: ${p.output()}`);
    };
    const startKeepalived = (host: Balancer) => {
      const pid = `${dir}/keepalived-${host}.pid`;
      const vrrpPid = `${dir}/keepalived-${host}-vrrp.pid`;
      lab.adoptPidFile(pid);
      lab.adoptPidFile(vrrpPid);
      // in the machine's namespace with -s: keepalived's process tracking (the kernel's process
      // connector) only works from there; VRRP itself runs inside the host's namespace
      return lab.start(`keepalived ${host}`, null, 'keepalived', [
        '-n', '-l', '-D', '-G', '-P', '-f', keepalivedConf(dir, host), '-s', lab.ns(host), '-p', pid, '-r', vrrpPid,
      ]);
    };
    /** a pen's snapshot, read from inside its host */
    const snapshot = (host: Balancer): Snapshot | null => {
      const out = lab.probe(host, 'curl', ['-fsS', '-m', '2', '-H', `authorization: Bearer ${TOKEN}`, `http://127.0.0.1:${ADMIN_PORT}/stats`]);
      return out === null ? null : (JSON.parse(out) as Snapshot);
    };
    const holder = (): Balancer | null => (lab.hasAddress('lb1', VIP) ? 'lb1' : lab.hasAddress('lb2', VIP) ? 'lb2' : null);

    await startPen('lb1');
    await startPen('lb2');
    const ka1 = startKeepalived('lb1');
    const keepaliveds = [ka1];
    assert.ok(await waitFor(() => holder() === 'lb1', 10_000), `lb1 takes the address first: ${ka1.output()}`);
    keepaliveds.push(startKeepalived('lb2'));
    /** when the address does not move: what each keepalived last said, and the target's /healthz */
    const why = (to: Balancer) => `${to} /healthz: ${lab.probe(to, 'curl', ['-s', '-m', '1', `http://127.0.0.1:${ADMIN_PORT}/healthz`])}\n${
      keepaliveds.map((k) => `${k.name}: ${k.output().split('\n').slice(-15).join('\n')}`).join('\n')}`;
    await sleep(500);
    assert.equal(holder(), 'lb1', 'the second keepalived does not take the address');

    lab.start('client', 'cl', process.execPath, ['--import', 'tsx', `${ROOT}test/helpers/ha-client.ts`, VIP, '80', `${NET}.${CLIENT_FIRST}`, String(CLIENTS), '4'], {
      cwd: ROOT,
      onLine: (line) => { if (line.startsWith('{')) requests.push(JSON.parse(line) as Request); },
    });
    assert.ok(await waitFor(() => new Set(requests.filter((r) => r.ok).map((r) => r.ip)).size === CLIENTS, 20_000, 50), 'every client got an answer through the first pen');
    // steady traffic for a while: the standby learns a client up to 200 ms after its first visit
    await sleep(1000);
    const warm = outage(requests, 0, Date.now());
    assert.equal(warm.failed, 0, `no failure before the first failover: ${JSON.stringify(warm.errors)}`);

    /** Do `action` to the active host and measure until the other one holds the address and traffic flows again. */
    const failover = async (what: string, from: Balancer, action: () => Promise<void> | void, boundMs: number) => {
      const to: Balancer = from === 'lb1' ? 'lb2' : 'lb1';
      assert.equal(holder(), from, `${from} is active before: ${what}`);
      const t0 = Date.now();
      await action();
      assert.ok(await waitFor(() => holder() === to, 10_000, 10), `${what}: the address moves to ${to}\n${why(to)}`);
      const moved = Date.now() - t0;
      await sleep(1500); // traffic after the move, to see it flow
      const o = outage(requests, t0, Date.now());
      assert.ok(await waitFor(() => snapshot(to)?.peer?.role === 'master', 5000, 100), `${what}: keepalived told the pen on ${to} it is master`);
      const st = stickiness(requests, t0, o.recoveredAt);
      const share = st.seen === 0 ? 0 : st.same / st.seen;
      console.log(`# ${what}: address on ${to} after ${moved} ms; new connections succeed after ${o.ms} ms; ${o.failed} failed requests ${JSON.stringify(o.errors)} (${o.inFlight} of them already in flight); ${st.same}/${st.seen} returning clients (${(100 * share).toFixed(1)}%) on the same server`);
      assert.ok(o.ms <= boundMs, `${what}: clients are served again within ${boundMs} ms (took ${o.ms} ms)`);
      assert.ok(st.seen >= CLIENTS * 0.9, `${what}: most clients came back after the failover (${st.seen})`);
      assert.ok(share >= 0.99, `${what}: returning clients go back to their server (${st.same}/${st.seen})`);
      return { ...o, moved };
    };
    /** Bring `host` back and check that it stays standby while traffic keeps flowing. */
    const comesBack = async (host: Balancer, restore: () => Promise<void> | void) => {
      const active = holder();
      const t0 = Date.now();
      await restore();
      await sleep(2500); // longer than keepalived needs to see the process, file and script again
      assert.equal(holder(), active, `${host} came back and did not take the address back (nopreempt)`);
      const o = outage(requests, t0, Date.now());
      assert.equal(o.failed, 0, `no client failed while ${host} came back: ${JSON.stringify(o.errors)}`);
      // the standby follows the active again: the next failover keeps the clients' servers
      const synced = await waitFor(() => {
        const s = snapshot(host);
        return s?.peer?.connected === true && s.clients.length >= CLIENTS;
      }, 5000, 100);
      assert.ok(synced, `${host} follows the active again: ${JSON.stringify(snapshot(host)?.peer)} ${snapshot(host)?.clients.length} clients`);
      // and it can take over: a standby whose /healthz fails stays faulted in keepalived (a link
      // that went down under traffic must not leave its servers blacklisted: local-route.test.ts)
      const healthz = () => lab.probe(host, 'curl', ['-s', '-m', '1', `http://127.0.0.1:${ADMIN_PORT}/healthz`]);
      assert.ok(await waitFor(() => healthz() === '{"ok":true}', 3000, 100), `${host} is healthy again\n${why(host)}`);
    };

    await failover('SIGKILL of the active pen', 'lb1', () => { pens.get('lb1')!.child.kill('SIGKILL'); }, 1000);
    await comesBack('lb1', () => startPen('lb1'));

    await failover("the active host's link down", 'lb2', () => { lab.ip('lb2', 'link', 'set', 'eth0', 'down'); }, 4000);
    await comesBack('lb2', () => { lab.ip('lb2', 'link', 'set', 'eth0', 'up'); });

    const term = await failover('SIGTERM of the active pen', 'lb1', () => { pens.get('lb1')!.child.kill('SIGTERM'); }, 1000);
    assert.equal(term.errors.ECONNREFUSED ?? 0, 0, 'a clean stop refuses no connection');
    assert.ok(term.moved <= 1000, `a clean stop hands the address over within 1 s (took ${term.moved} ms)`);
    const lb1 = pens.get('lb1')!;
    assert.ok(await waitFor(() => lb1.child.exitCode !== null || lb1.child.signalCode !== null, (DRAIN + 5) * 1000, 50), 'the stopped pen exits after its drain');
    await comesBack('lb1', () => startPen('lb1'));
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
