// The http check's kept connection, against real loopback servers that count their connections:
// checks reuse one connection; a server that closes it between checks, or just as a request
// comes, still passes; one that answers once and then hangs fails by the timeout; an answer with
// no Content-Length passes and is not kept. The prober runs as the schedule runs it (core/health.ts).
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { parseHealth } from '../../shared/health.ts';
import { PROBERS } from '../../server/core/probes.ts';
import { sleep } from '../helpers/backends.ts';

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok';

/** A server that hands each request (its connection, the number of the request on it) to `answer`. */
async function server(answer: (s: net.Socket, nth: number) => void) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const srv = net.createServer((s) => {
    connections += 1;
    sockets.add(s);
    let nth = 0;
    let buf = '';
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        answer(s, ++nth);
      }
    });
  });
  srv.listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => connections,
    open: () => sockets.size,
    close: () => { for (const s of sockets) s.destroy(); srv.close(); },
  };
}

/** Run `n` checks one after another (timeout 1 s, enforced as the schedule does); their results. */
async function checks(port: number, n: number, gapMs = 50): Promise<(string | null)[]> {
  const prober = PROBERS.http();
  const check = parseHealth(['http', '/', 'timeout', '1']);
  const results: (string | null)[] = [];
  try {
    for (let i = 0; i < n; i++) {
      results.push(await new Promise<string | null>((resolve) => {
        const stop = prober.run({ family: 4, address: '127.0.0.1', port }, check, null, resolve);
        setTimeout(() => stop('timed out after 1 s'), 1000);
      }));
      await sleep(gapMs);
    }
  } finally {
    prober.close();
  }
  return results;
}

test('http checks reuse one kept connection while the answers are framed', async () => {
  const s = await server((sock) => sock.write(OK));
  try {
    assert.deepEqual(await checks(s.port, 5), [null, null, null, null, null]);
    assert.equal(s.connections(), 1);
  } finally {
    s.close();
  }
});

test('a server that closes the kept connection between checks, or as a request arrives, still passes', async () => {
  const between = await server((sock) => { sock.write(OK); setTimeout(() => sock.destroy(), 10); });
  const asked = await server((sock, nth) => { if (nth === 1) sock.write(OK); else sock.destroy(); });
  try {
    assert.deepEqual(await checks(between.port, 4), [null, null, null, null]);
    assert.equal(between.connections(), 4);
    // each reused connection is closed unanswered: the check asks again on a new one
    assert.deepEqual(await checks(asked.port, 4), [null, null, null, null]);
    assert.equal(asked.connections(), 4); // the first, then one per retried check
  } finally {
    between.close();
    asked.close();
  }
});

test('a server that answers the first check and then hangs fails the next by its timeout, and the connection is let go', async () => {
  let answered = 0;
  const s = await server((sock) => { if (answered++ === 0) sock.write(OK); });
  try {
    const t0 = Date.now();
    const r = await checks(s.port, 3, 100);
    assert.equal(r[0], null);
    assert.deepEqual(r.slice(1), ['timed out after 1 s', 'timed out after 1 s']);
    assert.ok(Date.now() - t0 >= 2000);
    assert.equal(s.connections(), 2, 'the hung connection was dropped and the next check connected afresh');
    for (let i = 0; i < 50 && s.open() > 0; i++) await sleep(20);
    assert.equal(s.open(), 0);
  } finally {
    s.close();
  }
});

test('an answer without Content-Length, chunked or HTTP/1.0 passes and is not kept; a 500 fails and is', async () => {
  const answers = [
    'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: Close\r\n\r\nok',
  ];
  for (const a of answers) {
    const s = await server((sock) => sock.write(a));
    try {
      assert.deepEqual(await checks(s.port, 3), [null, null, null], a);
      assert.equal(s.connections(), 3, a);
    } finally {
      s.close();
    }
  }
  const failing = await server((sock) => sock.write('HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\noops'));
  try {
    assert.deepEqual(await checks(failing.port, 3), Array(3).fill('http /: status 500, expected 200'));
    assert.equal(failing.connections(), 1);
  } finally {
    failing.close();
  }
});

test('an answer whose head and body come in pieces is read whole and its connection kept', async () => {
  const s = await server((sock) => {
    sock.write(OK.slice(0, 5));
    setTimeout(() => sock.write(OK.slice(5, 30)), 10);
    setTimeout(() => sock.write(OK.slice(30, -1)), 20);
    setTimeout(() => sock.write(OK.slice(-1)), 30);
  });
  try {
    assert.deepEqual(await checks(s.port, 3, 100), [null, null, null]);
    assert.equal(s.connections(), 1);
  } finally {
    s.close();
  }
});
