// Events declared once: the shared union (PEN_EVENT_TYPES) is exactly what the core publishes,
// each type on its own channel, delivered once to the listeners of its own balancer only.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHANNELS, listenerCount, publish, subscribe } from '../../server/core/events.ts';
import { PEN_EVENT_TYPES, type PenEvent } from '../../shared/snapshot.ts';

const SERVER = join(import.meta.dirname, '../../server');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

test('the event union lists exactly the types the server code publishes', () => {
  const published = new Set<string>();
  for (const file of sources(SERVER)) {
    const text = readFileSync(file, 'utf8');
    // publish(source, 'type', …) or publish(source, on ? 'a' : 'b', …)
    for (const m of text.matchAll(/\bpublish\([^,]+,\s*([^,]+),/g)) {
      for (const lit of m[1]!.matchAll(/'([a-z-]+)'/g)) published.add(lit[1]!);
    }
  }
  assert.deepEqual([...published].sort(), [...PEN_EVENT_TYPES].sort());
});

test('each type has its own channel; nothing is delivered without a listener, once with one, and only to its own balancer', () => {
  const mine = {};
  const other = {};
  const seen: PenEvent[] = [];
  for (const type of PEN_EVENT_TYPES) {
    assert.equal(CHANNELS[type].name, `pen:${type}`);
    assert.equal(CHANNELS[type].hasSubscribers, false);
  }
  publish(mine, 'config', 'unheard');
  const unsubscribe = subscribe(mine, (e) => seen.push(e));
  assert.equal(listenerCount(mine), 1);
  assert.equal(listenerCount(other), 0);
  for (const type of PEN_EVENT_TYPES) {
    publish(mine, type, `mine ${type}`, 3);
    publish(other, type, `other ${type}`);
  }
  assert.deepEqual(seen.map((e) => [e.type, e.message, e.server]), PEN_EVENT_TYPES.map((t) => [t, `mine ${t}`, 3]));
  assert.ok(seen.every((e) => Number.isInteger(e.time) && e.time > 0));
  unsubscribe();
  unsubscribe(); // twice is harmless
  assert.equal(listenerCount(mine), 0);
  publish(mine, 'config', 'unheard again');
  assert.equal(seen.length, PEN_EVENT_TYPES.length);
  for (const type of PEN_EVENT_TYPES) assert.equal(CHANNELS[type].hasSubscribers, false);
});
