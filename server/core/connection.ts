// What the connection table holds, for TCP pairs and UDP sessions alike.

export const CS_CONNECTING = 1;
export const CS_CONNECTED = 2;
export const CS_CLOSED_UP = 4;    // EOF from the server
export const CS_CLOSED_DOWN = 8;  // EOF from the client
export const CS_HALFDEAD = 16;    // UDP session marked for recycling

export interface Connection {
  index: number;
  state: number;
  clientIndex: number;
  clientAddress: string;
  initial: number;   // the first server chosen
  server: number;    // the server it is (being) connected to
  counted: boolean;  // whether server.c was incremented for it
  t: number;         // seconds: connect start, then last activity
  downId: number;    // pen shows fds; we show stable socket ids
  upId: number;
  pendingDown(): number;  // bytes buffered towards the client
  pendingUp(): number;    // bytes buffered towards the server
  /** live byte counts: to server, from server, to client, from client */
  bytes(): { sx: number; rx: number; csx: number; crx: number };
  close(): void;
}

let nextSocketId = 3;
export function socketId(): number {
  return nextSocketId++;
}
