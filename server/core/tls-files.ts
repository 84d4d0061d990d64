// The files TLS handshakes use, read off the handshake path: the SNI certificates of ssl_sni_path
// DIR (NAME.crt + NAME.key, optional NAME.ca and NAME.ocsp) and the default certificate's OCSP
// staple (ssl_ocsp_response FILE). They are read when the listener is built and again when they
// change; the SNI callback and the OCSP request only look in memory.
//
// A change is noticed three ways: fs.watch on the directories (a write in place or an atomic
// rename), the ssl_sni_path / ssl_ocsp_response commands (sslFilesChanged; pen: "repeat the command
// to refresh"), and a refresh every REFRESH_MS for file systems that report nothing. A noticed
// change is read once its writer has been quiet for SETTLE_MS, and a handshake that arrives
// meanwhile waits for that read (a promise, not a file access), so it gets the new file as before.
// Unchanged files (same size and mtime) are not read again.
//
// Every file goes through files.ts: regular files only, at most FILE_LIMITS.tls bytes, O_NONBLOCK.
import { X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { debug } from './diag.ts';
import { FileError, readOperatorFile } from './files.ts';
import type { SslSettings } from './settings.ts';

const SETTLE_MS = 30;
const REFRESH_MS = 60_000;
/** names read from one ssl_sni_path: each costs a context in memory */
const SNI_NAMES_MAX = 10_000;
/** host names only: no path separators or parent references reach the file system */
const SNI_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/**
 * Whether `der` has the shape of an OCSPResponse: one DER SEQUENCE spanning the whole file that
 * starts with the ENUMERATED responseStatus (RFC 6960 4.2.1). Staples go to every client that asks,
 * so without this `ssl_ocsp_response /etc/shadow` would hand that file to anyone who connects.
 */
export function looksLikeOcspResponse(der: Buffer): boolean {
  if (der.length < 5 || der[0] !== 0x30) return false;
  let len = der.readUInt8(1);
  let at = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) return false;
    len = der.readUIntBE(2, n);
    at = 2 + n;
  }
  const [tag, size, status = 0xff] = der.subarray(at, at + 3); // 0xff: no status byte, not a response
  return at + len === der.length && tag === 0x0a && size === 0x01 && status <= 6;
}

/** A file that may be missing (SNI names without files, optional .ca and .ocsp files): null then. */
async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return (await readOperatorFile(path, 'tls')).data;
  } catch (err) {
    if (err instanceof FileError && !err.missing) debug(`SSL: ${err.message}`);
    return null;
  }
}

/** An OCSP staple file, or null (debug says why) when it is not an OCSP response. */
function staple(path: string, data: Buffer | null): Buffer | null {
  if (data === null || looksLikeOcspResponse(data)) return data;
  debug(`SSL: ${path}: not a DER OCSP response; nothing is stapled`);
  return null;
}

/** What tells a changed file from an unchanged one without reading it: size and mtime, '-' if absent. */
async function stampOf(paths: string[]): Promise<string> {
  const parts = await Promise.all(paths.map((p) => stat(p).then((s) => `${s.size}:${s.mtimeMs}`, () => '-')));
  return parts.join(' ');
}

/** Builds a context from an SNI name's files, or answers null after saying why through debug(). */
export type BuildContext<C> = (name: string, cert: Buffer, key: Buffer, ca: Buffer | null) => C | null;

interface SniEntry<C> {
  context: C;
  staple: Buffer | null;
  stamp: string;
  /** the certificate (DER, base64), so an OCSP request can find its staple; '' if unparseable */
  cert: string;
}

interface Loaded<C> {
  dir: string | null;
  sni: Map<string, SniEntry<C>>;
  byCert: Map<string, string>;
  ocspPath: string | null;
  ocspStamp: string;
  staple: Buffer | null;
}

/** The live file sets by the settings they serve, so a command can say a file was named again. */
const live = new WeakMap<SslSettings, TlsFiles<unknown>>();

/** ssl_sni_path / ssl_ocsp_response ran: read the files again (handshakes wait for it). */
export function sslFilesChanged(ssl: SslSettings): void {
  live.get(ssl)?.changed();
}

export class TlsFiles<C> {
  private state: Loaded<C> = {
    dir: null, sni: new Map(), byCert: new Map(), ocspPath: null, ocspStamp: '', staple: null,
  };
  /** the read a handshake waits for: the first one, then the latest noticed change */
  private ready: Promise<void>;
  /** reads run one after the other */
  private chain: Promise<void> = Promise.resolve();
  private settle: NodeJS.Timeout | null = null;
  private settled: () => void = () => {};
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly refresh: NodeJS.Timeout;

  constructor(private readonly ssl: SslSettings, private readonly build: BuildContext<C>) {
    this.ready = this.reload();
    this.refresh = setInterval(() => void this.reload(), REFRESH_MS);
    this.refresh.unref();
    live.set(ssl, this as TlsFiles<unknown>);
  }

  /** The context for an SNI name, or null for the default one. */
  async context(servername: string): Promise<C | null> {
    await this.ready;
    return this.state.sni.get(servername.toLowerCase())?.context ?? null;
  }

  /** The OCSP staple for a certificate: its SNI name's NAME.ocsp, else the ssl_ocsp_response file. */
  async staple(certDer: Buffer): Promise<Buffer | null> {
    await this.ready;
    const name = this.state.byCert.get(certDer.toString('base64'));
    return name !== undefined ? this.state.sni.get(name)?.staple ?? null : this.state.staple;
  }

  /** A change noticed: read again once quiet for SETTLE_MS, and let handshakes wait for that read. */
  changed(): void {
    if (this.settle === null) this.ready = new Promise((resolve) => { this.settled = resolve; });
    else clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = null;
      void this.reload().then(this.settled);
    }, SETTLE_MS);
    this.settle.unref();
  }

  close(): void {
    clearInterval(this.refresh);
    if (this.settle !== null) clearTimeout(this.settle);
    this.settled();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (live.get(this.ssl) === this) live.delete(this.ssl);
  }

  private reload(): Promise<void> {
    this.chain = this.chain.then(() => this.load())
      .catch((err) => debug(`SSL: reading the TLS files: ${(err as Error).message}`));
    return this.chain;
  }

  private async load(): Promise<void> {
    const { sniPath: dir, ocspResponse: ocspPath } = this.ssl;
    this.watch([dir, ocspPath === null ? null : dirname(ocspPath)]);
    const prev = this.state;
    const sni = new Map<string, SniEntry<C>>();
    const byCert = new Map<string, string>();
    if (dir) {
      for (const name of await this.sniNames(dir)) {
        const entry = await this.loadName(dir, name, prev.dir === dir ? prev.sni.get(name) : undefined);
        if (entry === null) continue;
        sni.set(name, entry);
        if (entry.cert) byCert.set(entry.cert, name);
      }
    }
    let { staple: ocsp, ocspStamp } = prev;
    if (ocspPath === null) {
      ocsp = null;
      ocspStamp = '';
    } else {
      const stamp = await stampOf([ocspPath]);
      if (ocspPath !== prev.ocspPath || stamp !== prev.ocspStamp) {
        try {
          ocsp = staple(ocspPath, (await readOperatorFile(ocspPath, 'tls')).data);
        } catch (err) {
          const why = err instanceof FileError ? err.reason : (err as Error).message;
          debug(`SSL: can't read OCSP response '${ocspPath}': ${why}`);
          ocsp = null;
        }
        ocspStamp = stamp;
      }
    }
    // a command named other files while these were read: the read it queued applies them
    if (dir !== this.ssl.sniPath || ocspPath !== this.ssl.ocspResponse) return;
    this.state = { dir, sni, byCert, ocspPath, ocspStamp, staple: ocsp };
  }

  /** The names DIR has a NAME.crt for (lower-case host names only, as handshakes ask for them). */
  private async sniNames(dir: string): Promise<string[]> {
    let files: string[];
    try {
      files = await readdir(dir);
    } catch (err) {
      debug(`SSL: can't read ssl_sni_path '${dir}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return [];
    }
    const names = files.filter((f) => f.endsWith('.crt')).map((f) => f.slice(0, -4)).filter((n) => SNI_NAME.test(n));
    names.sort();
    if (names.length > SNI_NAMES_MAX) {
      debug(`SSL: ssl_sni_path '${dir}' has ${names.length} names; the first ${SNI_NAMES_MAX} are used`);
    }
    return names.slice(0, SNI_NAMES_MAX);
  }

  /** One name's context and staple, reusing `prev` when none of its files changed; null without a usable pair. */
  private async loadName(dir: string, name: string, prev: SniEntry<C> | undefined): Promise<SniEntry<C> | null> {
    const file = (ext: string) => join(dir, `${name}.${ext}`);
    const paths: [string, string, string, string] = [file('crt'), file('key'), file('ca'), file('ocsp')];
    const stamp = await stampOf(paths);
    if (prev && prev.stamp === stamp) return prev;
    const [cert = null, key = null, ca = null, ocsp = null] = await Promise.all(paths.map(readOptional));
    if (cert === null || key === null) return null; // no key yet: the default certificate until it appears
    const context = this.build(name, cert, key, ca);
    if (context === null) return null;
    let der = '';
    try {
      der = new X509Certificate(cert).raw.toString('base64');
    } catch {
      // not parseable here: no OCSP stapling for it
    }
    return { context, staple: staple(paths[3], ocsp), stamp, cert: der };
  }

  /** Watch the directories the files are in; one that is not there yet is found by the refresh. */
  private watch(dirs: (string | null)[]): void {
    const want = new Set(dirs.filter((d): d is string => d !== null && d !== ''));
    for (const [d, w] of this.watchers) {
      if (want.has(d)) continue;
      w.close();
      this.watchers.delete(d);
    }
    for (const d of want) {
      if (this.watchers.has(d)) continue;
      try {
        const w = watch(d, { persistent: false }, (_event, file) => {
          const ocsp = this.ssl.ocspResponse;
          if (d === this.ssl.sniPath || file === null || (ocsp !== null && file === basename(ocsp))) this.changed();
        });
        w.on('error', () => {
          w.close();
          this.watchers.delete(d);
        });
        this.watchers.set(d, w);
      } catch {
        // no such directory, or no inotify watches left: the refresh still finds changes
      }
    }
  }
}
