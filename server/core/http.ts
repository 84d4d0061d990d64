// -H: X-Forwarded-For / X-Forwarded-Proto insertion, per chunk read from the client, as pen does.

const MAX_CHUNK = 32768;
const METHODS = ['get ', 'post ', 'head '];

function startsWithMethod(chunk: Buffer): boolean {
  const head = chunk.toString('latin1', 0, 5).toLowerCase();
  return METHODS.some((m) => head.startsWith(m));
}

/** Returns the chunk with the headers inserted, or the same chunk when pen would leave it alone. */
export function insertForwardedHeaders(chunk: Buffer, clientIp: string, https: boolean): Buffer {
  if (!startsWithMethod(chunk)) return chunk;
  let at = chunk.indexOf('\r\n\r\n');
  if (at < 0) at = chunk.indexOf('\n\n');
  if (at < 0) return chunk;
  const lower = chunk.toString('latin1').toLowerCase();
  let insert = '';
  // both go in at the same position, so X-Forwarded-Proto ends up before X-Forwarded-For
  if (!lower.includes('\nx-forwarded-proto:')) insert += `\r\nX-Forwarded-Proto: ${https ? 'https' : 'http'}`;
  if (!lower.includes('\nx-forwarded-for:')) {
    const xff = `\r\nX-Forwarded-For: ${clientIp}`;
    if (chunk.length + insert.length + xff.length <= MAX_CHUNK) insert += xff;
  }
  if (insert === '' || chunk.length + insert.length > MAX_CHUNK) return chunk;
  return Buffer.concat([chunk.subarray(0, at), Buffer.from(insert, 'latin1'), chunk.subarray(at)]);
}
