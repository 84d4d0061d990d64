// A server that accepts and never answers cannot hold the table once its clients are gone: a
// client's reset ends its pair at once, and its EOF ends it once the server has stayed silent
// for -t seconds; a half-closed client whose server does answer in time still gets the answer.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { freePort, get, httpBackend, sleep } from '../helpers/backends.ts';
import { penctl, startPen } from '../helpers/pen.ts';

const REQUEST = 'GET / HTTP/1.1\r\nHost: hung\r\n\r\n';

/** A server that accepts, reads, and never writes or closes (half-close does not end it either). */
async function hungServer(): Promise<{ port: number; requests: () => number; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  let requests = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    open.add(s);
    s.on('data', () => { requests += 1; });
    s.on('error', () => {});
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port, requests: () => requests,
    close: () => new Promise<void>((r) => { for (const s of open) s.destroy(); server.close(() => r()); }),
  };
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

test('clients that give up on a server that never answers free their slots (-x 6), and a healthy request is served', async () => {
  const hung = await hungServer();
  const healthy = await httpBackend('B');
  const [port, cport] = [await freePort(), await freePort()];
  const ctl = `127.0.0.1:${cport}`;
  // no server yet: the test's own connections are the only ones
  const pen = await startPen(['-u', 'root', '-x', '6', '-C', ctl, `127.0.0.1:${port}`], { waitPort: port });
  // the C client: six queries per check, and it starts in a millisecond
  const ask = (line: string) => penctl(ctl, line.split(' '), '/usr/bin/penctl').stdout;
  assert.equal(ask(`server 0 address 127.0.0.1 port ${hung.port}`), '');
  const slotsInUse = () => [0, 1, 2, 3, 4, 5].filter((i) => !/state = 0\n/.test(ask(`connection ${i}`))).length;
  const clients: net.Socket[] = [];
  /** six requests fill the table, all to the server that never answers */
  const fill = async () => {
    const before = hung.requests();
    const six = Array.from({ length: 6 }, () => {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => {});
      c.write(REQUEST);
      clients.push(c);
      return c;
    });
    assert.ok(await waitFor(() => hung.requests() >= before + 6, 10000), `the hung server got six requests (${hung.requests() - before})`);
    assert.equal(slotsInUse(), 6);
    return six;
  };
  try {
    // clients that reset: each pair ends at once
    for (const c of await fill()) c.resetAndDestroy();
    assert.ok(await waitFor(() => slotsInUse() === 0, 2000), `a reset from the client ends its pair at once (${slotsInUse()} in use)`);

    // clients that close (EOF): the server stays silent, so the pairs end after -t (3 s)
    for (const c of await fill()) c.destroy();
    const t0 = Date.now();
    // a healthy server is added and the hung one set aside: the next request needs a free slot
    assert.equal(ask(`server 1 address 127.0.0.1 port ${healthy.port}`), '');
    assert.equal(ask('server 0 blacklist 600'), '');
    assert.equal(await get(port, { timeoutMs: 10000 }), 'B', 'a healthy request is served');
    assert.ok(await waitFor(() => slotsInUse() === 0, 10000), `every slot is released (${slotsInUse()} in use)`);
    const freed = Date.now() - t0;
    // -t 3 plus the 250 ms sweep, with room for a loaded machine (the old code never frees them)
    assert.ok(freed < 3000 + 5000, `slots freed ${freed} ms after the clients left`);
  } finally {
    for (const c of clients) c.destroy();
    await pen.stop();
    await hung.close();
    await healthy.close();
  }
});

test('a half-closed client still gets an answer that comes after a silence shorter than -t', async () => {
  // reads the request to its end, thinks for a second, answers and closes
  const slow = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.resume();
    s.on('end', () => setTimeout(() => s.end('late answer'), 1000));
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const port = await freePort();
  const pen = await startPen(['-t', '3', `127.0.0.1:${port}`, `127.0.0.1:${(slow.address() as net.AddressInfo).port}`], { waitPort: port });
  try {
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    let answer = '';
    client.on('data', (d) => { answer += d; });
    const ended = new Promise((r) => client.on('end', r));
    client.end('question');
    await Promise.race([ended, sleep(8000)]);
    assert.equal(answer, 'late answer');
    client.destroy();
  } finally {
    await pen.stop();
    await new Promise<void>((r) => slow.close(() => r()));
  }
});
