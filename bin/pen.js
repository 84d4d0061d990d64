#!/usr/bin/env node
// Launcher: runs the TypeScript entry through tsx so `npm install` needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../server/cli/pen.ts');
