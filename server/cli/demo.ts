// `npm run demo`: our pen on 127.0.0.1 in front of two tiny HTTP backends, with the admin API and
// the dashboard, and a trickle of traffic from a few loopback addresses so the charts move and the
// client table fills. It runs the real command line (bin/pen.js), as a user would. Ctrl-C stops it.
//
//   npm run demo [-- --port 8000 --admin 8080 --no-traffic --no-open]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOST = '127.0.0.1';
/** loopback addresses the traffic comes from, so pen sees several clients */
const CLIENTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

interface Backend {
  name: string;
  port: number;
  server: http.Server;
}

/** A backend that answers with its name and a few KiB of filler, after a short think. */
async function startBackend(name: string): Promise<Backend> {
  const server = http.createServer((req, res) => {
    const size = Math.floor(512 + Math.random() * 48_000);
    const delay = Math.floor(20 + Math.random() * 400);
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Backend': name });
      res.end(`hello from backend ${name}\n${'.'.repeat(size)}\n`);
    }, delay);
    req.resume();
  });
  server.keepAliveTimeout = 1000;
  server.listen(0, HOST);
  await once(server, 'listening');
  return { name, port: (server.address() as net.AddressInfo).port, server };
}

/** `preferred` when it is free on 127.0.0.1, otherwise any free port. */
async function pickPort(preferred: number | null): Promise<number> {
  const tryListen = (port: number) => new Promise<number | null>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(null));
    s.listen(port, HOST, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  if (preferred !== null) {
    const p = await tryListen(preferred);
    if (p !== null) return p;
  }
  const p = await tryListen(0);
  if (p === null) throw new Error('no free port on 127.0.0.1');
  return p;
}

function request(port: number, localAddress: string, path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path, localAddress, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
    req.on('timeout', () => { req.destroy(); resolve(); });
  });
}

/** A few requests a second, in gentle waves, from a handful of client addresses. */
function startTraffic(port: number): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight = 0;
  const t0 = Date.now();
  const tick = () => {
    if (stopped) return;
    const wave = 1 + Math.sin((Date.now() - t0) / 9000);
    const burst = Math.round(1 + wave * 3 + Math.random() * 2);
    for (let i = 0; i < burst && inFlight < 40; i++) {
      const client = CLIENTS[Math.floor(Math.random() * CLIENTS.length)]!; // random() < 1: an index below length
      inFlight += 1;
      void request(port, client, `/demo/${Math.floor(Math.random() * 1000)}`).finally(() => { inFlight -= 1; });
    }
    timer = setTimeout(tick, 250 + Math.random() * 250);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

async function waitHttp(url: string, child: ChildProcess, stderr: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pen exited with code ${child.exitCode}\n${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(url, { timeout: 1000 }, (res) => { res.resume(); resolve((res.statusCode ?? 500) < 500); });
      req.on('error', () => resolve(false));
      req.on('timeout', () => { req.destroy(); resolve(false); });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the admin server did not answer at ${url} in time\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  try {
    const c = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    c.on('error', () => {});
    c.unref();
  } catch {
    /* no browser here: the URL is printed above */
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      admin: { type: 'string' },
      'no-traffic': { type: 'boolean', default: false },
      'no-open': { type: 'boolean', default: false },
    },
  });
  const [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  const listenPort = await pickPort(values.port ? Number(values.port) : 8000);
  const adminPort = await pickPort(values.admin ? Number(values.admin) : 8080);
  // pen refuses a control port when running as root without -u; the REST /penctl route still works
  const asRoot = process.getuid?.() === 0;
  const controlPort = asRoot ? null : await pickPort(null);

  // a -F file, so the dashboard's "Write config" has somewhere to write
  const dir = mkdtempSync(join(tmpdir(), 'pen-demo-'));
  const configFile = join(dir, 'pen.cfg');
  writeFileSync(configFile, '# pen demo configuration; "write" replaces this file\n');

  const args = [
    `${ROOT}bin/pen.js`, '-f', '-F', configFile,
    '--admin', `${HOST}:${adminPort}`,
    ...(controlPort !== null ? ['-C', `${HOST}:${controlPort}`] : []),
    `${HOST}:${listenPort}`, `${HOST}:${a.port}`, `${HOST}:${b.port}`,
  ];
  const pen = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  let err = '';
  pen.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    process.stderr.write(d);
  });

  let stopTraffic: () => void = () => {};
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    stopTraffic();
    if (pen.exitCode === null && pen.signalCode === null) {
      pen.kill('SIGTERM');
      const killer = setTimeout(() => pen.kill('SIGKILL'), 3000);
      await once(pen, 'exit').catch(() => {});
      clearTimeout(killer);
    }
    for (const backend of [a, b]) {
      backend.server.closeAllConnections();
      backend.server.close();
    }
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  pen.on('exit', (code, signal) => {
    if (stopping) return;
    // Ctrl-C in a terminal signals the whole process group, pen included
    if (signal === 'SIGINT' || signal === 'SIGTERM' || code === 0) {
      void stop(0);
      return;
    }
    console.error(`\npen stopped unexpectedly (${signal ?? `exit code ${code}`})`);
    void stop(1);
  });

  const dashboard = `http://${HOST}:${adminPort}/`;
  try {
    await waitHttp(`${dashboard}whoami`, pen, () => err);
  } catch (e) {
    console.error((e as Error).message);
    await stop(1);
    return;
  }
  if (!values['no-traffic']) stopTraffic = startTraffic(listenPort);

  const line = (k: string, v: string) => console.log(`  ${k.padEnd(11)}${v}`);
  console.log('\npen demo: our pen on 127.0.0.1 in front of two HTTP backends\n');
  line('dashboard', dashboard);
  line('balancer', `http://${HOST}:${listenPort}/      curl -s http://${HOST}:${listenPort}/ | head -1`);
  line('backends', `a ${HOST}:${a.port}   b ${HOST}:${b.port}`);
  line('REST', `curl -s ${dashboard}stats     curl -s -X PUT -H 'Content-Type: application/json' -d '{"seconds":30}' ${dashboard}servers/0/blacklist`);
  line('penctl', controlPort !== null
    ? `node bin/penctl.js ${HOST}:${controlPort} servers`
    : `curl -s --data-binary servers -H 'Content-Type: text/plain' ${dashboard}penctl   (no control port as root)`);
  line('API docs', `${dashboard}docs`);
  line('config', `${configFile}   (the dashboard's "Write config" saves here)`);
  console.log(`\n${values['no-traffic'] ? 'No background traffic.' : 'A little background traffic is running so the charts move.'} Ctrl-C stops everything.\n`);
  if (!values['no-open'] && process.stdout.isTTY) openBrowser(dashboard);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
