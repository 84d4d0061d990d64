#!/usr/bin/env node
// pen: runs the built server (`npm run build` makes dist/; an installed package ships it).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/pen.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("pen: dist/pen.js is missing: run 'npm run build' in this checkout first\n");
  process.exit(1);
}
await import(entry.href);
