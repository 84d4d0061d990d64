// The dashboard's number and time formatting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytes, connState, count, duration, endpoint, modeName, slotName } from '../../web/src/format.ts';

describe('dashboard formatting', () => {
  it('writes byte counts in binary units with one decimal below ten', () => {
    assert.equal(bytes(0), '0 B');
    assert.equal(bytes(1023), '1023 B');
    assert.equal(bytes(1536), '1.5 KiB');
    assert.equal(bytes(50 * 1024 * 1024), '50 MiB');
    assert.equal(bytes(-1), '–');
  });

  it('groups thousands whatever the locale', () => {
    assert.equal(count(1234567), '1,234,567');
    assert.equal(count(999), '999');
  });

  it('writes durations at two units of precision', () => {
    assert.equal(duration(59), '59s');
    assert.equal(duration(185), '3m 05s');
    assert.equal(duration(7380), '2h 03m');
    assert.equal(duration(180000), '2d 02h');
  });

  it('names endpoints, slots, connection states and modes as pen does', () => {
    assert.equal(endpoint('10.0.0.1', 80), '10.0.0.1:80');
    assert.equal(endpoint('::1', 80), '[::1]:80');
    assert.equal(endpoint('/run/app.sock', 1), '/run/app.sock');
    assert.equal(slotName(-1), 'emergency');
    assert.equal(slotName(-2), 'abuse');
    assert.equal(connState(2 | 4), 'open, server EOF');
    assert.equal(modeName({ roundrobin: true, hash: false, weight: true, prio: false, stubborn: true }), 'round robin + weight + stubborn');
    assert.equal(modeName({ roundrobin: false, hash: false, weight: false, prio: false, stubborn: false }), 'tracking');
  });
});
