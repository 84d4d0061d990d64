// The health-check language: `health off | tcp | http PATH [STATUS] | dns NAME [interval SECS]
// [timeout SECS] [rise N] [fall N]` (our extension to pen's commands), parsed and written back
// in one place so the commands, `write`, REST and the dashboard agree. No Node APIs here.
import { Type, type Static } from '@sinclair/typebox';
import { LIMITS, pastLimit, type LimitName } from './limits.ts';

export const HealthKindSchema = Type.Union([Type.Literal('off'), Type.Literal('tcp'), Type.Literal('http'), Type.Literal('dns')]);

export const HealthCheckSchema = Type.Object({
  kind: HealthKindSchema,
  path: Type.Optional(Type.String({ description: 'http: the path asked for, starting with /', maxLength: 1024, pattern: '^/[\\x21-\\x7e]*$' })),
  status: Type.Optional(Type.String({ description: 'http: the status expected, e.g. 200 or 2xx', pattern: '^[1-5][0-9x]{2}$' })),
  name: Type.Optional(Type.String({ description: 'dns: the name an A query asks for', maxLength: 253, pattern: '^[A-Za-z0-9_.-]+$' })),
  interval: Type.Integer({ description: 'seconds between the starts of two checks', minimum: LIMITS['health interval'].min, maximum: LIMITS['health interval'].max }),
  timeout: Type.Integer({ description: 'seconds one check may take', minimum: LIMITS['health timeout'].min, maximum: LIMITS['health timeout'].max }),
  rise: Type.Integer({ description: 'consecutive successes that bring a down server up', minimum: LIMITS['health rise'].min, maximum: LIMITS['health rise'].max }),
  fall: Type.Integer({ description: 'consecutive failures that take a server down', minimum: LIMITS['health fall'].min, maximum: LIMITS['health fall'].max }),
});
export type HealthCheck = Static<typeof HealthCheckSchema>;

/** A REST body: a check whose options may be left out (the defaults apply), and nothing else. */
export const HealthBodySchema = Type.Object({
  kind: HealthKindSchema,
  path: Type.Optional(HealthCheckSchema.properties.path),
  status: Type.Optional(HealthCheckSchema.properties.status),
  name: Type.Optional(HealthCheckSchema.properties.name),
  interval: Type.Optional(HealthCheckSchema.properties.interval),
  timeout: Type.Optional(HealthCheckSchema.properties.timeout),
  rise: Type.Optional(HealthCheckSchema.properties.rise),
  fall: Type.Optional(HealthCheckSchema.properties.fall),
}, { additionalProperties: false });
export type HealthBody = Static<typeof HealthBodySchema>;

/** The command words for a REST body; the command then checks them as it checks any line. */
export function healthWordsOf(b: HealthBody): string {
  const words: string[] = [b.kind];
  if (b.kind === 'http') words.push(b.path ?? '', ...(b.status ? [b.status] : []));
  if (b.kind === 'dns') words.push(b.name ?? '');
  for (const o of OPTIONS) if (b[o] !== undefined) words.push(o, String(b[o]));
  return words.filter((w) => w !== '').join(' ');
}
export type HealthKind = HealthCheck['kind'];

export const HEALTH_DEFAULTS = { interval: 5, timeout: 2, rise: 2, fall: 3 } as const;
const OPTIONS = ['interval', 'timeout', 'rise', 'fall'] as const;
type Option = (typeof OPTIONS)[number];
const LIMIT_OF: Record<Option, LimitName> = {
  interval: 'health interval', timeout: 'health timeout', rise: 'health rise', fall: 'health fall',
};

export const HEALTH_OFF: HealthCheck = { kind: 'off', ...HEALTH_DEFAULTS };

const STATUS = /^[1-5][0-9x]{2}$/;
const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

export function validPath(p: string): boolean {
  return p.startsWith('/') && p.length <= 1024 && /^[\x21-\x7e]+$/.test(p);
}

export function validDnsName(n: string): boolean {
  const name = n.endsWith('.') ? n.slice(0, -1) : n;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

/** Whether an http status code matches a pattern such as `200` or `2xx`. */
export function statusMatches(pattern: string, code: number): boolean {
  const text = String(code);
  return text.length === 3 && [...pattern].every((c, i) => c === 'x' || c === text[i]);
}

export class HealthSyntaxError extends Error {}

function integer(option: Option, text: string | undefined): number {
  const l = LIMITS[LIMIT_OF[option]];
  if (text === undefined || !/^\d+$/.test(text)) throw new HealthSyntaxError(`health: ${option} needs a number`);
  const n = Number(text);
  if (n > l.max) throw new HealthSyntaxError(pastLimit(LIMIT_OF[option], text));
  if (n < l.min) throw new HealthSyntaxError(`${LIMIT_OF[option]}: ${text} is less than ${l.min}`);
  return n;
}

/** The words after `health` (or `server N health`); throws HealthSyntaxError, naming the problem. */
export function parseHealth(words: readonly string[]): HealthCheck {
  const [kind, ...rest] = words;
  const check: HealthCheck = { kind: 'off', ...HEALTH_DEFAULTS };
  let i = 0;
  switch (kind) {
    case 'off': case 'tcp': check.kind = kind; break;
    case 'http': {
      check.kind = 'http';
      const path = rest[i++];
      if (path === undefined || !validPath(path)) throw new HealthSyntaxError('health http: expected a PATH starting with /');
      check.path = path;
      check.status = '200';
      const status = rest[i];
      if (status !== undefined && STATUS.test(status)) { check.status = status; i++; }
      break;
    }
    case 'dns': {
      check.kind = 'dns';
      const name = rest[i++];
      if (name === undefined || !validDnsName(name)) throw new HealthSyntaxError('health dns: expected a NAME to query');
      check.name = name;
      break;
    }
    default:
      throw new HealthSyntaxError('health: expected off, tcp, http PATH [STATUS] or dns NAME');
  }
  for (; i < rest.length; i += 2) {
    const option = rest[i] as Option;
    if (!OPTIONS.includes(option)) throw new HealthSyntaxError(`health: unknown option '${rest[i]}'`);
    check[option] = integer(option, rest[i + 1]);
  }
  return check;
}

/**
 * A REST body as a check: the defaults filled in, a path only for http (status 200 unless given) and a
 * name only for dns, as `health …` reads the same fields. Not checked: `checkProblem` does that.
 */
export function checkOf(b: HealthBody): HealthCheck {
  const c: HealthCheck = { kind: b.kind, ...HEALTH_DEFAULTS };
  if (b.kind === 'http') {
    if (b.path !== undefined) c.path = b.path;
    c.status = b.status ?? '200';
  }
  if (b.kind === 'dns' && b.name !== undefined) c.name = b.name;
  for (const o of OPTIONS) if (b[o] !== undefined) c[o] = b[o];
  return c;
}

/** What is wrong with a typed check (REST's, or one parseHealth made), in parseHealth's words; null: nothing. */
export function checkProblem(c: HealthCheck): string | null {
  if (c.kind === 'http' && (c.path === undefined || !validPath(c.path))) return 'health http: expected a PATH starting with /';
  if (c.kind === 'http' && c.status !== undefined && !STATUS.test(c.status)) return 'health http: expected a STATUS such as 200 or 2xx';
  if (c.kind === 'dns' && (c.name === undefined || !validDnsName(c.name))) return 'health dns: expected a NAME to query';
  for (const o of OPTIONS) {
    const l = LIMITS[LIMIT_OF[o]];
    const n = c[o];
    if (!Number.isInteger(n)) return `health: ${o} needs a number`;
    if (n > l.max) return pastLimit(LIMIT_OF[o], String(n));
    if (n < l.min) return `${LIMIT_OF[o]}: ${n} is less than ${l.min}`;
  }
  return null;
}

/** The words `parseHealth` reads back; options only where they differ from the defaults, unless `full`. */
export function formatHealth(c: HealthCheck, full = false): string {
  if (c.kind === 'off') return 'off';
  let out: string = c.kind;
  if (c.kind === 'http') out += ` ${c.path}${c.status && c.status !== '200' ? ` ${c.status}` : ''}`;
  if (c.kind === 'dns') out += ` ${c.name}`;
  for (const o of OPTIONS) if (full || c[o] !== HEALTH_DEFAULTS[o]) out += ` ${o} ${c[o]}`;
  return out;
}

