// TLS termination (-E -K -G -A -Z -R -L and the ssl_* commands) on node:tls. Only the client
// side is encrypted; backends get plaintext, exactly as with pen.
//
// Mapping of pen's OpenSSL settings onto Node:
// * -L ssl23|ssl2|ssl3|tls1: pen uses the SSLv23 method and only *removes* versions older than
//   the one named; Node never offers SSLv2/SSLv3 and its default floor is TLS 1.2, so all four
//   give Node's defaults (TLS 1.2 and 1.3).
// * ssl_option no_sslv2|no_sslv3|no_tlsv1|no_tlsv1.1: already true. no_tlsv1.2 → TLS 1.3 only.
//   cipher_server_preference → honorCipherOrder. -Z → SSL_OP_ALL (bug workarounds).
// * ssl_ciphers: Node's `ciphers` (TLS 1.2 cipher list and/or TLS 1.3 suite names).
// * -R: request a client certificate and refuse the handshake without a valid one; otherwise no
//   certificate is requested. Trust: -G (file) and every PEM certificate in -A (directory), or
//   Node's bundled roots when neither is given.
// * ssl_sni_path DIR: per SNI name, DIR/NAME.crt + DIR/NAME.key (+ DIR/NAME.ca) loaded on first use
//   and cached; a name without files gets the default certificate. DIR is read live.
// * OCSP stapling: DIR/NAME.ocsp for SNI names (re-read at most hourly), else the ssl_ocsp_response
//   file, re-read whenever its modification time changes (pen: "repeat the command to refresh").
//   A file that is not shaped like a DER OCSP response is not stapled (see looksLikeOcspResponse).
// * Every file goes through files.ts: regular files only, at most FILE_LIMITS.tls bytes, opened
//   O_NONBLOCK so a FIFO cannot stall pen. The default context is read synchronously when the
//   listener is built; SNI files and OCSP staples, read during handshakes, asynchronously.
// * ssl_client_renegotiation_interval S: TLS 1.3 has no renegotiation at all. For TLS 1.2 clients
//   Node's own guard is used: more than one renegotiation within S seconds of the previous
//   handshake fails the socket (tls.CLIENT_RENEG_LIMIT = 1, CLIENT_RENEG_WINDOW = S), which closes
//   the client as pen does. These are process-wide in Node, which is fine: pen has one listener.
import { X509Certificate, constants as cryptoConstants, createPrivateKey } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server as NetServer, Socket } from 'node:net';
import tls from 'node:tls';
import { debug } from './diag.ts';
import { PenError } from './errors.ts';
import { FileError, readOperatorFile, readOperatorFileSync } from './files.ts';
import type { Settings, SslSettings } from './settings.ts';

const OCSP_SNI_REFRESH_MS = 3600 * 1000;

function readPem(path: string, what: string): Buffer {
  try {
    return readOperatorFileSync(path, 'tls').data;
  } catch (err) {
    throw new PenError('PEN_ERR_IO', `SSL: can't read ${what} file '${path}': ${err instanceof FileError ? err.reason : (err as Error).message}`);
  }
}

/**
 * Whether `der` has the shape of an OCSPResponse: one DER SEQUENCE spanning the whole file that
 * starts with the ENUMERATED responseStatus (RFC 6960 4.2.1). Staples go to every client that asks,
 * so without this `ssl_ocsp_response /etc/shadow` would hand that file to anyone who connects.
 */
export function looksLikeOcspResponse(der: Buffer): boolean {
  if (der.length < 5 || der[0] !== 0x30) return false;
  let len = der[1];
  let at = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[2 + i];
    at = 2 + n;
  }
  return at + len === der.length && der[at] === 0x0a && der[at + 1] === 0x01 && der[at + 2] <= 6;
}

/** An OCSP staple file, or null (debug says why) when it cannot be read or is not an OCSP response. */
async function readStaple(path: string, optional: boolean): Promise<Buffer | null> {
  const data = optional ? await readOptional(path) : (await readOperatorFile(path, 'tls')).data;
  if (data === null || looksLikeOcspResponse(data)) return data;
  debug(`SSL: ${path}: not a DER OCSP response; nothing is stapled`);
  return null;
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

/** Every PEM certificate in a (hashed or not) CA directory. */
function readCaDir(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new PenError('PEN_ERR_IO', `SSL: can't read CA directory '${dir}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const out: Buffer[] = [];
  for (const name of names.sort()) {
    try {
      const pem = readOperatorFileSync(join(dir, name), 'tls').data;
      if (pem.includes('-----BEGIN CERTIFICATE-----')) out.push(pem);
    } catch {
      // unreadable entries, subdirectories and FIFOs are skipped, as OpenSSL's hashed lookup would
    }
  }
  return out;
}

/**
 * OpenSSL quietly drops a key that does not belong to the certificate (the failure would only
 * show at the first handshake), so check the pair here. Returns the reason, or null when they match.
 */
export function keyMismatch(cert: Buffer, key: Buffer): string | null {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key)) ? null : 'the key does not match the certificate';
  } catch (err) {
    return (err as Error).message;
  }
}

/** The options every context shares: protocol floor, cipher list, OpenSSL option bits. */
export function protocolOptions(ssl: SslSettings): tls.SecureContextOptions {
  const opts: tls.SecureContextOptions = {};
  let secureOptions = 0;
  if (ssl.compat) secureOptions |= cryptoConstants.SSL_OP_ALL;
  for (const o of ssl.options) {
    if (o === 'no_tlsv1.2') opts.minVersion = 'TLSv1.3';
    else if (o === 'cipher_server_preference') secureOptions |= cryptoConstants.SSL_OP_CIPHER_SERVER_PREFERENCE;
    // no_sslv2, no_sslv3, no_tlsv1, no_tlsv1.1: Node never offers those
  }
  if (secureOptions !== 0) opts.secureOptions = secureOptions;
  if (ssl.ciphers) opts.ciphers = ssl.ciphers;
  return opts;
}

/** Build the default context from -E/-K/-G/-A; throws a PenError naming the bad file. */
export function defaultContextOptions(ssl: SslSettings): tls.SecureContextOptions {
  if (!ssl.cert) throw new PenError('PEN_ERR_ARGUMENT', 'SSL: no certificate file (-E)');
  const cert = readPem(ssl.cert, 'certificate');
  const key = ssl.key ? readPem(ssl.key, 'key') : cert; // -K defaults to the certificate file
  if (!key.includes('PRIVATE KEY-----')) {
    throw new PenError('PEN_ERR_IO', `SSL: no private key in '${ssl.key ?? ssl.cert}'${ssl.key ? '' : ' (give the key with -K keyfile)'}`);
  }
  const mismatch = keyMismatch(cert, key);
  if (mismatch !== null) {
    throw new PenError('PEN_ERR_IO', `SSL: Unable to create default context from certificate '${ssl.cert}' and key '${ssl.key ?? ssl.cert}': ${mismatch}`);
  }
  const opts: tls.SecureContextOptions = { ...protocolOptions(ssl), cert, key };
  const ca: Buffer[] = [];
  if (ssl.caFile) ca.push(readPem(ssl.caFile, 'CA certificate'));
  if (ssl.caDir) ca.push(...readCaDir(ssl.caDir));
  if (ca.length > 0) opts.ca = ca;
  else debug('SSL: No verify locations, trying default'); // pen prints this whenever -G/-A are absent
  try {
    tls.createSecureContext(opts); // fail now, with the reason, rather than on the first client
  } catch (err) {
    throw new PenError('PEN_ERR_IO', `SSL: Unable to create default context from certificate '${ssl.cert}'${ssl.key ? ` and key '${ssl.key}'` : ''}: ${(err as Error).message}`);
  }
  return opts;
}

interface SniEntry {
  context: tls.SecureContext;
  ocspPath: string;
  /** the staple being read or last read (null: none) */
  ocsp: Promise<Buffer | null>;
  ocspRead: number;
}

/** SNI contexts, loaded from ssl_sni_path on first use. */
export class SniStore {
  private readonly cache = new Map<string, SniEntry>();
  /** names being loaded: handshakes for the same new name wait for one load */
  private readonly loading = new Map<string, Promise<SniEntry | null>>();
  /** certificate (DER, base64) → SNI name, so an OCSP request can find its staple */
  private readonly byCert = new Map<string, string>();
  private dir: string | null = null;

  constructor(private readonly ssl: SslSettings) {}

  /** The context for `name`, or null for the default one. */
  async lookup(name: string): Promise<tls.SecureContext | null> {
    const dir = this.ssl.sniPath;
    if (!dir) return null;
    if (dir !== this.dir) {
      // a new ssl_sni_path: forget what the old directory held
      this.cache.clear();
      this.byCert.clear();
      this.loading.clear();
      this.dir = dir;
    }
    const key = name.toLowerCase();
    // host names only: no path separators or parent references reach the file system
    if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(key)) return null;
    const hit = this.cache.get(key);
    if (hit) return hit.context;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(dir, key).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return (await pending)?.context ?? null;
  }

  private async load(dir: string, key: string): Promise<SniEntry | null> {
    const [cert, privateKey, ca] = await Promise.all(['crt', 'key', 'ca'].map((ext) => readOptional(join(dir, `${key}.${ext}`))));
    if (cert === null || privateKey === null) return null; // no files for this name (not cached: they may appear later)
    const mismatch = keyMismatch(cert, privateKey);
    if (mismatch !== null) {
      debug(`SSL: SNI certificate for ${key}: ${mismatch}`);
      return null;
    }
    const opts: tls.SecureContextOptions = { ...protocolOptions(this.ssl), cert, key: privateKey };
    if (ca !== null) opts.ca = ca; // the CA file is optional
    let context: tls.SecureContext;
    try {
      context = tls.createSecureContext(opts);
    } catch (err) {
      debug(`SSL: SNI context for ${key}: ${(err as Error).message}`);
      return null;
    }
    if (this.ssl.sniPath !== dir) return null; // ssl_sni_path changed while the files were read
    const entry: SniEntry = { context, ocspPath: join(dir, `${key}.ocsp`), ocsp: Promise.resolve(null), ocspRead: 0 };
    this.cache.set(key, entry);
    try {
      this.byCert.set(new X509Certificate(cert).raw.toString('base64'), key);
    } catch {
      // not parseable here: no OCSP stapling for it
    }
    return entry;
  }

  /** The OCSP staple for an SNI certificate, or undefined when the certificate is not an SNI one. */
  async ocspFor(certDer: Buffer): Promise<Buffer | null | undefined> {
    const name = this.byCert.get(certDer.toString('base64'));
    if (name === undefined) return undefined;
    const e = this.cache.get(name);
    if (!e) return undefined;
    const now = Date.now();
    if (e.ocspRead === 0 || now - e.ocspRead >= OCSP_SNI_REFRESH_MS) {
      e.ocspRead = now;
      e.ocsp = readStaple(e.ocspPath, true);
    }
    return await e.ocsp;
  }
}

/** The default context's staple: the ssl_ocsp_response file, re-read when it changes. */
class OcspFile {
  private path: string | null = null;
  private mtime = -1;
  private data: Buffer | null = null;

  async get(path: string | null): Promise<Buffer | null> {
    if (!path) return null;
    try {
      const m = (await stat(path)).mtimeMs;
      if (path !== this.path || m !== this.mtime) {
        this.data = await readStaple(path, false);
        this.path = path;
        this.mtime = m;
      }
    } catch (err) {
      if (path !== this.path) debug(`SSL: can't read OCSP response '${path}': ${err instanceof FileError ? err.reason : (err as Error).message}`);
      this.path = path;
      this.mtime = -1;
      this.data = null;
    }
    return this.data;
  }
}

function applyRenegotiationLimit(ssl: SslSettings): void {
  // writable module settings, typed read-only in @types/node
  const knobs = tls as unknown as { CLIENT_RENEG_LIMIT: number; CLIENT_RENEG_WINDOW: number };
  knobs.CLIENT_RENEG_LIMIT = 1;
  knobs.CLIENT_RENEG_WINDOW = Math.max(1, ssl.renegotiationInterval);
}

/**
 * The listener factory for balancer.ts: a TLS server whose sockets reach the balancer paused and
 * half-open capable, once the handshake is done. The default context is built (and its files
 * checked) here, so a bad -E/-K/-G/-A fails at start-up with a PenError.
 */
export function tlsServerFactory(settings: Settings): (onConnection: (s: Socket) => void) => NetServer {
  const ssl = settings.ssl;
  const base = defaultContextOptions(ssl);
  const sni = new SniStore(ssl);
  const ocsp = new OcspFile();
  applyRenegotiationLimit(ssl);
  return (onConnection) => {
    const server = tls.createServer({
      ...base,
      allowHalfOpen: true,
      noDelay: settings.tcpNodelay,
      requestCert: ssl.requireClientCert,
      rejectUnauthorized: ssl.requireClientCert,
      SNICallback: (name, cb) => {
        sni.lookup(name).then((context) => cb(null, context ?? undefined), () => cb(null, undefined));
      },
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      socket.pause(); // the balancer resumes it once a backend is connected
      applyRenegotiationLimit(ssl);
      onConnection(socket);
    });
    server.on('OCSPRequest', (cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp: Buffer | null) => void) => {
      void (async () => {
        const staple = await sni.ocspFor(cert);
        return staple !== undefined ? staple : await ocsp.get(ssl.ocspResponse);
      })().then((staple) => cb(null, staple), () => cb(null, null));
    });
    server.on('tlsClientError', (err) => {
      if (settings.debug >= 1) debug(`SSL: ${err.message}`);
    });
    return server;
  };
}
