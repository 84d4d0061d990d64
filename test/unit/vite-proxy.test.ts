// The dashboard's dev server (`npx vite`) forwards every route the admin app has to the admin
// server, WebSockets too, and keeps its own files. The matcher is vite's: a key starting with ^ is
// a regular expression, any other a path prefix (createProxyContextMatcher in vite's proxy middleware).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import config from '../../vite.config.ts';
import { adminRoutes, parseRouteTree } from '../helpers/admin-routes.ts';

const proxy = Object.entries(config.server?.proxy ?? {});

/** The proxy entry vite would use for `url`, as its middleware picks it: the first that matches. */
function forwardedBy(url: string) {
  const hit = proxy.find(([key]) => (key.startsWith('^') ? new RegExp(key).test(url) : url.startsWith(key)));
  return hit === undefined ? undefined : typeof hit[1] === 'string' ? { target: hit[1] } : hit[1];
}

/** A concrete URL for a route's path: a number for each parameter, a file name for a wildcard. */
const sample = (path: string) => path.replace(/:[^/]+/g, '0').replace(/\*$/, 'x.js');

test('the route-tree reader joins the radix tree\'s pieces into whole paths', () => {
  const tree = '└── / (GET, HEAD)\n    ├── health (GET, HEAD, PUT)\n    │   └── z (GET, HEAD)\n    └── servers (GET)\n        └── /:n (PATCH)\n';
  assert.deepEqual(parseRouteTree(tree), [
    { method: 'GET', path: '/' }, { method: 'GET', path: '/health' }, { method: 'PUT', path: '/health' },
    { method: 'GET', path: '/healthz' }, { method: 'GET', path: '/servers' }, { method: 'PATCH', path: '/servers/:n' },
  ]);
});

test('every route the admin app registers but / goes to the admin server', async () => {
  const routes = await adminRoutes();
  // the ones the dashboard calls and the old hand list lacked, so the reader cannot have missed them
  for (const p of ['/health', '/commands', '/metrics', '/openapi.json', '/healthz', '/commands/servers']) {
    assert.ok(routes.some((r) => r.path === p), `the app has ${p}`);
  }
  for (const { method, path } of routes) {
    if (path === '/') continue; // the dashboard itself: the dev server's page
    const url = sample(path);
    assert.ok(forwardedBy(url)?.target, `${method} ${path} (${url}) is forwarded`);
    assert.ok(forwardedBy(`${url}?x=1`)?.target, `${url} with a query is forwarded`);
  }
  assert.equal(forwardedBy('/stream')?.ws, true, 'the event stream is a WebSocket');
});

test('the dev server keeps its own files: the page, its sources, vite\'s own paths and the HMR socket', () => {
  const web = join(import.meta.dirname, '../../web');
  const own = ['/', '/index.html', '/?token=abc', '/@vite/client', '/@fs/x', '/@id/preact', '/__vite_ping',
    '/node_modules/.vite/deps/preact.js', '/assets/index-abc.js'];
  for (const file of readdirSync(join(web, 'src'), { recursive: true, encoding: 'utf8' })) {
    own.push(`/${relative(web, join(web, 'src', file))}`);
  }
  assert.ok(own.includes('/src/main.tsx'));
  for (const url of own) assert.equal(forwardedBy(url), undefined, `${url} is the dev server's`);
});
