// The dashboard's live link: it reconnects with backoff after a drop, and treats a silent socket
// as dead.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStream, type LinkStatus } from '../../web/src/stream.ts';
import { nth } from '../helpers/nth.ts';

class FakeSocket {
  static made: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  close() {
    this.closed = true;
  }
  deliver(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboard live stream', () => {
  it('goes live on the first message, and reconnects after the socket closes', async () => {
    FakeSocket.made = [];
    const statuses: LinkStatus[] = [];
    const messages: unknown[] = [];
    const s = openStream({
      url: () => new URL('ws://127.0.0.1:1/stream?token=t'),
      onMessage: (m) => messages.push(m),
      onStatus: (st) => statuses.push(st),
      WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
    });
    try {
      assert.equal(FakeSocket.made.length, 1);
      assert.equal(FakeSocket.made[0]?.url, 'ws://127.0.0.1:1/stream?token=t');
      nth(FakeSocket.made, 0).deliver({ type: 'event', event: { type: 'back', time: 1, message: 'x' } });
      assert.equal(statuses.at(-1), 'live');
      assert.equal(messages.length, 1);
      nth(FakeSocket.made, 0).onclose?.({ reason: '' });
      assert.equal(statuses.at(-1), 'disconnected');
      await wait(400); // first backoff step is 250 ms
      assert.equal(FakeSocket.made.length, 2);
      assert.equal(statuses.at(-1), 'connecting');
    } finally {
      s.close();
    }
  });

  it('drops a socket that stays silent and tries again', async () => {
    FakeSocket.made = [];
    const statuses: LinkStatus[] = [];
    const s = openStream({
      url: () => new URL('ws://127.0.0.1:1/stream'),
      onMessage: () => {},
      onStatus: (st) => statuses.push(st),
      staleMs: 100,
      WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
    });
    try {
      await wait(150);
      assert.ok(statuses.includes('disconnected'));
      assert.equal(FakeSocket.made[0]?.closed, true);
      await wait(300);
      assert.ok(FakeSocket.made.length >= 2);
    } finally {
      s.close();
    }
    const count = FakeSocket.made.length;
    await wait(400);
    assert.equal(FakeSocket.made.length, count, 'no reconnects after close()');
  });
});
