// The dashboard build: web/ → web/dist, which the admin server serves at /. Preact's JSX goes
// through vite's own transformer (oxc) with the automatic runtime; no framework plugin needed.
import { defineConfig, type ProxyOptions } from 'vite';
import { fileURLToPath } from 'node:url';

// `npx vite` (dev server) talks to a running `pen --admin 127.0.0.1:8080 --admin-cors http://localhost:5173 …`
// (changeOrigin: the admin server answers only to its own Host; the page's Origin needs --admin-cors)
const ADMIN = process.env.PEN_ADMIN ?? 'http://127.0.0.1:8080';
const API_PATHS = ['/stats', '/servers', '/mode', '/settings', '/clients', '/connections', '/acls', '/write', '/penctl', '/whoami'];
const proxy: Record<string, ProxyOptions> =
  Object.fromEntries(API_PATHS.map((p) => [p, { target: ADMIN, changeOrigin: true }]));
proxy['/stream'] = { target: ADMIN, ws: true, changeOrigin: true };

export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: './',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 150,
    // one chunk, so the modulepreload polyfill would be dead weight
    modulePreload: { polyfill: false },
  },
  server: { proxy },
});
