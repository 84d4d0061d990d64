// Node's own libuv handles, the layer under net.Socket and dgram.Socket. The data path uses them
// directly: a net.Socket pair (two Duplex streams with their state, events and nextTicks) cost
// ~3x pen's whole CPU time per connection, and dgram's send() looks up every reply address
// through dns.lookup and a nextTick. These bindings are the ones net.js and dgram.js are built
// on; the types below describe just what we call. Only ends.ts, datagram.ts and the probes
// (probes.ts, probe-io.ts, http-check.ts) use this module. What it relies on, read in Node 20's
// lib/ and src/ and asserted on the running Node by test/unit/uv-contract.test.ts (one test per number):
//  1. process.binding gives tcp_wrap, pipe_wrap, stream_wrap, udp_wrap and uv without a warning
//     (not even under --throw-deprecation), with the constructors and constants exported below;
//  2. a stream handle reads into the buffer given by useUserBuffer(); onread (this = the handle)
//     finds the byte count in streamBaseState[kReadBytesOrError], UV_EOF at the end, and a Buffer
//     it returns is where the next read goes;
//  3. writeBuffer() tries the write at once: when it all went out, streamBaseState[kLastWriteWasAsync]
//     is 0 and the request object was not used (no oncomplete), so it can be passed again;
//  4. otherwise kLastWriteWasAsync is 1, writeQueueSize counts what waits, and the request (still
//     pointing into the buffer) calls req.oncomplete(status) (this = req) once written;
//  5. requests without an oncomplete property complete silently; a shutdown waiting behind queued
//     writes finds an oncomplete set after shutdown() was called;
//  6. handle.connect(req, address, port) with a TCPConnectWrap returns 0 and calls
//     req.oncomplete(status) later: 0, or a negative libuv error (ECONNREFUSED);
//  7. a net.Server's _handle.onconnection can be replaced once it listens, and gets (0, handle)
//     for each accepted client before net wraps it (getpeername() fills address and port), when
//     the server was made with pauseOnConnect;
//  8. bytesRead and bytesWritten of a stream handle count its bytes;
//  9. a UDP handle binds and connects synchronously (0); send() on a connected handle returns
//     bytes + 1 when the datagram went out at once; onmessage(nread, handle, buf, rinfo) gets
//     each datagram, and on a connected handle an ICMP port unreachable as nread = ECONNREFUSED;
// 10. bufferSize(0, true, ctx) returns the receive buffer's size;
// 11. a TCP handle's reset(cb) (uv_tcp_close_reset: SO_LINGER 0, then close) returns 0 and closes
//     it, calling cb; the peer sees ECONNRESET, and no TIME_WAIT socket is left behind. When it
//     fails (only on a handle shutting down or without a socket) Node 20 has marked the handle
//     closing all the same, so a close() after it does nothing: reset only connected handles;
// 12. readStart() may be called as soon as connect() has returned 0, before the connect completes:
//     reads then start once connected (libuv sets the stream readable when it makes the socket).
import { getSystemErrorName } from 'node:util';

/** The parts of a libuv stream handle (TCPWrap, PipeWrap) that the data path calls. */
export interface StreamHandle {
  onread: ((this: StreamHandle, arrayBuffer?: ArrayBuffer) => Buffer | undefined) | null;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Buffer): void;
  writeBuffer(req: WriteReq, buf: Buffer): number;
  shutdown(req: ShutdownReq): number;
  close(cb?: () => void): void;
  /** TCP only: close with an RST rather than a FIN (assumption 11) */
  reset?(cb?: () => void): number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly writeQueueSize: number;
  setNoDelay?(on: boolean): number;
  setKeepAlive?(on: boolean, delaySeconds: number): number;
  getpeername?(out: { address?: string; port?: number; family?: string }): number;
  bind?(address: string, port: number): number;
  bind6?(address: string, port: number, flags: number): number;
  connect(req: ConnectReq, address: string, port?: number): number;
  connect6?(req: ConnectReq, address: string, port: number): number;
}

export interface WriteReq {
  oncomplete?: (this: WriteReq, status: number) => void;
  handle?: StreamHandle;
  buffer?: Buffer | null;
}

export interface ShutdownReq {
  oncomplete?: (this: ShutdownReq, status: number) => void;
  handle?: StreamHandle;
}

export interface ConnectReq {
  oncomplete: (this: ConnectReq, status: number, handle: StreamHandle) => void;
}

/** A libuv UDP handle (UDPWrap). send() returns bytes + 1 when it completed at once. */
export interface UdpHandle {
  onmessage: ((
    nread: number, handle: UdpHandle, buf: Buffer, rinfo: { address: string; port: number; family: string },
  ) => void) | null;
  onerror?: (nread: number, handle: UdpHandle, error: Error) => void;
  bind(address: string, port: number, flags: number): number;
  bind6(address: string, port: number, flags: number): number;
  connect(address: string, port: number): number;
  connect6(address: string, port: number): number;
  send(req: SendReq, list: Buffer[], count: number, port: number, address: string, hasCallback: boolean): number;
  send(req: SendReq, list: Buffer[], count: number, hasCallback: boolean): number;
  send6(req: SendReq, list: Buffer[], count: number, port: number, address: string, hasCallback: boolean): number;
  recvStart(): number;
  recvStop(): number;
  getsockname(out: { address?: string; port?: number; family?: string }): number;
  bufferSize(size: number, recv: boolean, ctx: object): number | undefined;
  close(cb?: () => void): void;
  fd: number;
}

export interface SendReq {
  oncomplete?: (this: SendReq, status: number, sent: number) => void;
  list?: Buffer[];
}

type Ctor<T> = new (type?: number) => T;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const binding = (process as any).binding as (name: string) => any;
const tcpWrap = binding('tcp_wrap');
const pipeWrap = binding('pipe_wrap');
const streamWrap = binding('stream_wrap');
const udpWrap = binding('udp_wrap');

export const TCP: Ctor<StreamHandle> = tcpWrap.TCP;
export const TCP_SOCKET: number = tcpWrap.constants.SOCKET;
export const TCPConnectWrap: new () => ConnectReq = tcpWrap.TCPConnectWrap;
export const Pipe: Ctor<StreamHandle> = pipeWrap.Pipe;
export const PIPE_SOCKET: number = pipeWrap.constants.SOCKET;
export const PipeConnectWrap: new () => ConnectReq = pipeWrap.PipeConnectWrap;
export const WriteWrap: new () => WriteReq = streamWrap.WriteWrap;
export const ShutdownWrap: new () => ShutdownReq = streamWrap.ShutdownWrap;
export const UDP: new () => UdpHandle = udpWrap.UDP;
export const SendWrap: new () => SendReq = udpWrap.SendWrap;

/** Shared with C++: the result of the latest read or write on any stream handle. */
export const streamBaseState: Int32Array = streamWrap.streamBaseState;
export const kReadBytesOrError: number = streamWrap.kReadBytesOrError;
export const kLastWriteWasAsync: number = streamWrap.kLastWriteWasAsync;

const uv = binding('uv');
export const UV_EOF: number = uv.UV_EOF;
const UV_EMFILE: number = uv.UV_EMFILE;
const UV_ENFILE: number = uv.UV_ENFILE;
const NO_ROUTE_FROM_HERE: ReadonlySet<number> = new Set([uv.UV_ENETUNREACH, uv.UV_ENETDOWN, uv.UV_EADDRNOTAVAIL]);

/** EMFILE/ENFILE: the balancer is out of file descriptors (its own condition, never a server's). */
export function outOfDescriptors(status: number): boolean {
  return status === UV_EMFILE || status === UV_ENFILE;
}

/**
 * ENETUNREACH/ENETDOWN/EADDRNOTAVAIL: this host has no route or no local address for the connect
 * (its link is down, `source` is gone). That says nothing about the server, so it is not
 * blacklisted: a balancer whose link flapped can serve again as soon as the link is back.
 */
export function noRouteFromHere(status: number): boolean {
  return NO_ROUTE_FROM_HERE.has(status);
}

/**
 * Bind a UDP handle to `local` (when given) and connect it to `address:port`: a session's upstream
 * and a dns check both do this. 0, or the libuv error with the step that failed.
 */
export function connectUdp(
  handle: UdpHandle, v6: boolean, local: string | null | undefined, address: string, port: number,
): { err: number; syscall: 'bind' | 'connect' } {
  if (local !== null && local !== undefined) {
    const err = v6 ? handle.bind6(local, 0, 0) : handle.bind(local, 0, 0);
    if (err !== 0) return { err, syscall: 'bind' };
  }
  return { err: v6 ? handle.connect6(address, port) : handle.connect(address, port), syscall: 'connect' };
}

/** `ECONNREFUSED` for a libuv error number. */
export function errorName(status: number): string {
  try {
    return getSystemErrorName(status);
  } catch {
    return `error ${status}`;
  }
}

/** A libuv error as Node words it in its exceptions: `connect ECONNREFUSED 127.0.0.1:80`. */
export function uvMessage(syscall: string, status: number, where = ''): string {
  return `${syscall} ${errorName(status)}${where ? ` ${where}` : ''}`;
}
