// Reading a test's own fixtures by index (noUncheckedIndexedAccess): a missing element fails the
// test where it is read, with its index, rather than as a TypeError a few lines later.
import assert from 'node:assert/strict';

/** list[i]; fails the test when there is no such element. */
export function nth<T>(list: ArrayLike<T>, i: number): T {
  const x = list[i];
  assert.ok(x !== undefined, `no element ${i} (of ${list.length})`);
  return x;
}
