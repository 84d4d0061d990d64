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
// * ssl_sni_path DIR: per SNI name, DIR/NAME.crt + DIR/NAME.key (+ DIR/NAME.ca); a name without
//   files gets the default certificate. OCSP stapling: DIR/NAME.ocsp for SNI names, else the
//   ssl_ocsp_response file; a file not shaped like a DER OCSP response is not stapled. tls-files.ts
//   reads them when the listener is built and whenever they change, never during a handshake.
// * Every file goes through files.ts: regular files only, at most FILE_LIMITS.tls bytes, opened
//   O_NONBLOCK so a FIFO cannot stall pen. The default context is read synchronously when the
//   listener is built.
// * ssl_client_renegotiation_interval S: TLS 1.3 has no renegotiation at all. For TLS 1.2 clients
//   Node's own guard is used: more than one renegotiation within S seconds of the previous
//   handshake fails the socket (tls.CLIENT_RENEG_LIMIT = 1, CLIENT_RENEG_WINDOW = S), which closes
//   the client as pen does. These are process-wide in Node, which is fine: pen has one listener.
import { X509Certificate, constants as cryptoConstants, createPrivateKey } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server as NetServer, Socket } from 'node:net';
import tls from 'node:tls';
import { debug } from './diag.ts';
import { PenError } from './errors.ts';
import { FileError, readOperatorFileSync } from './files.ts';
import type { Settings, SslSettings } from './settings.ts';
import { TlsFiles } from './tls-files.ts';

export { looksLikeOcspResponse } from './tls-files.ts';

function readPem(path: string, what: string): Buffer {
  try {
    return readOperatorFileSync(path, 'tls').data;
  } catch (err) {
    throw new PenError('PEN_ERR_IO', `SSL: can't read ${what} file '${path}': ${err instanceof FileError ? err.reason : (err as Error).message}`);
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

/** An SNI name's context from its files (tls-files.ts reads them), or null after saying why. */
function sniContext(
  ssl: SslSettings, name: string, cert: Buffer, key: Buffer, ca: Buffer | null,
): tls.SecureContext | null {
  const mismatch = keyMismatch(cert, key);
  if (mismatch !== null) {
    debug(`SSL: SNI certificate for ${name}: ${mismatch}`);
    return null;
  }
  const opts: tls.SecureContextOptions = { ...protocolOptions(ssl), cert, key };
  if (ca !== null) opts.ca = ca; // the CA file is optional
  try {
    return tls.createSecureContext(opts);
  } catch (err) {
    debug(`SSL: SNI context for ${name}: ${(err as Error).message}`);
    return null;
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
  applyRenegotiationLimit(ssl);
  return (onConnection) => {
    // SNI contexts and staples, kept in memory: the two callbacks below only look them up
    const files = new TlsFiles(ssl, (name, cert, key, ca) => sniContext(ssl, name, cert, key, ca));
    const server = tls.createServer({
      ...base,
      allowHalfOpen: true,
      noDelay: settings.tcpNodelay,
      requestCert: ssl.requireClientCert,
      rejectUnauthorized: ssl.requireClientCert,
      SNICallback: (name, cb) => {
        files.context(name).then((context) => cb(null, context ?? undefined), () => cb(null, undefined));
      },
    });
    server.on('close', () => files.close());
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      socket.pause(); // the balancer resumes it once a backend is connected
      applyRenegotiationLimit(ssl);
      onConnection(socket);
    });
    server.on('OCSPRequest', (cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp: Buffer | null) => void) => {
      files.staple(cert).then((staple) => cb(null, staple), () => cb(null, null));
    });
    server.on('tlsClientError', (err) => {
      if (settings.debug >= 1) debug(`SSL: ${err.message}`);
    });
    return server;
  };
}
