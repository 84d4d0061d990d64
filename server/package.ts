// Where the installed package is and what version it is, found from this module's own location:
// server/ in a checkout (tests run the sources), dist/ once built, lib/node_modules/pen-ts/dist/
// when installed. The dashboard's files and the version live beside package.json in all three.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`pen: no package.json above ${fileURLToPath(import.meta.url)}`);
}

export const PACKAGE_ROOT = findRoot();

/** The built dashboard (vite's output). */
export const WEB_ROOT = join(PACKAGE_ROOT, 'web', 'dist');

/** package.json's version: what `pen --version` prints and the admin API reports. */
export const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
