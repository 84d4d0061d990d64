// What every chunk from a client passes through on its way to the server, whatever the
// transport: X-Forwarded-For (-H), the request log (-l) and the hex dump (-d -d -d).
import type { Connection } from './connection.ts';
import { insertForwardedHeaders } from './http.ts';
import type { RequestLog } from './requestlog.ts';
import { serverAt, type ServerTable } from './servers.ts';
import type { Settings } from './settings.ts';

export interface TapState {
  settings: Settings;
  servers: ServerTable;
  requestLog: RequestLog | null;
}

/** A client chunk as it goes on to conn's server. */
export function tapClientChunk(st: TapState, conn: Connection, chunk: Buffer, https: boolean): Buffer {
  const settings = st.settings;
  if (settings.http) chunk = insertForwardedHeaders(chunk, conn.clientAddress, https);
  if (st.requestLog !== null) st.requestLog.write(conn.clientAddress, serverAt(st.servers, conn.server)?.address ?? '', chunk);
  if (settings.debug >= 3) dump(settings, conn.index, chunk);
  return chunk;
}

/** pen's debug dump of a chunk, in hex or (-a) ASCII. */
export function dump(settings: Settings, index: number, chunk: Buffer): void {
  const body = settings.ascii
    ? chunk.toString('latin1').replace(/[^\x20-\x7e\n]/g, '.')
    : Array.from(chunk, (b) => b.toString(16).padStart(2, '0') + ' ').join('');
  process.stderr.write(`${index}: ${body}\n`);
}
