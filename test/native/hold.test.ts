// Holding Node's loop (native/hold.c): between batches that run no JavaScript, the engine waits
// in its own epoll fd with libuv's inside it. Measured with peers in another process (python), so
// their traffic never wakes libuv: held batches, and that the loop still serves timers,
// setImmediate, its own sockets and signals on time while the engine holds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { echoServer, harness, roundTrip, sleep } from './harness.ts';
import type { NativeStats } from '../../server/core/native.ts';

// A backend and a client in one python process: the client sends 16 bytes through the engine,
// the backend echoes them, the client reads them back; ROUNDS times, every wait bounded (5 s).
const PEERS = `
import socket, sys
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(8)
print(srv.getsockname()[1], flush=True)
port, rounds = (int(x) for x in sys.stdin.readline().split())
c = socket.create_connection(("127.0.0.1", port), timeout=5)
b, _ = srv.accept(); b.settimeout(5)
def read(s, n):
    d = b""
    while len(d) < n:
        more = s.recv(n - len(d))
        if not more: raise SystemExit("eof")
        d += more
    return d
for i in range(rounds):
    c.sendall(b"x" * 16)
    b.sendall(read(b, 16))
    read(c, 16)
print("done", flush=True)
`;

interface Peers { child: ChildProcess; done: Promise<void> }

/** The peers, their backend registered as the engine's only server, pinging `rounds` times. */
async function pingPong(holdLoop: boolean | undefined, rounds: number) {
  const child = spawn('python3', ['-c', PEERS], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LD_PRELOAD: '' } });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const backend = Number((await lines.next()).value);
  const h = harness([{ address: '127.0.0.1', port: backend }], 16, 1, holdLoop);
  const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 16);
  const before = h.eng.stats();
  child.stdin!.write(`${port} ${rounds}\n`);
  const done: Promise<void> = (async () => {
    const last = await lines.next();
    assert.equal(last.value, 'done', 'the peers finished their rounds');
  })();
  return { h, before, peers: { child, done } as Peers };
}

async function finish(h: ReturnType<typeof harness>, peers: Peers) {
  const exited = peers.child.exitCode === null ? once(peers.child, 'exit') : Promise.resolve();
  const t = setTimeout(() => peers.child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(t);
  await h.waitClosed(1, 10000);
  h.destroy();
}

/** f's promise, or a failure after ms: no wait in this file is unbounded. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

test('a ping-pong that never enters JavaScript runs inside holds; holdLoop: false holds never', async () => {
  for (const holdLoop of [undefined, false]) {
    const { h, before, peers } = await pingPong(holdLoop, 2000);
    await within(30000, 'the ping-pong', peers.done);
    const s = h.eng.stats();
    const batches = s.batches - before.batches, held = s.heldBatches - before.heldBatches;
    await finish(h, peers);
    console.log(`holdLoop ${holdLoop ?? 'default'}: ${batches} batches, ${held} held, in ${s.holds} holds`);
    if (holdLoop === false) {
      assert.equal(s.holds, 0, 'no hold with holdLoop: false');
      assert.equal(s.heldBatches, 0);
    } else {
      // 2 wake-ups per round at least; all but the first few (accept, select) are held
      assert.ok(batches >= 2000, `${batches} batches`);
      assert.ok(held >= 0.9 * batches, `${held} of ${batches} batches were held (${s.holds} holds)`);
    }
  }
});

test('while the engine holds the loop, timers, setImmediate, libuv sockets and signals are served on time', async () => {
  const { h, peers } = await pingPong(undefined, 1_000_000);   // ended below, long before its rounds
  peers.done.catch(() => {});   // killed early: its 'done' never comes
  try {
    await within(10000, 'the first holds', (async () => { while (h.eng.stats().heldBatches < 1000) await sleep(5); })());
    // a 10 ms interval: a hold waits no longer than the next timer is due
    const late: number[] = [];
    await within(10000, 'twenty ticks', new Promise<void>((resolve) => {
      let due = Date.now() + 10;
      const iv = setInterval(() => {
        late.push(Date.now() - due);
        due += 10;
        if (late.length === 20) { clearInterval(iv); resolve(); }
      }, 10);
    }));
    late.sort((a, b) => a - b);
    assert.ok(late[10]! < 5, `a 10 ms interval ran a median ${late[10]} ms late (${late.join(' ')})`);
    // setImmediate queued from a timer runs (an idle handle makes the hold give back at once)
    await within(1000, 'setImmediate', new Promise<void>((resolve) => setTimeout(() => setImmediate(resolve), 1)));
    // a socket libuv watches, in this process: 50 round trips
    const echo = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const c = net.connect((echo.address() as net.AddressInfo).port, '127.0.0.1');
    await once(c, 'connect');
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) {
      c.write('ping');
      await within(1000, `libuv socket round trip ${i}`, once(c, 'data'));
    }
    const rtt = (Date.now() - t0) / 50;
    c.destroy();
    echo.close();
    assert.ok(rtt < 20, `a libuv socket's round trip took ${rtt} ms on average`);
    // a signal: libuv's signal pipe is one of its fds
    const got = new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()));
    process.kill(process.pid, 'SIGUSR2');
    await within(1000, 'SIGUSR2', got);
    assert.ok(h.eng.stats().holds > 0);
    console.log(`interval lateness ms: ${late.join(' ')}; libuv socket round trip ${rtt} ms`);
  } finally {
    peers.child.kill('SIGTERM');
    await finish(h, peers);
  }
});

test('a process whose engine closed its last fd exits: the hold does not keep the loop alive', async () => {
  const script = `
    import { harness } from ${JSON.stringify(new URL('./harness.ts', import.meta.url).href)};
    import net from 'node:net';
    const backend = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1', () => {
      const h = harness([{ address: '127.0.0.1', port: backend.address().port }], 4);
      const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 4);
      const c = net.connect(port, '127.0.0.1', () => c.write('x'));
      c.once('data', () => { c.destroy(); backend.close(); setTimeout(() => h.eng.closeListener(0), 50); });
    });
    backend.unref();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
  const t = setTimeout(() => child.kill('SIGKILL'), 20000);
  const [code, signal] = await once(child, 'exit') as [number | null, string | null];
  clearTimeout(t);
  assert.equal(signal, null, 'the child exited by itself (it was killed after 20 s)');
  assert.equal(code, 0);
});

// Peers in another process, so only the engine's sockets are active while they run:
//  - `conns PORT N LEAD QUIET`: after LEAD ms, N connections one after another, each calling JS
//    for its pick and its record; the backend answers and closes, as an HTTP server does for
//    Connection: close, and the client then closes. 'done' comes QUIET ms after the last (a line
//    from the child is a libuv event: it ends a hold);
//  - `ping PORT MS`: a connection that sends 16 bytes every 5 ms for MS ms, echoed by the
//    backend: engine traffic that keeps a hold going and calls no JS.
// An echo server on a second port is for a libuv socket of the test's own.
const PEERS2 = `
import socket, sys, threading, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(64)
echo = socket.socket(); echo.bind(("127.0.0.1", 0)); echo.listen(8)
print(srv.getsockname()[1], echo.getsockname()[1], flush=True)
def serve(b):
    b.settimeout(10)
    with b:
        d = b.recv(64)
        if d == b"ping":
            b.sendall(b"pong"); return
        while d:
            b.sendall(d); d = b.recv(64)
def backend():
    while True:
        b, _ = srv.accept()
        threading.Thread(target=serve, args=(b,), daemon=True).start()
def echoes():
    while True:
        e, _ = echo.accept(); e.settimeout(10)
        e.sendall(e.recv(64)); e.recv(64); e.close()
def pinger(port, ms):
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    end = time.time() + ms / 1000
    while time.time() < end:
        c.sendall(b"x" * 16)
        got = 0
        while got < 16: got += len(c.recv(16 - got))
        time.sleep(0.005)
    c.close()
threading.Thread(target=backend, daemon=True).start()
threading.Thread(target=echoes, daemon=True).start()
for line in sys.stdin:
    what, *args = line.split()
    if what == "ping":
        threading.Thread(target=pinger, args=(int(args[0]), int(args[1])), daemon=True).start()
        continue
    port, n, lead, quiet = (int(x) for x in args)
    time.sleep(lead / 1000)
    for i in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"ping")
        assert c.recv(64) == b"pong"
        c.close()
    time.sleep(quiet / 1000)
    print("done", flush=True)
`;

/** The python peers: their backend's and echo server's ports, and their two commands. */
async function pythonPeers() {
  const child = spawn('python3', ['-c', PEERS2], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LD_PRELOAD: '' } });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const [backend, echo] = String((await lines.next()).value).split(' ').map(Number) as [number, number];
  const conns = async (port: number, n: number, lead = 0, quiet = 0) => {
    child.stdin!.write(`conns ${port} ${n} ${lead} ${quiet}\n`);
    assert.equal((await within(30000, `${n} connections`, lines.next())).value, 'done');
  };
  const ping = (port: number, ms: number) => child.stdin!.write(`ping ${port} ${ms}\n`);
  const stop = async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await within(5000, 'the peers exit', once(child, 'exit'));
  };
  return { backend, echo, conns, ping, stop };
}

/** The python peers with an engine of this process in front of their backend. */
async function peers2() {
  const peers = await pythonPeers();
  const h = harness([{ address: '127.0.0.1', port: peers.backend }], 64);
  const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 64);
  return {
    h, echo: peers.echo,
    conns: (n: number, lead = 0, quiet = 0) => peers.conns(port, n, lead, quiet),
    ping: (ms: number) => peers.ping(port, ms),
    stop: async () => { h.destroy(); await peers.stop(); },
  };
}

test('a connection per request from another process runs inside holds, JS and all, with the engine alone keeping the loop alive', async () => {
  const peers = await pythonPeers();
  // in its own process (alone.ts), as in pen: while held, libuv has no other active handle
  const alone = spawn(process.execPath, ['--import', 'tsx', new URL('./alone.ts', import.meta.url).pathname, String(peers.backend), '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(alone, 'exit');
  const kill = setTimeout(() => alone.kill('SIGKILL'), 60000);
  try {
    const out = createInterface({ input: alone.stdout! })[Symbol.asyncIterator]();
    const port = Number((await within(10000, 'the engine listens', out.next())).value);
    await peers.conns(port, 300);
    const s = JSON.parse(String((await within(10000, 'the stats', out.next())).value)) as NativeStats;
    const [code] = await within(10000, 'the engine process exits by itself', exited);
    assert.equal(code, 0);
    console.log(`300 connections: ${s.batches} batches, ${s.heldBatches} held (${s.heldJs} of them called JS), ${s.holds} holds`);
    // picks and records call JS, and start no libuv watcher: the hold goes on through them
    assert.ok(s.heldJs >= 300, `${s.heldJs} held batches called JS`);
    assert.ok(s.heldBatches >= 0.8 * s.batches, `${s.heldBatches} of ${s.batches} batches were held`);
  } finally {
    clearTimeout(kill);
    if (alone.exitCode === null) alone.kill('SIGKILL');
    await peers.stop();
  }
});

test('a libuv watcher that JS starts inside a held batch is served at once', async () => {
  const { h, echo, conns, ping, stop } = await peers2();
  // with onread, pause() stops libuv reading (uv_read_stop) and resume() starts it again
  let onAnswer = () => {};
  const c = net.connect({ port: echo, host: '127.0.0.1', onread: { buffer: Buffer.alloc(64), callback: () => { onAnswer(); return true; } } });
  try {
    // a libuv socket with its answer waiting in the kernel and libuv not watching it: paused
    // before the answer came, with time for libuv to drop the fd from its epoll set when it came
    await within(5000, 'connect', once(c, 'connect'));
    c.pause();
    await new Promise<void>((resolve) => c.write('hi', () => resolve()));
    await sleep(200);
    // pings every 5 ms for 300 ms start a hold; then nothing but one connection comes (LEAD ms
    // after our line, whose write ends the hold but not the next one the connection starts), and
    // its close record resumes the socket inside a hold. uv_read_start only queues the watcher
    // and no other fd of ours is active, so only giving the loop back lets libuv see the answer
    const quiet = h.eng.stats().heldBatches;
    ping(300);
    await sleep(400);   // one timer: the pings run in holds meanwhile, and then end
    assert.ok(h.eng.stats().heldBatches - quiet > 20, 'the pings run inside holds');
    let started = 0;
    const answered = new Promise<number>((resolve) => {
      onAnswer = () => resolve(performance.now() - started);
      // the connection's close record is delivered to JS inside a held batch (its pick came with
      // the accept, which the line we write may share a wake-up with)
      const push = h.closed.push.bind(h.closed);
      h.closed.push = (...records) => {
        h.closed.push = push;
        started = performance.now();
        c.resume();
        return push(...records);
      };
    });
    const before = h.eng.stats();
    const ran = conns(1, 200, 1500);
    const ms = await within(5000, 'the answer', answered);
    await ran;
    const s = h.eng.stats();
    console.log(`a socket resumed by a close record read its answer after ${ms.toFixed(2)} ms (${s.holds - before.holds} holds meanwhile)`);
    // a hold that missed the watcher would go on until the next timer (the engine's 1 s sweep)
    assert.ok(ms < 50, `the answer was read after ${ms} ms`);
  } finally {
    c.destroy();
    await stop();
  }
});

test('holds that serve too few batches back off: a connection per request rarely holds', async () => {
  const echo = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: echo.port }], 16);
  try {
    const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 16);
    for (let i = 0; i < 200; i++) assert.equal((await roundTrip(port, 'ping')).toString(), 'ping');
    const s = h.eng.stats();
    console.log(`200 connections: ${s.batches} batches, ${s.holds} holds, ${s.heldBatches} held, ${s.holdsSkipped} skipped`);
    // every connection calls JS (select, its record), and the clients are this process's libuv
    // sockets: a hold buys little here, so most wake-ups pass it up
    assert.ok(s.holdsSkipped > 0, 'some wake-ups passed the hold up');
    assert.ok(s.holds < s.holdsSkipped, `${s.holds} holds against ${s.holdsSkipped} passed up`);
  } finally {
    h.destroy();
    await echo.close();
  }
});
