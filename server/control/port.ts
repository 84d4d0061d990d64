// The penctl port (-C): one command per connection, answered, then closed, as pen does. Unlike
// pen it never blocks on a silent client: reads are bounded in size and time, and commands run
// on the event loop like everything else, so forwarding never stalls.
import { existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { aclPermits } from '../core/acl.ts';
import { parseListen, plainIp, resolveHost } from '../core/address.ts';
import { debug } from '../core/diag.ts';
import { PenError } from '../core/errors.ts';
import type { CommandContext } from './context.ts';
import { execute } from './registry.ts';

/** pen reads one command of at most 4095 bytes */
export const MAX_COMMAND = 4095;
/** a client that sends nothing for this long is dropped (pen would wait for ever) */
export const READ_TIMEOUT_MS = 5000;
/** after the first bytes, wait this long for the rest of an unterminated line */
export const LINE_GRACE_MS = 200;

function serve(ctx: CommandContext, socket: net.Socket): void {
  socket.on('error', () => {});
  const ip = socket.remoteAddress ? plainIp(socket.remoteAddress) : null; // null: Unix socket
  if (!aclPermits(ctx.pen.acls, ctx.pen.settings.controlAcl, ip, ctx.pen.country)) {
    debug('do_ctrl: not from there');
    // close without answering; draining what was sent avoids a reset, so penctl sees a clean EOF
    socket.resume();
    socket.end();
    socket.setTimeout(READ_TIMEOUT_MS, () => socket.destroy());
    return;
  }
  let buf = Buffer.alloc(0);
  let done = false;
  let grace: NodeJS.Timeout | null = null;
  const run = () => {
    if (done) return;
    done = true;
    socket.setTimeout(0);
    if (grace) clearTimeout(grace);
    const line = buf.subarray(0, MAX_COMMAND).toString('utf8');
    execute({ ...ctx, origin: 'port' }, line).then(
      (r) => {
        socket.end(Buffer.from(r.reply, 'utf8'));
        // the socket stays readable (anything more is ignored) so the client's close frees it;
        // a client that never closes is dropped
        socket.setTimeout(READ_TIMEOUT_MS, () => socket.destroy());
      },
      (err) => { debug(`do_ctrl: ${(err as Error).message}`); socket.destroy(); },
    );
  };
  socket.setTimeout(READ_TIMEOUT_MS, () => {
    if (buf.length > 0) run();
    else socket.destroy();
  });
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    buf = Buffer.concat([buf, chunk]);
    if (buf.includes(10) || buf.includes(13) || buf.length >= MAX_COMMAND) run();
    else grace ??= setTimeout(run, LINE_GRACE_MS);
  });
  socket.on('end', () => {
    if (buf.length > 0) run();
    else if (!done) socket.end();
  });
}

/**
 * Open the control port on `[host:]port` or a Unix socket path (pen's -C forms), as the
 * `control` command reports it. Resolves once listening.
 */
export async function openControlPort(ctx: CommandContext, address: string): Promise<{ close(): void }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => serve(ctx, s));
  let bind: net.ListenOptions;
  if (address.includes('/')) {
    if (existsSync(address)) unlinkSync(address);
    bind = { path: address };
  } else {
    const spec = parseListen(address);
    const host = spec.family === 0 ? (await resolveHost(spec.host)).address : spec.host;
    bind = { host, port: spec.port };
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind, () => {
      server.removeListener('error', reject);
      resolve();
    });
  }).catch((err: Error) => {
    throw new PenError('PEN_ERR_IO', `can't open control port ${address}: ${err.message}`);
  });
  server.on('error', (err) => debug(`control port: ${err.message}`));
  ctx.pen.settings.control = address;
  return {
    close() {
      server.close();
      if (bind.path && existsSync(bind.path)) {
        try { unlinkSync(bind.path); } catch { /* already gone */ }
      }
    },
  };
}
