// The dashboard build: web/ → web/dist, which the admin server serves at /. Preact's JSX goes
// through vite's own transformer (oxc) with the automatic runtime; no framework plugin needed.
import { defineConfig, type ProxyOptions } from 'vite';
import { fileURLToPath } from 'node:url';

// `npx vite` (dev server) talks to a running `pen --admin 127.0.0.1:8080 --admin-cors http://localhost:5173 …`
// (changeOrigin: the admin server answers only to its own Host; the page's Origin needs --admin-cors)
const ADMIN = process.env.PEN_ADMIN ?? 'http://127.0.0.1:8080';
// Everything but the dev server's own paths goes to the admin server, so a new route needs no edit
// here (test/unit/vite-proxy.test.ts walks the app's routes). Its own: the page (`/`, with or without
// a query: the HMR socket is `/?token=…`), its sources under /src, the built /assets, vite's /@…,
// /__… and /node_modules/ paths. `ws` for /stream.
export const DEV_OWN = /^\/(?:$|[?#]|index\.html|src\/|assets\/|@|__|node_modules\/)/;
const proxy: Record<string, ProxyOptions> = {
  [`^(?!${DEV_OWN.source.slice(1)})`]: { target: ADMIN, ws: true, changeOrigin: true },
};

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
