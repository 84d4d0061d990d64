// Files named by the operator: -F/include, write, -w/web_stats, -l/log, -p, geoip, the admin token
// file and the TLS certificates, keys, CA files and OCSP responses. A name can point anywhere:
// a FIFO (open() would wait for the other end, with the whole balancer), /dev/zero (a read that
// never ends), a 10 GB file. So every open is O_NONBLOCK, fstat decides what the name really is
// before anything is read or written, reads stop at a size cap per kind, and writes go to a
// temporary file in the same directory that is renamed into place.
import { randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, realpathSync, renameSync, statSync,
  unlinkSync, writeSync, type Stats,
} from 'node:fs';
import { open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PenError } from './errors.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The largest file read for each use; anything bigger is refused, not truncated. */
export const FILE_LIMITS = {
  /** -F and include: pen's configuration files are a few KB; `write` output for 10 000 servers is ~1 MB */
  config: 4 * MiB,
  /** MaxMind databases: GeoLite2-Country is ~9 MB, GeoIP2-City ~70 MB (only the country is used) */
  geoip: 256 * MiB,
  /** --admin-token-file: one line per token */
  tokens: 64 * KiB,
  /** -E/-K/-G, CA directory entries, SNI .crt/.key/.ca, OCSP responses (a system CA bundle is ~220 KB) */
  tls: 4 * MiB,
} as const;
export type FileKind = keyof typeof FILE_LIMITS;

/**
 * A file that cannot be used. `reason` never quotes the file's content or the path (replies about
 * an included file's lines use it as they are); `message` is `PATH: reason`.
 */
export class FileError extends PenError {
  constructor(readonly path: string, readonly reason: string, what?: string) {
    super('PEN_ERR_IO', `${what ? `${what}: ` : ''}${path}: ${reason}`);
  }

  /** the file is not there (as opposed to there but unusable) */
  get missing(): boolean {
    return this.reason.endsWith('(ENOENT)');
  }

  /** The same error, its message prefixed with the command or setting that used the file. */
  for(what: string): FileError {
    return new FileError(this.path, this.reason, what);
  }
}

/** What `path` turned out to be and what was read from it. */
export interface OperatorFile {
  data: Buffer;
  /** device and inode: the same file under two names (include cycles) has the same id */
  id: string;
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
/**
 * -l: append, created if missing. O_NONBLOCK makes a FIFO without a reader fail with ENXIO at once
 * instead of waiting, and makes writes to a FIFO or device whose reader lags fail with EAGAIN.
 */
const APPEND_FLAGS =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY;
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** rewriting a file in place, once fstat has said it is a regular one (no O_TRUNC before that) */
const IN_PLACE_FLAGS = constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
/** no temporary file may be made beside the target: pen's setups where only the file is writable */
const DIR_DENIED = new Set(['EACCES', 'EPERM']);
const CHUNK = 64 * KiB;

const ERRNO_REASONS: Record<string, string> = {
  ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory', ELOOP: 'too many symbolic links', EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device', ENXIO: 'nobody has the other end open (a FIFO without a reader, or a socket)', EXDEV: 'crosses devices',
};

function osError(path: string, err: unknown): FileError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  return new FileError(path, `${ERRNO_REASONS[code] ?? 'cannot be used'} (${code})`);
}

function describe(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'an unknown kind of file';
}

function notRegular(path: string, st: Stats): FileError {
  return new FileError(path, `not a regular file (${describe(st)})`);
}

function checkReadable(path: string, st: Stats, kind: FileKind): void {
  if (!st.isFile()) throw notRegular(path, st);
  if (st.size > FILE_LIMITS[kind]) throw tooLarge(path, kind);
}

const tooLarge = (path: string, kind: FileKind) => new FileError(path, `larger than ${FILE_LIMITS[kind]} bytes, the limit for a ${kind} file`);
const fileId = (st: Stats) => `${st.dev}:${st.ino}`;

/**
 * Read `path`, which must be a regular file of at most FILE_LIMITS[kind] bytes. Stops at the cap
 * even when the file grows while it is read (or, like /proc files, says it is empty).
 */
export async function readOperatorFile(path: string, kind: FileKind): Promise<OperatorFile> {
  let fh;
  try {
    fh = await open(path, READ_FLAGS);
  } catch (err) {
    throw osError(path, err);
  }
  try {
    const st = await fh.stat();
    checkReadable(path, st, kind);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, CHUNK), FILE_LIMITS[kind] + 1 - total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > FILE_LIMITS[kind]) throw tooLarge(path, kind);
    }
    return { data: Buffer.concat(chunks, total), id: fileId(st) };
  } catch (err) {
    throw err instanceof FileError ? err : osError(path, err);
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * The same, for the few callers that cannot wait (start-up, the TLS context a listener is built
 * with): it cannot block on a FIFO or device either, and reads at most the cap from a regular file.
 */
export function readOperatorFileSync(path: string, kind: FileKind): OperatorFile {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (err) {
    throw osError(path, err);
  }
  try {
    const st = fstatSync(fd);
    checkReadable(path, st, kind);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size - total, CHUNK), FILE_LIMITS[kind] + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > FILE_LIMITS[kind]) throw tooLarge(path, kind);
    }
    return { data: Buffer.concat(chunks, total), id: fileId(st) };
  } catch (err) {
    throw err instanceof FileError ? err : osError(path, err);
  } finally {
    closeSync(fd);
  }
}

/** Where a write to `path` lands (through symlinks) and the mode to keep, or refused if not a regular file. */
function writeTarget(path: string, st: Stats | null, real: string | null): { target: string; mode: number | null } {
  if (st === null) return { target: path, mode: null };
  if (!st.isFile()) throw notRegular(path, st);
  return { target: real ?? path, mode: st.mode & 0o7777 };
}

const tempName = (target: string) => join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);

/**
 * Replace the regular file `path` (or create it) with `data`: written to a temporary file beside it
 * and renamed into place, so readers see the old page or the new one, never half of one, and a FIFO
 * or device under that name is refused instead of waited on. A symlink is followed; the file's
 * permission bits are kept. Where the directory allows no new file but the file itself is writable
 * (a file chowned to the -u user in a root-owned directory), the file is rewritten in place, as pen does.
 */
export async function writeOperatorFile(path: string, data: string | Buffer): Promise<void> {
  let st: Stats | null = null;
  let real: string | null = null;
  try {
    st = await stat(path);
    real = await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw osError(path, err);
  }
  const { target, mode } = writeTarget(path, st, real);
  const tmp = tempName(target);
  let fh;
  try {
    fh = await open(tmp, TEMP_FLAGS, mode ?? 0o666);
  } catch (err) {
    if (mode !== null && DIR_DENIED.has((err as NodeJS.ErrnoException).code ?? '')) return rewriteInPlace(path, target, data);
    throw osError(path, err);
  }
  try {
    if (mode !== null) await fh.chmod(mode); // the umask applied to open(); keep the old file's bits
    await fh.writeFile(data);
    await fh.close();
    fh = null;
    await rename(tmp, target);
  } catch (err) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw osError(path, err);
  }
}

async function rewriteInPlace(path: string, target: string, data: string | Buffer): Promise<void> {
  let fh;
  try {
    fh = await open(target, IN_PLACE_FLAGS);
  } catch (err) {
    throw osError(path, err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(path, st); // swapped for a FIFO since the stat above
    await fh.truncate(0);
    await fh.writeFile(data);
  } catch (err) {
    throw err instanceof FileError ? err : osError(path, err);
  } finally {
    await fh.close().catch(() => {});
  }
}

function rewriteInPlaceSync(path: string, target: string, data: string | Buffer): void {
  let fd: number;
  try {
    fd = openSync(target, IN_PLACE_FLAGS);
  } catch (err) {
    throw osError(path, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, st);
    ftruncateSync(fd, 0);
    writeAllSync(fd, data);
  } catch (err) {
    throw err instanceof FileError ? err : osError(path, err);
  } finally {
    closeSync(fd);
  }
}

function writeAllSync(fd: number, data: string | Buffer): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
}

/** The same, for the callers that answer at once (`status` writing the -w page, SIGUSR1). */
export function writeOperatorFileSync(path: string, data: string | Buffer): void {
  let st: Stats | null = null;
  let real: string | null = null;
  try {
    st = statSync(path);
    real = realpathSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw osError(path, err);
  }
  const { target, mode } = writeTarget(path, st, real);
  const tmp = tempName(target);
  let fd: number;
  try {
    fd = openSync(tmp, TEMP_FLAGS, mode ?? 0o666);
  } catch (err) {
    if (mode !== null && DIR_DENIED.has((err as NodeJS.ErrnoException).code ?? '')) return rewriteInPlaceSync(path, target, data);
    throw osError(path, err);
  }
  try {
    if (mode !== null) chmodSync(tmp, mode);
    writeAllSync(fd, data);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, target);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    try { unlinkSync(tmp); } catch { /* not created or already renamed */ }
    throw osError(path, err);
  }
}

/**
 * Open the -l request log for appending. Besides regular files, a FIFO that a log reader already
 * holds open and a character device (/dev/stderr on a terminal, /dev/null) are accepted: people run
 * pen that way, and with O_NONBLOCK neither can stall the balancer (a FIFO nobody reads is refused at
 * open with ENXIO; a reader that lags loses lines, see RequestLog). Directories, block devices and
 * sockets are refused. Returns the descriptor and whether it is a regular file.
 */
export function openAppend(path: string): { fd: number; regular: boolean } {
  let fd: number;
  try {
    fd = openSync(path, APPEND_FLAGS, 0o666);
  } catch (err) {
    throw osError(path, err);
  }
  const st = fstatSync(fd);
  if (!st.isFile() && !st.isFIFO() && !st.isCharacterDevice()) {
    closeSync(fd);
    throw new FileError(path, `not a regular file, FIFO or character device (${describe(st)})`);
  }
  return { fd, regular: st.isFile() };
}
