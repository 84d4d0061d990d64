#!/usr/bin/env node
// penctl: runs the built client (`npm run build` makes dist/; an installed package ships it).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/penctl.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("penctl: dist/penctl.js is missing: run 'npm run build' in this checkout first\n");
  process.exit(1);
}
await import(entry.href);
