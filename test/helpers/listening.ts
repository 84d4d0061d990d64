// Is a process listening yet? Read from /proc rather than connecting: a connection to pen's
// listener would go through the balancer, take a round-robin turn and a slot, and skew what the
// test then counts. Works for any program (our pen, Debian's C pen, nginx).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';

export type Endpoint = { tcp: number } | { udp: number } | { unix: string };

/** The inodes of the sockets process `pid` holds; empty once it has gone. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** A /proc/net table's rows, split into columns; none if the table is absent (IPv6 off). */
function rows(table: string): string[][] {
  try {
    return readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/));
  } catch {
    return [];
  }
}

const TCP_LISTEN = '0A';
const SO_ACCEPTCON = 0x10000; // /proc/net/unix Flags of a listening socket

/** The inodes of sockets listening (TCP, Unix) or bound (UDP) at `at`, whoever holds them. */
function boundInodes(at: Endpoint): string[] {
  const port = (local: string | undefined) => parseInt(local?.split(':')[1] ?? '', 16);
  if ('tcp' in at) {
    return [...rows('tcp'), ...rows('tcp6')].filter((r) => r[3] === TCP_LISTEN && port(r[1]) === at.tcp).map((r) => r[9]!);
  }
  if ('udp' in at) return [...rows('udp'), ...rows('udp6')].filter((r) => port(r[1]) === at.udp).map((r) => r[9]!);
  const path = resolve(at.unix);
  return rows('unix')
    .filter((r) => (parseInt(r[3] ?? '', 16) & SO_ACCEPTCON) !== 0 && r[7] !== undefined && resolve(r[7]) === path)
    .map((r) => r[6]!);
}

/** True when process `pid` itself holds a socket listening (or bound, for UDP) at `at`. */
export function listening(pid: number, at: Endpoint): boolean {
  const mine = socketInodes(pid);
  return boundInodes(at).some((inode) => mine.has(inode));
}

/** The signals process `pid` catches (the SigCgt mask in /proc/PID/status); none once it has gone. */
function caughtSignals(pid: number): bigint {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask === undefined ? 0n : BigInt(`0x${mask}`);
  } catch {
    return 0n;
  }
}

const SIGHUP = 1;
const SIGTERM = 15;
const bit = (signal: number) => 1n << BigInt(signal - 1);

/**
 * True when process `pid` has finished start-up, as both pens show it: they install their signal
 * handlers as the last step (C pen: setup_signals() in mainloop(), SIGHUP just before SIGTERM; ours:
 * step 7 of server/cli/pen.ts, after the listener, admin API, pid and health files, SIGHUP after
 * SIGTERM). SIGTERM alone does not tell: Node catches SIGTERM (and SIGINT, SIGUSR1) from its first
 * instruction, so our pen shows it before it has even parsed its arguments. Node leaves SIGHUP alone.
 */
export function startedUp(pid: number): boolean {
  const caught = caughtSignals(pid);
  return (caught & bit(SIGHUP)) !== 0n && (caught & bit(SIGTERM)) !== 0n;
}

export const describeEndpoint = (at: Endpoint): string =>
  'tcp' in at ? `tcp port ${at.tcp}` : 'udp' in at ? `udp port ${at.udp}` : `unix socket ${at.unix}`;
