// UDP sockets for udp.ts, on Node's raw libuv UDP handles (uv.ts), not dgram.Socket: dgram's
// send() runs every reply address through dns.lookup and a nextTick, allocates a request, a list
// and closures per datagram, and delivers each datagram through an EventEmitter. That was about a
// tenth of the CPU per query. With uv.ts, the only module of the UDP path that touches Node's
// bindings; udp.ts sees the handles as opaque Datagram values.
import { constants as osConstants } from 'node:os';
import { debug } from './diag.ts';
import { SendWrap, UDP, connectUdp, errorName, outOfDescriptors, uvMessage, type SendReq, type UdpHandle } from './uv.ts';

export { errorName, uvMessage };

/** A UDP socket, as udp.ts holds it. */
export type Datagram = UdpHandle;

/** bind flag that lets a restarted pen take the port at once, as dgram's reuseAddr */
const UV_UDP_REUSEADDR: number = osConstants.UV_UDP_REUSEADDR;

// One request and one 1-element list serve every send that completes at once (send() returns
// bytes + 1): Node's UDPWrap only wraps the request object when the datagram has to wait in
// libuv's queue, and then keeps it, and through req.list the buffer, until it is sent. So after
// an asynchronous send (return 0) the next send takes a fresh pair. Negative returns are libuv
// errors; as with dgram's send() without a callback, the datagram is lost and nothing is thrown.
let sendReq: SendReq = new SendWrap();
let sendList: Buffer[] = [];
sendReq.list = sendList;

function sendDone(result: number): number {
  if (result === 0) {
    sendReq = new SendWrap();
    sendList = [];
    sendReq.list = sendList;
  }
  return result;
}

/** Send on a connect()ed socket; a negative libuv error when the datagram was not sent. */
export function sendConnected(handle: Datagram, msg: Buffer): number {
  sendList[0] = msg;
  return sendDone(handle.send(sendReq, sendList, 1, false));
}

/** Send to address:port on an unconnected socket of family 4 or 6. */
export function sendTo(handle: Datagram, v6: boolean, msg: Buffer, port: number, address: string): number {
  sendList[0] = msg;
  return sendDone(v6
    ? handle.send6(sendReq, sendList, 1, port, address, false)
    : handle.send(sendReq, sendList, 1, port, address, false));
}

/** Who hears of an upstream socket's datagrams and receive errors (nread < 0). */
export interface DatagramOwner {
  fromUpstream(nread: number, handle: Datagram, buf: Buffer): void;
}

/** A session's upstream handle knows its owner, so all of them share one onmessage function. */
interface UpstreamHandle extends UdpHandle {
  owner: DatagramOwner;
}

function onUpstreamMessage(nread: number, handle: UdpHandle, buf: Buffer): void {
  (handle as UpstreamHandle).owner.fromUpstream(nread, handle, buf);
}

function onHandleError(_nread: number, _handle: UdpHandle, err: Error): void {
  debug(`udp: ${err.message}`);
}

/** Stop and close a socket; nothing calls into it afterwards. */
export function closeDatagram(handle: Datagram): void {
  handle.recvStop();
  handle.close();
}

/** An upstream socket that could not be opened: the step, Node's wording of why, and whether no descriptor was left. */
export class DatagramFailure {
  constructor(readonly syscall: string, readonly err: number) {}

  get noDescriptor(): boolean {
    return outOfDescriptors(this.err);
  }

  message(where: string): string {
    return uvMessage(this.syscall, this.err, where);
  }
}

/**
 * A socket bound to `source` (when given), connect()ed to address:port (synchronous on a UDP
 * handle, so a first datagram can go out at once) and receiving for `owner`; or why not.
 */
export function openUpstream(
  owner: DatagramOwner, v6: boolean, source: string | null, address: string, port: number,
): Datagram | DatagramFailure {
  const up = new UDP() as UpstreamHandle;
  let { err, syscall }: { err: number; syscall: string } = connectUdp(up, v6, source, address, port);
  if (err === 0) {
    syscall = 'recvStart';
    up.owner = owner;
    up.onmessage = onUpstreamMessage;
    up.onerror = onHandleError;
    err = up.recvStart();
  }
  if (err === 0) return up;
  closeDatagram(up);
  return new DatagramFailure(syscall, err);
}

/** What a listening socket hands over: a datagram (or a receive error, nread < 0) and its sender. */
export type ListenerMessage = (
  nread: number, handle: Datagram, msg: Buffer, rinfo: { address: string; port: number },
) => void;

/**
 * The listening socket on host:port, receiving for onMessage, with room for bursts of new
 * clients (`rcvbuf`, as far as the kernel allows). Throws the bind error as dgram words it.
 */
export function listenDatagram(
  host: string, port: number, v6: boolean, rcvbuf: number, onMessage: ListenerMessage,
): Datagram {
  // no IPV6ONLY flag, so `::` is dual-stack where the system allows it, as with dgram
  const handle = new UDP();
  const err = v6 ? handle.bind6(host, port, UV_UDP_REUSEADDR) : handle.bind(host, port, UV_UDP_REUSEADDR);
  if (err !== 0) {
    handle.close();
    // worded as dgram's bind error: `bind EADDRINUSE 127.0.0.1:53`
    const e = new Error(uvMessage('bind', err, port > 0 ? `${host}:${port}` : host)) as NodeJS.ErrnoException;
    e.code = errorName(err);
    e.errno = err;
    e.syscall = 'bind';
    throw e;
  }
  // bufferSize() returns undefined on failure, and the default buffer still works
  const ctx = {};
  const size = handle.bufferSize(0, true, ctx);
  if (size !== undefined && size < rcvbuf) handle.bufferSize(rcvbuf, true, ctx);
  handle.onmessage = onMessage;
  handle.onerror = onHandleError;
  handle.recvStart();
  return handle;
}

/** The address a socket is bound to. */
export function datagramAddress(handle: Datagram): { address: string; port: number; family: string } {
  const out: { address?: string; port?: number; family?: string } = {};
  handle.getsockname(out);
  return out as { address: string; port: number; family: string };
}
