// Count the file-system calls a piece of code makes: the fs functions that open, read, stat or
// list are wrapped in place, and syncBuiltinESMExports() makes the modules that imported them
// by name (`import { stat } from 'node:fs/promises'`) see the wrappers too.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const SYNC = ['openSync', 'readFileSync', 'statSync', 'lstatSync', 'existsSync', 'readdirSync', 'accessSync'] as const;
const CALLBACK = ['open', 'readFile', 'stat', 'lstat', 'exists', 'readdir', 'access'] as const;
const PROMISES = ['open', 'readFile', 'stat', 'lstat', 'readdir', 'access'] as const;

export interface FsCounter {
  /** the calls made since start, as `module.name path` */
  calls: string[];
  restore(): void;
}

export function countFsCalls(): FsCounter {
  const calls: string[] = [];
  const undo: (() => void)[] = [];
  const wrap = (target: Record<string, unknown>, name: string, label: string) => {
    const original = target[name] as (...args: unknown[]) => unknown;
    target[name] = function (this: unknown, ...args: unknown[]) {
      calls.push(`${label}.${name} ${String(args[0])}`);
      return original.apply(this, args);
    };
    undo.push(() => { target[name] = original; });
  };
  for (const n of SYNC) wrap(fs as unknown as Record<string, unknown>, n, 'fs');
  for (const n of CALLBACK) wrap(fs as unknown as Record<string, unknown>, n, 'fs');
  for (const n of PROMISES) wrap(fsp as unknown as Record<string, unknown>, n, 'fs/promises');
  syncBuiltinESMExports();
  return {
    calls,
    restore() {
      for (const u of undo.reverse()) u();
      syncBuiltinESMExports();
    },
  };
}
