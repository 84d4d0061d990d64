// The failed-authentication limiter against a guesser that rotates its source address over
// 127.0.0.0/8: besides the per-address limit there is a ceiling on failures from all addresses
// per window. Past it, addresses that have not presented a valid token lately get 429 whatever
// they send; addresses that have keep working with their token (and keep their own limit).
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { createFailureLimiter } from '../../server/admin/auth.ts';
import { ADMIN_TOKEN, READ_TOKEN, adminFixture } from './admin-fixture.ts';

/** GET `path` over a real socket bound to `localAddress`. */
function request(port: number, localAddress: string, token: string | null, path = '/servers'): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: '127.0.0.1', port, path, localAddress, agent: false, timeout: 5000,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${localAddress}`)));
  });
}

const WRONG = 'wrong-token-but-long-enough-0000';

test('wrong tokens from ever-new loopback addresses are refused with 429 once the global ceiling is reached', async () => {
  const g = await adminFixture({ tokens: true, authFailures: { max: 3, globalMax: 20, windowMs: 60_000 } });
  try {
    await g.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (g.app.server.address() as { port: number }).port;
    // an operator who authenticated before the guessing started
    assert.equal((await request(port, '127.0.0.1', READ_TOKEN)).status, 200);

    // one guess per address: each stays far below the per-address limit of 3
    const statuses: number[] = [];
    for (let i = 2; i < 32; i++) statuses.push((await request(port, `127.0.0.${i}`, WRONG)).status);
    assert.deepEqual(statuses, [...Array(20).fill(401), ...Array(10).fill(429)]);

    const fresh = await request(port, '127.0.0.200', ADMIN_TOKEN);
    assert.equal(fresh.status, 429, 'a right token from an unknown address is refused too: 200 here would tell a guesser it had won');
    assert.ok(Number(fresh.retryAfter) > 0);
    assert.equal((await request(port, '127.0.0.201', null)).status, 429);
    assert.equal((await request(port, '127.0.0.202', null, '/openapi.json')).status, 200, 'public routes stay public');

    // the operator's address keeps working with its token, and keeps its own per-address limit
    assert.equal((await request(port, '127.0.0.1', READ_TOKEN)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await request(port, '127.0.0.1', WRONG)).status, 401);
    assert.equal((await request(port, '127.0.0.1', READ_TOKEN)).status, 429);
  } finally {
    await g.close();
  }
});

test('the global ceiling lifts when its window ends; a success trusts an address for a while', () => {
  let now = 0;
  const limiter = createFailureLimiter({ max: 5, globalMax: 3, windowMs: 1000, trustMs: 10_000, now: () => now });
  limiter.succeed('good');
  for (const ip of ['a', 'b', 'c']) limiter.fail(ip);
  assert.equal(limiter.retryAfter('d'), 1, 'an address that never failed is locked out');
  assert.equal(limiter.retryAfter('good'), 0);
  now = 999;
  assert.equal(limiter.retryAfter('d'), 1);
  now = 1000;
  assert.equal(limiter.retryAfter('d'), 0, 'a new window');
  limiter.fail('a');
  assert.equal(limiter.retryAfter('d'), 0, 'one failure in the new window is below the ceiling');
  now = 10_001;
  for (const ip of ['a', 'b', 'c']) limiter.fail(ip);
  assert.equal(limiter.retryAfter('good'), 1, 'trust runs out');
});

test('failures from one address count towards the global ceiling too', () => {
  const limiter = createFailureLimiter({ max: 100, globalMax: 3, windowMs: 1000, now: () => 0 });
  limiter.fail('a');
  limiter.fail('a');
  assert.equal(limiter.fail('a'), true, 'the failure that reaches the ceiling says so (it is logged)');
  assert.equal(limiter.fail('a'), false);
  assert.equal(limiter.retryAfter('z'), 1);
});
