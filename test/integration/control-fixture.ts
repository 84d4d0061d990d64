// What the control-port tests share: backends A, B and Abuse, our pen with a TCP control port,
// and both penctls (Debian's, when installed, and ours).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { freePort, httpBackend, type HttpBackend } from '../helpers/backends.ts';
import { PENCTL, penctl, startPen, type PenProcess } from '../helpers/pen.ts';

export const DEBIAN_PENCTL = '/usr/bin/penctl';
export const CLIENTS: [string, string][] = [['our penctl', PENCTL]];
if (existsSync(DEBIAN_PENCTL)) CLIENTS.unshift(['Debian penctl', DEBIAN_PENCTL]);

export const dir = mkdtempSync(join(tmpdir(), 'pen-control-'));
export let a: HttpBackend;
export let b: HttpBackend;
export let abuse: HttpBackend;

/** Start A, B and Abuse before the file's tests and close them after (call once per file). */
export function withBackends(): void {
  before(async () => {
    [a, b, abuse] = [await httpBackend('A'), await httpBackend('B'), await httpBackend('Abuse')];
  });
  after(async () => {
    await Promise.all([a.close(), b.close(), abuse.close()]);
    rmSync(dir, { recursive: true, force: true });
  });
}

export interface Running { pen: PenProcess; port: number; ctl: string; ctl2: (c: string) => string }

/** Our pen on loopback with a TCP control port; `servers` defaults to A and B. */
export async function ourPen(opts: string[] = [], servers = [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]): Promise<Running> {
  const [port, cport] = [await freePort(), await freePort()];
  const ctl = `127.0.0.1:${cport}`;
  const pen = await startPen(['-u', 'root', '-C', ctl, ...opts, `127.0.0.1:${port}`, ...servers], { waitPort: port });
  // ctl2: the quickest client to start (C); the tests that name a client use both
  return { pen, port, ctl, ctl2: (c) => ask(ctl, c, CLIENTS[0]![1]) };
}

export function ask(target: string, command: string, binary = PENCTL): string {
  const r = penctl(target, command.split(' '), binary);
  assert.equal(r.code, 0, `penctl ${command}: ${r.stderr}`);
  return r.stdout;
}
