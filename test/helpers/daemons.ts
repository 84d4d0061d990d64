// Real backend daemons for the health-check tests: nginx (TCP/HTTP) and dnsmasq (UDP DNS), each
// on a loopback port the test picks, stoppable and restartable on the same port, stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { freePort, sleep } from './backends.ts';
import { udpPortBound } from './dns.ts';

export interface Daemon {
  port: number;
  /** start (again) on the same port; resolves once it listens */
  start(): Promise<void>;
  /** stop by pid; resolves once it has exited */
  stop(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

function daemon(port: number, spawnIt: () => ChildProcess, ready: () => Promise<boolean>): Daemon {
  let child: ChildProcess | null = null;
  let log = '';
  return {
    port,
    async start() {
      const c = spawnIt();
      child = c;
      c.stderr?.on('data', (d) => { log += d; });
      for (let i = 0; i < 200; i++) {
        if (c.exitCode !== null) throw new Error(`daemon exited ${c.exitCode}: ${log}`);
        if (await ready()) return;
        await sleep(25);
      }
      throw new Error(`daemon did not start: ${log}`);
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * nginx answering every path with `name`, and /healthz with `healthz` (a status code). The
 * process is killed outright, so it stops listening at once, as a crashed server does.
 */
export function nginx(dir: string, port: number, name: string, healthz = 200): Daemon {
  mkdirSync(`${dir}/tmp`, { recursive: true });
  const conf = `${dir}/nginx-${port}.conf`;
  writeFileSync(conf, `
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx-${port}.pid;
error_log stderr error;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /healthz { return ${healthz} "healthz\\n"; }
    location / { return 200 "${name}"; }
  }
}
`);
  return daemon(port, () => spawn('/usr/sbin/nginx', ['-p', dir, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] }),
    () => canConnect(port));
}

/** dnsmasq's log file for the one on `port`: with `logQueries`, a `query[A] NAME from ADDR` line per query. */
export const dnsmasqLog = (dir: string, port: number) => `${dir}/dnsmasq-${port}.log`;

/** dnsmasq answering A queries for example.com with `answer`. */
export function dnsmasq(dir: string, port: number, answer: string, logQueries = false): Daemon {
  return daemon(port, () => spawn('/usr/sbin/dnsmasq', [
    ...(logQueries ? ['--log-queries'] : []),
    '--keep-in-foreground', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', `--address=/example.com/${answer}`, '--conf-file=/dev/null',
    `--pid-file=${dir}/dnsmasq-${port}.pid`, '--user=root', `--log-facility=${dnsmasqLog(dir, port)}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] }), async () => udpPortBound(port));
}

/**
 * dnsmasq on a port free for UDP and TCP alike (it binds both), below the ephemeral range where
 * the other tests' outgoing connections cannot take its TCP half. Something may still take the
 * port between the pick and dnsmasq's bind, so three tries.
 */
export async function startDnsmasq(dir: string, answer: string, logQueries = false): Promise<Daemon> {
  for (let attempt = 1; ; attempt++) {
    let port = await freePort();
    for (let i = 0; i < 20 && udpPortBound(port); i++) port = await freePort();
    const d = dnsmasq(dir, port, answer, logQueries);
    try {
      await d.start();
      return d;
    } catch (err) {
      await d.stop();
      if (attempt === 3) throw err;
    }
  }
}
