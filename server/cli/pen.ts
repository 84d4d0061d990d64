// The pen command: argv → settings and start-up commands → daemon → listeners → signals.
import { spawn } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { parseBackend, parseListen, resolveHost } from '../core/address.ts';
import { Balancer } from '../core/balancer.ts';
import { ClientTable } from '../core/clients.ts';
import { debug, debugFlushed, setForeground } from '../core/diag.ts';
import { PenError } from '../core/errors.ts';
import { FileError, readOperatorFileSync, writeOperatorFileSync } from '../core/files.ts';
import { RequestLog } from '../core/requestlog.ts';
import { defaultSettings, type Settings } from '../core/settings.ts';
import { emptyServer, ensureServer, type Server } from '../core/servers.ts';
import type { CommandContext, Runtime } from '../control/context.ts';
import { parseCommandLine, type ParsedArgs } from './args.ts';
import { holdYoungGeneration, releaseYoungGeneration } from './heap.ts';
import { USAGE } from './usage.ts';
import { VERSION } from '../package.ts';
import { dropPrivileges, lookupUser } from './user.ts';
import { HEALTH_SERVING, drainThenStop, writeHealthFile } from './ha.ts';

const DAEMON_ENV = 'PEN_DAEMON_CHILD';
const argv = process.argv.slice(2);
const isDaemonChild = process.env[DAEMON_ENV] === '1';

type Message = { type: 'stdout' | 'stderr'; text: string } | { type: 'ready' } | { type: 'fatal'; message: string };
let relay = isDaemonChild; // a daemon child relays output to its parent until it is ready

function out(text: string): void {
  if (text === '') return;
  if (relay) process.send?.({ type: 'stdout', text } satisfies Message);
  else if (!isDaemonChild) process.stdout.write(text);
}

function err(text: string): void {
  if (relay) process.send?.({ type: 'stderr', text: `${text}\n` } satisfies Message);
  else if (!isDaemonChild) process.stderr.write(`${text}\n`);
}

function fatal(message: string): never {
  if (relay) {
    process.send?.({ type: 'fatal', message } satisfies Message, () => process.exit(1));
    setTimeout(() => process.exit(1), 1000);
    // keep the type checker happy; the process exits once the message is sent
    return undefined as never;
  }
  if (isDaemonChild) {
    debug(message); // pen's error(): to syslog when not in the foreground
    exitWhenFlushed(1);
    return undefined as never;
  }
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * Exit once what pen wrote to stdout, stderr, syslog and the -l file has left the process. Writes
 * to a pipe that is full (journald or a terminal falling behind) wait in Node's queue, and
 * process.exit() would drop them: the last lines before a stop are the ones that matter. Bounded at 2 s.
 */
function exitWhenFlushed(code: number, logClosed: Promise<void> = Promise.resolve()): void {
  const pending = [process.stdout, process.stderr].filter((s) => s.writableLength > 0);
  let left = pending.length + 2;
  const flushed = () => { if (--left === 0) process.exit(code); };
  process.exitCode = code;
  void logClosed.then(flushed); // the -l file's last write (requestlog.ts)
  void debugFlushed().then(flushed); // a daemon's logger pipe (diag.ts)
  for (const s of pending) s.write('', flushed);
  setTimeout(() => process.exit(code), 2000);
}

/** A start-up error as one line, prefixed `pen:` unless it already names pen. */
function fatalError(e: unknown): never {
  const message = (e as Error).message;
  return fatal(message.startsWith('pen') ? message : `pen: ${message}`);
}

/** Without -f: run ourselves again detached; exit 0 once the child is listening, else relay its error. */
function daemonize(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1, 2), ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [DAEMON_ENV]: '1' },
  });
  child.on('message', (m: Message) => {
    if (m.type === 'stdout') process.stdout.write(m.text);
    else if (m.type === 'stderr') process.stderr.write(m.text);
    else if (m.type === 'ready') {
      child.disconnect();
      child.unref();
      process.exit(0);
    } else if (m.type === 'fatal') {
      process.stderr.write(`${m.message}\n`);
      process.exit(1);
    }
  });
  child.on('exit', (code) => {
    if (code === 0) process.exit(0); // it had nothing to do (usage)
    process.stderr.write(`pen: the daemon exited (${code}) before it was listening\n`);
    process.exit(1);
  });
}

/** Fill a server slot from a `host[:port[:max[:hard[:weight[:prio]]]]]` spec. */
async function applySpec(target: Server, text: string, pen: Balancer): Promise<void> {
  const spec = parseBackend(text, pen.settings.udp ? 'udp' : 'tcp');
  const addr = await resolveHost(spec.host);
  Object.assign(target, {
    family: addr.family, address: addr.address,
    port: addr.family === 'unix' ? 1 : spec.port ?? pen.defaultPort(),
    maxc: spec.maxc, hard: spec.hard, weight: spec.weight, prio: spec.prio,
  });
}

/** The settings the flags that store give (udp, foreground), without running any command: for decisions made early. */
function preview(args: ParsedArgs): Settings {
  const s = defaultSettings();
  for (const step of args.steps) if (step.kind === 'set') step.apply(s);
  return s;
}

async function run(args: ParsedArgs): Promise<void> {
  const pen = new Balancer();
  let shuttingDown = false;
  const closers: (() => unknown)[] = [];
  const shutdown = (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    if (pen.settings.debug >= 1) debug('Quitting');
    const logClosed = pen.requestLog?.close() ?? Promise.resolve();
    pen.shutdown();
    for (const close of closers) {
      try { void close(); } catch { /* closing anyway */ }
    }
    if (pen.settings.pidFile) {
      try { unlinkSync(pen.settings.pidFile); } catch { /* already gone */ }
    }
    exitWhenFlushed(code, logClosed);
  };
  const runtime: Runtime = { exit: () => setImmediate(() => shutdown(0)), argv, stdout: out };
  const ctx: CommandContext = { pen, runtime, origin: 'cli' };
  if (args.listen !== null) pen.listenSpec = parseListen(args.listen, preview(args).udp ? 'udp' : 'tcp');
  if (args.threads > 1) (await import('../core/native.ts')).setNativeThreads(args.threads);   // before any listener

  // 1. options and -o/-O commands, left to right
  if (args.steps.length > 0) await (await import('./steps.ts')).runSteps(ctx, args.steps, { out, err });
  setForeground(pen.settings.foreground);
  // -c and -x size the tables exactly at start-up (later they can only grow); -x is the
  // connection table's size as it stands (its slots are made when first used)
  if (pen.clients.size !== pen.settings.clientsMax) pen.clients = new ClientTable(pen.settings.clientsMax);

  // 2. the -F file
  if (pen.settings.configFile) {
    const { runConfigFile } = await import('../control/registry.ts');
    out(await runConfigFile(ctx, pen.settings.configFile));
  }

  // 3. nothing to listen on: usage
  if (args.listen === null && pen.listener === null) {
    out(USAGE);
    process.exit(0);
  }
  if (pen.settings.chroot) {
    throw new PenError('PEN_ERR_UNSUPPORTED', `pen: -j ${pen.settings.chroot}: chroot is not available to Node.js programs; run pen in a container or with systemd's RootDirectory= instead`);
  }
  if (pen.settings.user) lookupUser(pen.settings.user); // fail early on an unknown user

  // 4. servers from the command line overwrite the slots of the same index
  for (const [i, text] of args.servers.entries()) await applySpec(ensureServer(pen.servers, i), text, pen);
  if (pen.settings.emergency) await applySpec((pen.servers.emergency ??= emptyServer()), pen.settings.emergency, pen);
  if (pen.settings.abuse) await applySpec((pen.servers.abuse ??= emptyServer()), pen.settings.abuse, pen);
  // a `health` line in -F or -o ran before these servers existed: their checks start now
  pen.health.reconcile();

  // 5. control port (refused as root unless -u is given, as pen does), then the listener
  if (pen.settings.control) {
    if (process.getuid?.() === 0 && !pen.settings.user) {
      debug("Won't open control port running as root; use -u to run as different user");
    } else {
      const { openControlPort } = await import('../control/port.ts');
      const port = await openControlPort({ ...ctx, origin: 'port' }, pen.settings.control);
      closers.push(() => port.close());
    }
  }
  if (pen.listener === null && args.listen !== null) await pen.listen(args.listen);
  if (args.admin !== null) {
    const { startAdmin } = await import('../admin/server.ts');
    const admin = await startAdmin(pen, runtime, {
      address: args.admin, tokenFile: args.adminTokenFile, hosts: args.adminHosts, cors: args.adminCors,
      fileRoot: args.adminFileRoot, streamMax: args.adminStreamMax ?? undefined,
    });
    closers.push(() => admin.close());
  }

  if (args.peer !== null) {
    const { followPeer, peerToken } = await import('../control/peer.ts');
    let token = '';
    if (args.peerTokenFile) {
      try {
        token = peerToken(readOperatorFileSync(args.peerTokenFile, 'tokens').data.toString('utf8'));
      } catch (e) {
        throw new PenError('PEN_ERR_IO', `can't read --peer-token-file ${args.peerTokenFile}: ${e instanceof FileError ? e.reason : (e as Error).message}`);
      }
    }
    const link = followPeer(ctx, args.peer, token);
    closers.push(() => link.close());
  }

  // 6. privileges, log, pid file
  if (pen.settings.user) dropPrivileges(pen.settings.user);
  if (pen.settings.logFile) pen.requestLog = new RequestLog(pen.settings.logFile);
  if (pen.settings.pidFile) {
    try {
      writeOperatorFileSync(pen.settings.pidFile, String(process.pid)); // a FIFO named by -p is refused, not waited on
    } catch (e) {
      throw new PenError('PEN_ERR_IO', `Can't create pidfile ${pen.settings.pidFile}: ${e instanceof FileError ? e.reason : (e as Error).message}`);
    }
  }

  writeHealthFile(args.healthFile, HEALTH_SERVING);

  // 7. signals, last: the tests read SIGHUP's handler as the end of start-up (test/helpers/listening.ts)
  const stop = () => drainThenStop(pen, { seconds: args.drain, healthFile: args.healthFile }, () => shutdown(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGPIPE', () => {});
  process.on('SIGUSR2', () => {});
  process.on('SIGHUP', () => {
    void (async () => {
      try {
        pen.requestLog?.reopen();
      } catch (e) {
        fatal((e as Error).message);
      }
      if (pen.settings.configFile) {
        const { runConfigFile } = await import('../control/registry.ts');
        out(await runConfigFile({ ...ctx, origin: 'file' }, pen.settings.configFile));
      }
    })().catch((e) => debug(`SIGHUP: ${(e as Error).message}`));
  });
  process.on('SIGUSR1', () => {
    void (async () => {
      if (pen.settings.webStats) {
        const { writeWebStats } = await import('../stats/html.ts');
        writeWebStats(pen);
      } else {
        const { renderUsr1Text } = await import('../stats/text.ts');
        debug(renderUsr1Text(pen).replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: /, '').replace(/\n$/, ''));
      }
    })().catch((e) => debug(`SIGUSR1: ${(e as Error).message}`));
  });

  if (pen.settings.debug >= 1) debug(`pen-ts ${VERSION} starting`);
  if (isDaemonChild) {
    process.send?.({ type: 'ready' } satisfies Message);
    relay = false;
    process.disconnect?.();
  }
}

async function main(): Promise<void> {
  let args: ParsedArgs;
  try {
    args = parseCommandLine(argv);
  } catch (e) {
    return fatalError(e);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.version) {
    process.stdout.write(`pen-ts ${VERSION}\n`);
    return;
  }
  if (args.windowsOnly) {
    process.stdout.write('Windows only\n');
    return;
  }
  if (!preview(args).foreground && !isDaemonChild) return daemonize();
  holdYoungGeneration();
  try {
    await run(args);
  } catch (e) {
    fatalError(e);
  }
  releaseYoungGeneration();
}

void main();
