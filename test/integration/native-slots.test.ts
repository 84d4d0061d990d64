// What the connection table keeps of a connection the native engine holds (native-conn.ts): its
// listener in the slot, no object per connection, and a view that reads like any Connection for
// `connection N`, `socket N`, `close N` and the statistics. Real sockets on loopback; the balancer
// is in this process so the test can read its table. On the TypeScript path a slot holds a
// Connection of its own, so these tests are skipped there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { CS_CONNECTED } from '../../server/core/connection.ts';
import { loadNative } from '../../server/core/native.ts';
import type { PairEntry } from '../../server/core/pair-host.ts';
import { collectStats } from '../../server/stats/model.ts';
import { sleep, tcpBackend } from '../helpers/backends.ts';
import { startBalancer, until, type Pen } from '../helpers/balancer.ts';
import { nth } from '../helpers/nth.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function balancer(slots: number): Promise<{ p: Pen; backend: Awaited<ReturnType<typeof tcpBackend>> }> {
  const backend = await tcpBackend('b');
  cleanups.push(() => backend.close());
  const p = await startBalancer([`conn_max ${slots}`, `server 0 address 127.0.0.1 port ${backend.port}`]);
  cleanups.push(() => p.close());
  return { p, backend };
}

/** n clients connected through the balancer, each seen by the backend; closed after the test. */
async function clients(p: Pen, backend: { sockets: Set<net.Socket> }, n: number): Promise<net.Socket[]> {
  const list: net.Socket[] = [];
  cleanups.push(() => { for (const s of list) s.destroy(); });
  const one = () => new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(p.port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
  for (let i = 0; i < n; i += 100) {
    list.push(...await Promise.all(Array.from({ length: Math.min(100, n - i) }, one)));
  }
  await until(`${n} connections at the backend`, () => backend.sockets.size >= n && p.pen.table.used >= n, 10000);
  return list;
}

/** the data path these tests are about; on the other, each slot holds a Connection of its own */
const native = !('error' in loadNative()) && process.env.PEN_DATAPATH !== 'portable';
const skip = native ? false : 'the TypeScript data path keeps a Connection per slot';

test('a held native connection is its listener in the slot, and reads like any other connection', { skip }, async () => {
  const { p, backend } = await balancer(16);
  assert.equal(p.pen.datapath.path, 'native');
  const socks = await clients(p, backend, 3);
  const held = p.pen.conns.flatMap((c, i) => (c === null ? [] : [i]));
  assert.equal(held.length, 3);
  for (const i of held) assert.equal(p.pen.conns[i], p.pen.listener, `slot ${i} holds the listener, not an object of its own`);
  const views = held.map((i) => p.pen.connAt(i) as PairEntry);
  assert.deepEqual(views.map((c) => c.clientPort).sort(), socks.map((s) => s.localPort).sort());
  assert.equal(new Set(views.map((c) => c.downId)).size, 3, 'each has its own socket ids');
  for (const [k, c] of views.entries()) {
    const i = nth(held, k);
    assert.deepEqual([c.index, c.clientAddress, c.server, c.initial, c.state, c.counted], [i, '127.0.0.1', 0, 0, CS_CONNECTED, true]);
    assert.equal(await p.cmd(`connection ${i}`),
      `Connection ${i}:\nstate = ${CS_CONNECTED}\ndownfd = ${c.downId}, upfd = ${c.upId}\nclient = ${c.clientIndex}, server = 0\npend = 0\n`);
    assert.equal(await p.cmd(`socket ${c.upId}`), `Socket ${c.upId} belongs to connection ${i}\n`);
  }
  assert.equal(nth(p.pen.servers.list, 0).c, 3, 'the server counts them');

  // live bytes are read through the views; a close N ends one, and its slot keeps its last occupant
  const first = nth(views, 0);
  socks.find((s) => s.localPort === first.clientPort)!.write('hello');
  await until('5 bytes to the server', () => nth(collectStats(p.pen).servers, 0).sx === 5, 5000);
  await p.cmd(`close ${first.index}`);
  await until('the closed slot freed', () => p.pen.conns[first.index] === null, 5000);
  assert.equal(p.pen.table.used, 2);
  assert.equal(nth(p.pen.servers.list, 0).c, 2);
  assert.equal(nth(p.pen.servers.list, 0).sx, 5, 'its bytes joined the server\'s totals');
  assert.equal(await p.cmd(`connection ${first.index}`),
    `Connection ${first.index}:\nstate = 0\ndownfd = -1, upfd = -1\nclient = ${first.clientIndex}, server = 0\npend = 0\n`);
});

/** A child node process running `code`: the first line it prints. It is stopped after the test, by its handle. */
async function child(code: string, args: string[]): Promise<string> {
  const k = spawn(process.execPath, ['-e', code, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => k.kill());
  const [line] = await Promise.race([
    once(createInterface({ input: k.stdout }), 'line') as Promise<string[]>,
    sleep(20000).then(() => { throw new Error('child printed nothing within 20 s'); }),
  ]);
  return line ?? '';
}

// the backend and the clients in children of their own, so their sockets are not on this heap
const HOLDER = `const s=[];const v=require('net').createServer((c)=>{s.push(c);c.on('error',()=>{})}).listen(0,'127.0.0.1',()=>console.log(v.address().port))`;
const OPENER = `const [p,n]=process.argv.slice(1).map(Number);const s=[];const one=()=>new Promise((r)=>{const c=require('net').connect(p,'127.0.0.1',r);c.on('error',r);s.push(c)});
(async()=>{for(let i=0;i<n;i+=100)await Promise.all(Array.from({length:Math.min(100,n-i)},one));console.log('held')})()`;

test('held native connections add no JavaScript object each: under 100 bytes of V8 heap per connection', { skip }, async (t) => {
  const n = 2000;
  const backendPort = Number(await child(HOLDER, []));
  const p = await startBalancer([`conn_max ${n + 50}`, `server 0 address 127.0.0.1 port ${backendPort}`]);
  cleanups.push(() => p.close());
  assert.equal(p.pen.datapath.path, 'native');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heap = () => {
    for (let i = 0; i < 3; i++) gc();
    return process.memoryUsage().heapUsed;
  };
  await child(OPENER, [String(p.port), '10']); // the code and tables a first connection makes
  await until('the first 10', () => p.pen.table.used === 10, 10000);
  const before = heap();
  await child(OPENER, [String(p.port), String(n)]);
  await until(`${n} more held`, () => p.pen.table.used === n + 10, 20000);
  const per = (heap() - before) / n;
  t.diagnostic(`V8 heap per held connection: ${per.toFixed(0)} B`);
  // one object per connection was 128 B at least (it held 13 fields), and 170 B with what came with it
  assert.ok(per < 100, `${per.toFixed(0)} B of V8 heap per held connection`);
});
