// A balancer in the test process, on real loopback sockets, driven by the command registry, with
// the events it publishes recorded: for the tests that read its state (health, blacklisting).
import assert from 'node:assert/strict';
import { Balancer } from '../../server/core/balancer.ts';
import type { CommandContext } from '../../server/control/context.ts';
import { execute } from '../../server/control/registry.ts';
import { subscribe } from '../../server/core/events.ts';
import type { PenEvent } from '../../shared/snapshot.ts';
import { freePort, sleep } from './backends.ts';
import { freeUdpPort } from './dns.ts';
import { nth } from './nth.ts';

export interface Pen {
  pen: Balancer;
  port: number;
  events: (PenEvent & { at: number })[];
  cmd(line: string): Promise<string>;
  close(): void;
}

/** A balancer that has run `lines` and listens on a free loopback port (UDP with `udp`). */
export async function startBalancer(lines: string[], udp = false): Promise<Pen> {
  const pen = new Balancer();
  pen.settings.udp = udp;
  const ctx: CommandContext = { pen, runtime: { exit() {}, argv: [] }, origin: 'cli' };
  const events: (PenEvent & { at: number })[] = [];
  subscribe(pen, (e: PenEvent) => events.push({ ...e, at: Date.now() }));
  const cmd = async (line: string) => {
    const r = await execute(ctx, line);
    assert.equal(r.error, undefined, `${line}: ${r.error?.message}`);
    return r.reply;
  };
  const port = udp ? await freeUdpPort() : await freePort();
  try {
    for (const l of lines) await cmd(l);
    await pen.listen(`127.0.0.1:${port}`);
  } catch (err) {
    pen.shutdown(); // its checks would otherwise keep the test process running
    throw err;
  }
  return { pen, port, events, cmd, close: () => pen.shutdown() };
}

/** Poll until `ok()` holds; returns the ms it took, or throws after `ms`. */
export async function until(what: string, ok: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
  return Date.now() - start;
}

/** Server i's check state ('unknown', 'up', 'down'), or undefined when it is not checked. */
export const stateOf = (p: Pen, i: number) => p.pen.health.stateOf(nth(p.pen.servers.list, i))?.state;
