// The backends (nginx for TCP, dnsmasq for UDP) and the things measured in front of them:
// the backend direct, Debian's pen, HAProxy (TCP mode, one thread) and our pen.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HOST, freePort, sleep, start, waitTcp, waitUdp, which, type Proc } from './procs.ts';

export const TARGETS = ['direct', 'pen', 'haproxy', 'ours'] as const;
export type TargetKey = (typeof TARGETS)[number];

export const TARGET_LABEL: Record<TargetKey, string> = {
  direct: 'backend direct',
  pen: 'pen (C, Debian)',
  haproxy: 'HAProxy',
  ours: 'pen-ts (ours)',
};

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** bin/pen.js runs the built bundle in dist/ (`npm run bench` builds it first), as installed pens do */
export const OUR_PEN = `${ROOT}bin/pen.js`;

/** The small body for the request-rate tests, and the size of the bulk body. */
export const SMALL_BODY = 'x'.repeat(100) + '\n';
export const BULK_BYTES = 8 * 1024 * 1024;

/** Program → the Debian package that provides it. */
export const PACKAGES: Record<string, string> = {
  nginx: 'nginx-light', dnsmasq: 'dnsmasq-base', wrk: 'wrk', dnsperf: 'dnsperf',
  pen: 'pen', haproxy: 'haproxy', taskset: 'util-linux',
};

export interface Running {
  port: number;
  /** the process whose memory counts (null for the backend direct) */
  proc: Proc | null;
  /** every process of the target (more than one with --engines), whose CPU times add up */
  procs: Proc[];
}

/** bench-only knobs for pen and ours: extra arguments for ours, and N copies on one port */
export interface TargetExtra {
  oursArgs?: string[];
  /** copies of the proxy sharing the port through SO_REUSEPORT (bench/reuseport.c preloaded) */
  engines?: number;
  preload?: string;
}

// ---- backends ----

export async function startNginx(
  dir: string, cpu: string | null, maxConns: number,
): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const www = `${dir}/www`;
  mkdirSync(www, { recursive: true });
  mkdirSync(`${dir}/tmp`, { recursive: true });
  writeFileSync(`${www}/index.html`, SMALL_BODY);
  writeFileSync(`${www}/bulk`, Buffer.alloc(BULK_BYTES, 'b'));
  const conf = `${dir}/nginx.conf`;
  writeFileSync(conf, `
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
worker_rlimit_nofile ${maxConns * 2 + 100};
events { worker_connections ${maxConns + 100}; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_header_timeout 300s;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen ${HOST}:${port} backlog=4096;
    root ${www};
    location = /nginx_status { stub_status; }
  }
}
`);
  const proc = start('nginx', which('nginx') ?? 'nginx', ['-p', dir, '-c', conf], cpu);
  await waitTcp(proc, port);
  return { port, proc };
}

export async function startDnsmasq(dir: string, cpu: string | null): Promise<{ port: number; proc: Proc }> {
  const port = await freePort();
  const proc = start('dnsmasq', which('dnsmasq') ?? 'dnsmasq', [
    '--keep-in-foreground', `--port=${port}`, `--listen-address=${HOST}`, '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--address=/example.com/1.2.3.4', '--conf-file=/dev/null',
    `--pid-file=${dir}/dnsmasq.pid`, '--user=root', '--cache-size=1000', `--log-facility=${dir}/dnsmasq.log`,
  ], cpu);
  await waitUdp(proc, port);
  return { port, proc };
}

// ---- proxies ----

/** Start a proxy `key` in front of backend port `backend`; TCP unless `udp`. */
export async function startTarget(
  key: TargetKey, backend: number, udp: boolean, dir: string, cpu: string | null,
  ourPen = OUR_PEN, slots = 4000, ourHealth = '', extra: TargetExtra = {},
): Promise<Running> {
  if (key === 'direct') return { port: backend, proc: null, procs: [] };
  const port = await freePort();
  const copies = key === 'haproxy' || udp ? 1 : Math.max(1, extra.engines ?? 1);
  const procs: Proc[] = [];
  for (let i = 0; i < copies; i++) {
    const env = copies > 1 && extra.preload ? { LD_PRELOAD: extra.preload } : undefined;
    const proc = startOne(key, port, backend, udp, dir, cpu, ourPen, slots, ourHealth, extra.oursArgs ?? [], env);
    procs.push(proc);
    if (udp) await waitUdp(proc, port);
    else await waitTcp(proc, port);
    if (i > 0) {   // the port already answered through copy 0: give this one time to bind, then check it
      await sleep(500);
      if (proc.exited()) throw new Error(`${proc.name} copy ${i} exited: ${proc.output().trim().slice(0, 500)}`);
    }
  }
  return { port, proc: procs[0]!, procs };
}

function startOne(
  key: Exclude<TargetKey, 'direct'>, port: number, backend: number, udp: boolean, dir: string, cpu: string | null,
  ourPen: string, slots: number, ourHealth: string, oursArgs: string[], env?: Record<string, string>,
): Proc {
  const listen = `${HOST}:${port}`;
  const server = `${HOST}:${backend}`;
  let proc: Proc;
  if (key === 'pen') {
    proc = start('pen', which('pen') ?? 'pen', [...(udp ? ['-U'] : []), '-f', '-x', `${slots}`, '-c', `${slots}`, listen, server], cpu, env);
  } else if (key === 'ours') {
    // with a check, a -F file names the server too: checks only start for servers set by a command
    const cfg = `${dir}/ours-${port}.cfg`;
    if (ourHealth !== '') writeFileSync(cfg, `server 0 address ${HOST} port ${backend}\nhealth ${ourHealth}\n`);
    proc = start('pen-ts', process.execPath, [
      ourPen, ...(ourHealth === '' ? [] : ['-F', cfg]), ...(udp ? ['-U'] : []), ...oursArgs,
      '-f', '-x', `${slots}`, '-c', `${slots}`, listen, server,
    ], cpu, env);
  } else {
    if (udp) throw new Error('HAProxy has no UDP proxying');
    const conf = `${dir}/haproxy-${port}.cfg`;
    writeFileSync(conf, `
global
  nbthread 1
  maxconn 5000
defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend bench
  bind ${listen}
  default_backend nginx
backend nginx
  server s1 ${server}
`);
    proc = start('haproxy', which('haproxy') ?? 'haproxy', ['-db', '-f', conf], cpu);
  }
  return proc;
}
