// A TCP conn's fds are closed without EPOLL_CTL_DEL (engine.h): while another process holds a
// reference to one of them (pidfd_getfd here; a fork between spawn's fork and exec in real life)
// its registration stays in the engine's epoll fd and goes on reporting events. Those events
// carry a tag whose generation no longer matches, even when the slot holds a new conn by then:
// they must be dropped (and counted), never reach freed memory or the new conn. Run it under
// ASan too (ASAN_TESTS=test/native/stale.test.ts sh native/asan.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { echoServer, harness, sleep } from './harness.ts';

// a child that takes copies of our fds with pidfd_getfd and holds them until its stdin closes
const HOLDER = `import os, sys, ctypes
libc = ctypes.CDLL(None, use_errno=True)
pid = os.pidfd_open(${process.pid})
fds = [libc.syscall(438, pid, int(a), 0) for a in sys.argv[1:]]
print('held' if min(fds) >= 0 else 'errno %d' % ctypes.get_errno(), flush=True)
sys.stdin.read()`;

/** Our fd of the TCP socket whose local and remote ports match (either may be 0: any). */
function fdOf(local: number, remote: number): string {
  const inodes = new Set<string>();
  for (const file of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = (a: string) => parseInt(a.split(':')[1] ?? '', 16);
      if ((!local || port(f[1] ?? '') === local) && (!remote || port(f[2] ?? '') === remote)) inodes.add(f[9] ?? '');
    }
  }
  const fd = readdirSync('/proc/self/fd').find((d) => {
    try { return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${d}`))?.[1] ?? '-'); } catch { return false; }
  });
  assert.ok(fd, `a socket ${local} -> ${remote}`);
  return fd;
}

async function echo(c: net.Socket, text: string): Promise<void> {
  c.write(text);
  let got = '';
  while (got.length < text.length) got += String((await once(c, 'data'))[0]);
  assert.equal(got, text);
}

test('events of a closed conn whose fds another process holds are dropped, even once its slot is taken again', async (t) => {
  const be = await echoServer();
  const h = harness([{ address: '127.0.0.1', port: be.port }], 4);
  const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 8);
  const c1 = net.connect(port, '127.0.0.1').on('error', () => {});
  await once(c1, 'connect');
  await echo(c1, 'one');
  const cfd = fdOf(port, c1.localPort!);
  const sfd = fdOf(0, be.port);
  const holder = spawn('python3', ['-c', HOLDER, cfd, sfd], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LD_PRELOAD: '' } });
  t.after(() => holder.kill());
  const [line] = await once(holder.stdout!, 'data');
  if (String(line).trim() !== 'held') { t.skip(`pidfd_getfd not allowed here (${String(line).trim()})`); h.destroy(); await be.close(); return; }
  let c2: net.Socket | undefined;
  try {
    const [slot] = [...h.inUse];
    assert.equal(h.eng.close(slot!), true);
    await h.waitClosed(1);
    await sleep(20);   // the record is delivered and the graveyard freed
    const upstream1 = [...be.sockets][0]!;
    // a new conn takes the same slot (the harness gives back the slot it freed last)
    c2 = net.connect(port, '127.0.0.1').on('error', () => {});
    await once(c2, 'connect');
    await echo(c2, 'two');
    assert.deepEqual([...h.inUse], [slot], 'the new conn has the closed one\'s slot');

    const stale = h.eng.stats().staleEvents;
    c1.write('to the held client socket');   // readable: an edge on the stale registration of cfd
    for (let i = 0; i < 100 && h.eng.stats().staleEvents === stale; i++) await sleep(10);
    const afterClient = h.eng.stats().staleEvents;
    assert.ok(afterClient > stale, 'the client side\'s event was dropped as stale');
    upstream1.resetAndDestroy();   // an RST to the held server socket
    for (let i = 0; i < 100 && h.eng.stats().staleEvents === afterClient; i++) await sleep(10);
    assert.ok(h.eng.stats().staleEvents > afterClient, 'the server side\'s event was dropped as stale');

    await echo(c2, 'three');   // the conn in the slot never saw them
    c2.end();
    await h.waitClosed(2);
    assert.equal(h.closed[1]!.why, 'eof');
    assert.deepEqual([h.eng.stats().conns, h.eng.stats().fds], [0, 1], 'only the listener is left');
  } finally {
    c1.destroy(); c2?.destroy();
    holder.stdin!.end();
    await once(holder, 'exit');
    h.destroy(); await be.close();
  }
});
