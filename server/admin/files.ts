// Files named through REST and the dashboard stay inside the configuration directory (the -F
// file's directory, or --admin-file-root). pen itself writes, opens and unlinks wherever a command
// says, as root; that stays so on the penctl port and in -F files, which the operator controls.
// A browser page or a leaked token must not get `write /etc/…`, `log /root/.ssh/…`, or
// `include /etc/shadow` (whose replies quote each line's first word).
import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { SETTINGS, type SettingRow } from '../../shared/settings.ts';
import { lookup } from '../control/registry.ts';
import { HttpError } from './errors.ts';

/**
 * For each command that names a file: the path its words name, or null when they name none. A
 * setting whose row says its word is a file (web_stats, geoip, ssl_sni_path, …) names it as its word.
 */
const FILE_ARGUMENT: Readonly<Record<string, (args: readonly string[]) => string | null>> = {
  ...Object.fromEntries((SETTINGS as readonly SettingRow[]).filter((r) => r.file)
    .map((r) => [r.name, (a: readonly string[]) => a[0] ?? null])),
  write: (a) => a[0] ?? null,
  include: (a) => a[0] ?? null,
  // `log host:port` is a UDP target (the rule RequestLog uses), anything else a file
  log: (a) => (a[0] === undefined || (a[0].lastIndexOf(':') > 0 && !a[0].startsWith('/')) ? null : a[0]),
  // a Unix socket path: listening there first unlinks whatever file is at that path
  listen: (a) => (a[0]?.includes('/') ? a[0] : null),
};

/** The file a penctl line names, if its command is one that opens, writes or removes files. */
export function fileNamedBy(line: string): string | null {
  const found = lookup(line);
  const pick = found && FILE_ARGUMENT[found.spec.name];
  return pick ? pick(found.args) : null;
}

/**
 * The real path of `path`, following every symlink in the part that exists; null for a dangling
 * symlink, whose target a write would create wherever it points.
 */
function realPath(path: string): string | null {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(realpathSync(existing), ...rest);
    } catch {
      if (lstatOrNull(existing)?.isSymbolicLink()) return null;
      const up = dirname(existing);
      if (up === existing) return path;
      rest.unshift(basename(existing));
      existing = up;
    }
  }
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

export function isInside(root: string, path: string): boolean {
  const realRoot = realPath(resolve(root));
  const real = realPath(resolve(path));
  if (realRoot === null || real === null) return false;
  const rel = relative(realRoot, real);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Refuse (403) a REST command line that names a file outside `root`. Relative paths are taken
 * from pen's working directory, as the command itself will take them.
 */
export function confineFiles(line: string, root: string | null): void {
  const file = fileNamedBy(line);
  if (file === null) return;
  if (root === null) {
    throw new HttpError(403, `${file}: files can be named through the admin API only inside the configuration directory; start pen with -F or --admin-file-root`, 'file');
  }
  if (!isInside(root, file)) {
    throw new HttpError(403, `${file} is outside the configuration directory ${root}; through the admin API files must be inside it (the penctl port is not limited)`, 'file');
  }
}
