// Commands over the balancer's tables: servers, clients and connections (access lists: commands-acl.ts).
import { resolveHost } from '../core/address.ts';
import { CS_CONNECTING } from '../core/connection.ts';
import type { Balancer } from '../core/balancer.ts';
import { debug } from '../core/diag.ts';
import { setBlacklist } from '../core/blacklist.ts';
import { blacklistLeft, ensureServer } from '../core/servers.ts';
import { Type, type Static } from '@sinclair/typebox';
import {
  HealthCheckSchema, HealthSyntaxError, checkProblem, formatHealth, parseHealth, type HealthCheck,
} from '../../shared/health.ts';
import { LIMITS, pastLimit } from '../../shared/limits.ts';
import { atoi } from './atoi.ts';
import { atoiWide, upTo } from './limits.ts';
import { CommandError, refuse } from './errors.ts';
import type { Entry, Outcome } from './types.ts';

const NUMBER_KEYS = ['acl', 'port', 'max', 'hard', 'blacklist', 'weight', 'prio'] as const;
type NumberKey = (typeof NUMBER_KEYS)[number];
const isNumberKey = (k: string): k is NumberKey => (NUMBER_KEYS as readonly string[]).includes(k);

/** One `key value` of `server N …`, in the order given (pen applies them in order, repeats too). */
const ServerPairSchema = Type.Union([
  Type.Object({ key: Type.Literal('address'), value: Type.String() }),
  Type.Object({
    key: Type.Union(NUMBER_KEYS.map((k) => Type.Literal(k))), value: Type.Integer(), text: Type.Optional(Type.String()),
  }),
]);
export type ServerPair = Static<typeof ServerPairSchema>;

export const ServerArgsSchema = Type.Object({
  /** null: `server` alone or a negative slot, which pen ignores */
  n: Type.Union([Type.Integer(), Type.Null()]),
  pairs: Type.Array(ServerPairSchema),
  health: Type.Optional(Type.Union([HealthCheckSchema, Type.Null()], { description: 'null: back to the default check' })),
  drain: Type.Optional(Type.Boolean()),
  /**
   * pen's words: the slot is made, and the pairs before an address that does not resolve are
   * applied, as pen does (it stops there). Without it (REST) such a line changes nothing.
   */
  asPen: Type.Optional(Type.Boolean()),
});
export type ServerArgs = Static<typeof ServerArgsSchema>;

export interface ServerOutcome extends Outcome {
  server: number | null;
  /** the slot was made by this command */
  created?: boolean;
  /** seconds of blacklisting left, when the command set it */
  blacklistLeft?: number;
}

/** A number of `server N key value` within its bound (shared/limits.ts); blacklist takes 0 or less as "off". */
function checkPair(p: ServerPair): void {
  if (p.key === 'address') return;
  const name = `server ${p.key}` as const;
  const text = p.text ?? String(p.value);
  const l = LIMITS[name];
  if (p.value > l.max) throw refuse(pastLimit(name, text));
  if (p.key !== 'blacklist' && p.value < l.min) throw refuse(`${name}: ${text} is less than ${l.min}`);
}

/**
 * `server N key value …`: pairs in any order, unknown keys ignored, as pen reads them;
 * `server N health CHECK|default`, `server N drain on|off`. `apply` checks every number and
 * resolves every address before it changes anything, so a refused line leaves no trace.
 */
export const server: Entry<typeof ServerArgsSchema, ServerOutcome> = {
  schema: ServerArgsSchema,
  parse(words) {
    if (words[0] === undefined) return { n: null, pairs: [] };
    const n = upTo('server', words[0]);
    if (n < 0) return { n: null, pairs: [] };
    const rest = words.slice(2);
    if (words[1] === 'health') {
      if (rest.length === 0) throw refuse('server health: expected off, tcp, http PATH [STATUS], dns NAME or default', 'PEN_ERR_ARGUMENT');
      return { n, pairs: [], health: rest.length === 1 && rest[0] === 'default' ? null : parseCheck(rest) };
    }
    if (words[1] === 'drain') {
      if (rest.length !== 1 || (rest[0] !== 'on' && rest[0] !== 'off')) throw refuse('server drain: expected on or off', 'PEN_ERR_ARGUMENT');
      return { n, pairs: [], drain: rest[0] === 'on' };
    }
    const pairs: ServerPair[] = [];
    for (let i = 1; i + 1 < words.length; i += 2) {
      const key = words[i] as string;
      const text = words[i + 1] as string;
      if (key === 'address') pairs.push({ key, value: text });
      else if (isNumberKey(key)) pairs.push({ key, value: atoiWide(text), text });
    }
    return { n, pairs, asPen: true };
  },
  async apply({ pen }, args) {
    const { n } = args;
    if (n === null) return { changed: false, server: null };
    upTo('server', String(n));
    for (const p of args.pairs) checkPair(p);
    if (args.health) checkedHealth(args.health);
    const resolved = new Map<string, Awaited<ReturnType<typeof resolveHost>>>();
    let failure: { at: number; error: CommandError } | null = null;
    for (const [at, p] of args.pairs.entries()) {
      if (p.key !== 'address' || resolved.has(p.value)) continue;
      debug(`do_cmd: server ${n} address ${p.value}`);
      try {
        resolved.set(p.value, await resolveHost(p.value));
      } catch (err) {
        // pen says nothing
        failure = { at, error: new CommandError(`server ${n}: ${(err as Error).message}`, { code: 'PEN_ERR_ADDRESS' }) };
        break;
      }
    }
    if (failure && !args.asPen) throw failure.error;
    // everything is checked: from here on nothing fails
    const pairs = failure ? args.pairs.slice(0, failure.at) : args.pairs;
    const created = n >= pen.servers.list.length;
    const s = ensureServer(pen.servers, n);
    const out: ServerOutcome = { changed: true, server: n, created };
    if (args.health) s.health = { ...args.health };
    else if (args.health === null) s.health = null;
    if (args.drain !== undefined && s.drain !== args.drain) {
      s.drain = args.drain;
      if (args.drain) pen.noteReleased(n);
    }
    for (const p of pairs) {
      if (p.key === 'address') {
        const r = resolved.get(p.value)!;
        s.family = r.family;
        s.address = r.address;
        // pen gives a new address port 0 until `port` is set; a Unix socket reports port 1
        if (r.family === 'unix') s.port = 1;
        continue;
      }
      const value = p.value;
      switch (p.key) {
        case 'acl': s.acl = value; break;
        case 'port': s.port = value; break;
        case 'max': s.maxc = value; break;
        case 'hard': s.hard = value; break;
        case 'blacklist':
          setBlacklist(pen, n, value, `for ${value} s by command`);
          out.blacklistLeft = blacklistLeft(s, pen.now(), pen.settings.blacklistTime);
          break;
        case 'weight': s.weight = value; break;
        case 'prio': s.prio = value; break;
      }
    }
    pen.health.reconcile(); // a new address or port restarts its check
    if (failure) throw failure.error;
    return out;
  },
  reply: () => '',
};

function parseCheck(words: string[]): HealthCheck {
  try {
    return parseHealth(words);
  } catch (err) {
    if (err instanceof HealthSyntaxError) throw refuse(err.message, 'PEN_ERR_ARGUMENT');
    throw err;
  }
}

const HealthArgs = Type.Object({ check: Type.Optional(HealthCheckSchema) });

export interface HealthOutcome extends Outcome {
  /** the default check afterwards */
  health: HealthCheck;
}

/** A typed check as the commands take it: one that `health …` would refuse is refused here too. */
export function checkedHealth(c: HealthCheck): HealthCheck {
  const problem = checkProblem(c);
  if (problem) throw refuse(problem, 'PEN_ERR_ARGUMENT');
  return c;
}

/** `health [CHECK]`: the default check; without arguments, report it in full. */
export const health: Entry<typeof HealthArgs, HealthOutcome> = {
  schema: HealthArgs,
  parse: (words) => (words.length > 0 ? { check: parseCheck(words) } : {}),
  apply({ pen }, { check }) {
    if (check === undefined) return { changed: false, health: pen.healthDefault };
    pen.healthDefault = { ...checkedHealth(check) };
    pen.health.reconcile();
    return { changed: true, health: pen.healthDefault };
  },
  reply: (o) => `${formatHealth(o.health, true)}\n`,
};

const SlotArgs = Type.Object({ n: Type.Integer() });
/** `close N`, `connection N`: the slot, 0 when left out; garbage is 0, as atoi reads it. */
const parseSlot = (words: string[]) => ({ n: words[0] !== undefined ? atoi(words[0]) : 0 });
export const inRange = (pen: { settings: { connMax: number } }, n: number) => n >= 0 && n < pen.settings.connMax;

export interface CloseOutcome extends Outcome {
  connection: number;
  /** false: the slot is past the table (pen's reply says so) */
  inRange: boolean;
  /** a connection was in the slot and is closed now */
  closed: boolean;
}

/** `close N`: unlike C pen, closing an unused slot changes nothing (pen corrupts its counters). */
export const close: Entry<typeof SlotArgs, CloseOutcome> = {
  schema: SlotArgs,
  parse: parseSlot,
  apply({ pen }, { n }) {
    if (!inRange(pen, n)) return { changed: false, connection: n, inRange: false, closed: false };
    const closed = pen.closeConnection(n);
    return { changed: closed, connection: n, inRange: true, closed };
  },
  reply: (o) => (o.inRange ? `Forcibly closing connection ${o.connection}\n` : `Connection ${o.connection} out of range\n`),
};

export interface ConnectionOutcome extends Outcome {
  connection: number;
  inRange: boolean;
  state?: number;
  downfd?: number;
  upfd?: number;
  client?: number;
  server?: number;
  pend?: number;
}

/** `connection N`: the slot's fields as pen prints them (an empty slot keeps its last occupant's). */
export const connection: Entry<typeof SlotArgs, ConnectionOutcome> = {
  schema: SlotArgs,
  parse: parseSlot,
  apply({ pen }, { n }) {
    if (!inRange(pen, n)) return { changed: false, connection: n, inRange: false };
    const c = pen.connAt(n);
    if (!c) {
      const last = pen.lastOccupant[n] ?? { client: 0, server: 0 };
      return {
        changed: false, connection: n, inRange: true, state: 0, downfd: -1, upfd: -1,
        client: last.client, server: last.server, pend: 0,
      };
    }
    return {
      changed: false, connection: n, inRange: true, state: c.state, downfd: c.downId, upfd: c.upId,
      client: c.clientIndex, server: c.server, pend: c.state & CS_CONNECTING ? 1 : 0,
    };
  },
  reply: (o) => (o.inRange
    ? `Connection ${o.connection}:\nstate = ${o.state}\ndownfd = ${o.downfd}, upfd = ${o.upfd}\n`
      + `client = ${o.client}, server = ${o.server}\npend = ${o.pend}\n`
    : `Connection ${o.connection} out of range\n`),
};

const FdArgs = Type.Object({ fd: Type.Integer() });

/** The slot whose connection has socket id fd, -1 for none. */
function connectionOfSocket(pen: Balancer, fd: number): number {
  for (let i = 0; i < pen.conns.length; i++) {
    const c = pen.connAt(i);
    if (c !== null && (c.downId === fd || c.upId === fd)) return i;
  }
  return -1;
}

/** `socket FD`: the connection a socket id belongs to, -1 for none. */
export const socket: Entry<typeof FdArgs, Outcome & { socket: number; connection: number }> = {
  schema: FdArgs,
  parse: (words) => ({ fd: words[0] !== undefined ? atoi(words[0]) : 0 }),
  apply: ({ pen }, { fd }) => ({
    changed: false, socket: fd,
    connection: connectionOfSocket(pen, fd),
  }),
  reply: (o) => `Socket ${o.socket} belongs to connection ${o.connection}\n`,
};
