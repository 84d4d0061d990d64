// The dashboard's rolling chart history, fed with snapshots as the stream delivers them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerSnapshot, Snapshot } from '../../shared/snapshot.ts';
import { emptyHistory, record } from '../../web/src/history.ts';

function server(index: number, connections: number, sxRate = 0, rxRate = 0): ServerSnapshot {
  return {
    index, address: '127.0.0.1', port: 9000 + index, state: 'up', blacklistLeft: 0, status: 0, connections,
    maxc: 0, hard: 0, weight: 0, prio: 0, acl: 0, sx: 0, rx: 0, sxRate, rxRate, drain: false, health: null,
  };
}

function snap(time: number, accepted: number, servers: ServerSnapshot[], open = 0): Snapshot {
  return {
    time, timeMs: time * 1000, pid: 1, uptime: 1, listen: '127.0.0.1:8000', protocol: 'tcp',
    mode: { tracking: true, roundrobin: false, hash: false, weight: false, prio: false, stubborn: false },
    current: 0, servers, emergency: null, abuse: null, clients: [], clientsMax: 2048, connections: [], connMax: 500,
    totals: { connections: open, accepted, dropped: 0, sx: 0, rx: 0, sxRate: 10, rxRate: 20 },
    eventLoopDelayMs: 1,
  } as unknown as Snapshot;
}

describe('chart history', () => {
  it('derives new connections per second from the accepted counter', () => {
    const h = emptyHistory();
    record(h, snap(100, 10, [server(0, 1)]));
    record(h, snap(101, 16, [server(0, 2)]));
    record(h, snap(103, 20, [server(0, 0)]));
    assert.deepEqual(h.time, [100, 101, 103]);
    assert.deepEqual(h.accepts, [0, 6, 2]);
    assert.deepEqual(h.servers.get(0)?.conns, [1, 2, 0]);
  });

  it('a second snapshot in the same second replaces the last point instead of adding one', () => {
    const h = emptyHistory();
    record(h, snap(100, 10, [server(0, 1)]));
    record(h, snap(101, 14, [server(0, 2)]));
    record(h, snap(101, 15, [server(0, 5)], 7));
    assert.deepEqual(h.time, [100, 101]);
    assert.deepEqual(h.conns, [0, 7]);
    assert.deepEqual(h.accepts, [0, 4]);
    assert.deepEqual(h.servers.get(0)?.conns, [1, 5]);
    record(h, snap(102, 17, [server(0, 1)]));
    assert.deepEqual(h.accepts, [0, 4, 3]);
  });

  it('keeps a bounded window, per server too, and forgets servers that are gone', () => {
    const h = emptyHistory();
    for (let t = 0; t < 10; t++) record(h, snap(t, t, t < 5 ? [server(0, t), server(1, t, 1, 2)] : [server(0, t)]), 4);
    assert.deepEqual(h.time, [6, 7, 8, 9]);
    assert.deepEqual(h.servers.get(0)?.conns, [6, 7, 8, 9]);
    assert.equal(h.servers.has(1), false);
  });

  it('sums both directions for a server\'s traffic line', () => {
    const h = emptyHistory();
    record(h, snap(1, 0, [server(0, 0, 100, 300)]));
    assert.deepEqual(h.servers.get(0)?.traffic, [400]);
  });
});
