// Server selection through a real pen process, real backends and real clients on loopback.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deadPort, freePort, get, hold, httpBackend, sleep, tcpBackend, type HttpBackend } from '../helpers/backends.ts';
import { startPen } from '../helpers/pen.ts';

let a: HttpBackend;
let b: HttpBackend;
before(async () => {
  a = await httpBackend('A');
  b = await httpBackend('B');
});
after(async () => {
  await a.close();
  await b.close();
});

const backends = () => [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`];

async function withPen(args: string[], fn: (port: number) => Promise<void>): Promise<void> {
  const port = await freePort();
  const pen = await startPen([...args.slice(0, -1).filter((x) => x !== '@'), `127.0.0.1:${port}`, ...(args.at(-1) === '@' ? backends() : [])], { waitPort: port });
  try {
    await fn(port);
  } finally {
    await pen.stop();
  }
}

describe('selection', () => {
  test('a client keeps going to the server it got first; a new client gets the next one', async () => {
    await withPen(['@'], async (port) => {
      // round robin advances its cursor before use, so the first client gets server 1
      assert.deepEqual([await get(port), await get(port), await get(port)], ['B', 'B', 'B']);
      assert.deepEqual([await get(port, { localAddress: '127.0.0.2' }), await get(port, { localAddress: '127.0.0.2' })], ['A', 'A']);
    });
  });

  test('-r alternates between servers whatever the client', async () => {
    await withPen(['-r', '@'], async (port) => {
      const seen = [await get(port), await get(port), await get(port, { localAddress: '127.0.0.2' }), await get(port, { localAddress: '127.0.0.2' })];
      assert.deepEqual(seen, ['B', 'A', 'B', 'A']);
    });
  });

  test('-h sends a client to the server its address hashes to', async () => {
    // 127.0.0.1 → 16777343 (little-endian), 127.0.0.2 → 33554559; both mod 2 = 1 → B
    await withPen(['-h', '@'], async (port) => {
      assert.equal(await get(port), 'B');
      assert.equal(await get(port, { localAddress: '127.0.0.2' }), 'B');
    });
  });

  test('-W spreads held connections by weight', async () => {
    const x = await tcpBackend('X');
    const y = await tcpBackend('Y');
    const port = await freePort();
    const pen = await startPen(['-r', '-W', `127.0.0.1:${port}`, `127.0.0.1:${x.port}:0:0:1`, `127.0.0.1:${y.port}:0:0:3`], { waitPort: port });
    const held = [];
    try {
      for (let i = 0; i < 8; i++) held.push(await hold(port));
      assert.deepEqual(held.map((h) => h.greeting), ['X', 'Y', 'Y', 'Y', 'X', 'Y', 'Y', 'Y']);
    } finally {
      for (const h of held) h.socket.destroy();
      await pen.stop();
      await x.close();
      await y.close();
    }
  });

  test('soft and hard limits: a returning client may go up to hard, then fails over', async () => {
    const x = await tcpBackend('X');
    const y = await tcpBackend('Y');
    const port = await freePort();
    // pen's own scenario: S0 max 2 hard 3, S1 max 2; seven held connections from one client
    const pen = await startPen([`127.0.0.1:${port}`, `127.0.0.1:${x.port}:2:3`, `127.0.0.1:${y.port}:2:0`], { waitPort: port });
    const held = [];
    try {
      for (let i = 0; i < 7; i++) held.push(await hold(port));
      assert.deepEqual(held.map((h) => h.greeting), ['Y', 'Y', 'X', 'X', 'X', '', '']);
      assert.equal(x.sockets.size, 3);
      assert.equal(y.sockets.size, 2);
    } finally {
      for (const h of held) h.socket.destroy();
      await pen.stop();
      await x.close();
      await y.close();
    }
  });

  test('-x bounds simultaneous connections: the next client waits until one closes', async () => {
    const x = await tcpBackend('X');
    const port = await freePort();
    const pen = await startPen(['-x', '2', `127.0.0.1:${port}`, `127.0.0.1:${x.port}`], { waitPort: port });
    try {
      const h1 = await hold(port);
      const h2 = await hold(port);
      assert.equal(h2.greeting, 'X');
      const third = hold(port);
      await sleep(300);
      assert.equal(x.sockets.size, 2, 'the third connection is not forwarded yet');
      h1.socket.destroy();
      assert.equal((await third).greeting, 'X');
      h2.socket.destroy();
      (await third).socket.destroy();
    } finally {
      await pen.stop();
      await x.close();
    }
  });

  test('-s stubborn: a client whose server is down is closed, not failed over', async () => {
    const dead = await deadPort();
    const port = await freePort();
    const pen = await startPen(['-s', `127.0.0.1:${port}`, `127.0.0.1:${dead}`], { waitPort: port });
    try {
      assert.equal(await get(port), '');
    } finally {
      await pen.stop();
    }
  });
});

describe('failover and blacklisting', () => {
  test('a refused connect blacklists the server and the client is served by the next one', async () => {
    const dead = await deadPort();
    const port = await freePort();
    const pen = await startPen(['-r', '-b', '2', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${dead}`], { waitPort: port });
    try {
      // round robin picks server 1 (dead) first: the client still gets A
      assert.equal(await get(port), 'A');
      assert.equal(await get(port), 'A');
      assert.equal(await get(port), 'A', 'server 1 is blacklisted now');
      assert.match(pen.stderr(), /blacklisting server 1 because of connect failure/);
    } finally {
      await pen.stop();
    }
  });

  test('blacklisting expires after -b seconds and the server is used again', async () => {
    const c = await tcpBackend('C');
    const port = await freePort();
    const cPort = c.port;
    await c.close();
    const pen = await startPen(['-r', '-b', '1', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`, `127.0.0.1:${cPort}`], { waitPort: port });
    try {
      assert.equal(await get(port), 'A'); // server 1 refused → blacklisted → A
      // bring server 1 back on the same port
      const http = await import('node:http');
      const revived = http.createServer((_q, r) => r.end('C')).listen(cPort, '127.0.0.1');
      try {
        await sleep(2100);
        // failover did not move the cursor (still at server 1), so round robin goes on from server 0
        assert.deepEqual([await get(port), await get(port), await get(port)], ['A', 'C', 'A'], 'server 1 is back after its blacklisting');
      } finally {
        revived.closeAllConnections();
        revived.close();
      }
    } finally {
      await pen.stop();
    }
  });

  test('with every server down the emergency server takes the clients', async () => {
    const d1 = await deadPort();
    const d2 = await deadPort();
    const port = await freePort();
    const pen = await startPen(['-e', `127.0.0.1:${b.port}`, `127.0.0.1:${port}`, `127.0.0.1:${d1}`, `127.0.0.1:${d2}`], { waitPort: port });
    try {
      assert.equal(await get(port), 'B');
      assert.equal(await get(port, { localAddress: '127.0.0.3' }), 'B');
    } finally {
      await pen.stop();
    }
  });

  test('without any server that works the client connection is closed', async () => {
    const port = await freePort();
    const pen = await startPen([`127.0.0.1:${port}`, `127.0.0.1:${await deadPort()}`], { waitPort: port });
    try {
      assert.equal(await get(port), '');
    } finally {
      await pen.stop();
    }
  });
});

describe('access lists', () => {
  test('clients denied by client_acl go to the abuse server, others are served', async () => {
    const abuse = await httpBackend('Abuse');
    const port = await freePort();
    const pen = await startPen(['-B', `127.0.0.1:${abuse.port}`, '-O', 'acl 1 permit 127.0.0.1', '-O', 'client_acl 1', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
    try {
      assert.equal(await get(port), 'A');
      assert.equal(await get(port, { localAddress: '127.0.0.2' }), 'Abuse');
    } finally {
      await pen.stop();
      await abuse.close();
    }
  });

  test('a server whose ACL denies the client: with one server the client is closed', async () => {
    const port = await freePort();
    const pen = await startPen(['-O', 'acl 2 permit 127.0.0.1', '-O', 'server 0 acl 2', `127.0.0.1:${port}`, `127.0.0.1:${a.port}`], { waitPort: port });
    try {
      assert.equal(await get(port), 'A');
      assert.equal(await get(port, { localAddress: '127.0.0.2' }), '');
    } finally {
      await pen.stop();
    }
  });
});
