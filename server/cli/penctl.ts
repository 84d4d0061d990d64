// penctl: send one command to pen's control port and copy the reply to stdout, as the C penctl
// does (same arguments, messages and exit codes).
import net from 'node:net';
import { servicePort } from '../core/address.ts';
import { VERSION } from '../package.ts';

/** pen's penctl builds the line, newline included, in a 1024-byte buffer and needs n < 1023 */
const MAX_LINE = 1022;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function target(arg: string): net.NetConnectOpts {
  if (arg.includes('/')) return { path: arg };
  // the last ':' separates the port, so `::1:10080` works
  const i = arg.lastIndexOf(':');
  if (i < 0) fail('no port given');
  const host = arg.slice(0, i);
  const portText = arg.slice(i + 1);
  if (host === '') fail('getaddrinfo: Name or service not known');
  const port = /^\d+$/.test(portText) ? Number(portText) : servicePort(portText, 'tcp');
  if (port === null) fail('getaddrinfo: Servname not supported for ai_socktype');
  // getaddrinfo takes any number; the connect then fails
  if (port > 65535) fail('error connecting to server');
  return { host, port };
}

function main(argv: string[]): void {
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`pen-ts ${VERSION}\n`);
    process.exit(0);
  }
  const where = argv[0];
  if (where === undefined || argv.length < 2) {
    process.stdout.write('usage: penctl host:port command\n');
    process.exit(0);
  }
  const line = Buffer.from(`${argv.slice(1).join(' ')}\n`);
  const socket = net.connect(target(where));
  let connected = false;
  socket.on('connect', () => {
    connected = true;
    // like the C penctl, the length is checked once connected
    if (line.length > MAX_LINE) fail('Overlong argument list');
    socket.write(line);
  });
  socket.on('data', (d) => process.stdout.write(d));
  socket.on('end', () => socket.end());
  socket.on('close', () => process.exitCode ??= 0);
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (connected) fail('error reading from socket');
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') fail('getaddrinfo: Name or service not known');
    fail('error connecting to server');
  });
}

main(process.argv.slice(2));
