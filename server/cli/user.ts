// -u: getpwnam from /etc/passwd (Node has none), then setgid + setuid as pen does.
import { readFileSync } from 'node:fs';
import { PenError } from '../core/errors.ts';

export function lookupUser(name: string): { uid: number; gid: number } {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch { /* no passwd file: only numeric ids below */ }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new PenError('PEN_ERR_ARGUMENT', `Can't getpwnam(${name})`);
}

export function dropPrivileges(name: string): void {
  const { uid, gid } = lookupUser(name);
  if (process.getuid?.() === uid) return;
  process.setgid!(gid);
  process.setuid!(uid);
}
