// Generators of bad input for the hostile-input suite: seeded, so a failure names its seed and
// can be replayed. Command lines for the penctl port and POST /penctl, and bad requests for every
// route of the OpenAPI document.
import { COMMANDS } from '../../shared/commands.ts';

/** mulberry32: small, fast, good enough to spread test cases */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const READ_NAMES = COMMANDS.filter((c) => c.scope === 'read').map((c) => c.name);
const ADMIN_NAMES = COMMANDS.filter((c) => c.scope === 'admin').map((c) => c.name);
const KNOWN = new Set(COMMANDS.map((c) => c.name.split(' ').at(-1) as string));

/** A random element of a list (r() is below 1, so the index is below its length). */
function oneOf<T>(r: () => number, list: readonly T[]): T {
  const x = list[Math.floor(r() * list.length)];
  if (x === undefined) throw new Error('oneOf: an empty list');
  return x;
}

/** Words that break parsers: numbers out of range, wrong types, long, control and non-UTF-8 bytes. */
function badWord(r: () => number): Buffer {
  const pick = Math.floor(r() * 14);
  const ascii = (n: number) => Buffer.from(Array.from({ length: n }, () => 33 + Math.floor(r() * 94)));
  switch (pick) {
    case 0: return Buffer.from(String(-Math.floor(r() * 1e6)));
    case 1: return Buffer.from('99999999999999999999999999');
    case 2: return Buffer.from(oneOf(r, ['1e309', 'NaN', 'Infinity', '-0', '0x10', '1.5', '٣', '+7']));
    case 3: return Buffer.from('x'.repeat(1000 + Math.floor(r() * 3000)));
    case 4: // invalid UTF-8
      return Buffer.from(Array.from({ length: 1 + Math.floor(r() * 20) }, () => 0x80 + Math.floor(r() * 128)));
    case 5:
      return Buffer.from(Array.from({ length: 1 + Math.floor(r() * 8) },
        () => oneOf(r, [0, 1, 7, 8, 9, 11, 12, 27, 127])));
    case 6: return Buffer.from(oneOf(r, ['💥', 'Ω≈ç√', '\u202e', '\ufeff', 'ä'.repeat(50)]));
    case 7: return Buffer.from(oneOf(r, ['%s%n%x', '${7*7}', "'; DROP", '<script>', '../../../../etc/passwd', '`id`', '$(id)']));
    case 8: return Buffer.from(oneOf(r, ['address', 'port', 'max', 'blacklist', 'permit', 'deny', 'country', 'acl']));
    default: return ascii(1 + Math.floor(r() * 24));
  }
}

/** A first word that is no command: random, or a command name bent out of shape. */
function unknownWord(r: () => number): Buffer {
  for (;;) {
    const w = r() < 0.5 ? badWord(r) : Buffer.from(`${[...KNOWN][Math.floor(r() * KNOWN.size)]}${['x', '_', '-', '2', 'S'][Math.floor(r() * 5)]}`);
    const text = w.toString('latin1');
    if (!KNOWN.has(text) && text !== 'no' && !text.startsWith('#') && !/[\s]/.test(text) && w.length > 0) return w;
  }
}

function join(words: Buffer[], r: () => number): Buffer {
  const seps = [' ', ' ', ' ', '  ', '\t'];
  const parts: Buffer[] = [];
  words.forEach((w, i) => {
    if (i > 0) parts.push(Buffer.from(oneOf(r, seps)));
    parts.push(w);
  });
  return Buffer.concat(parts);
}

const args = (r: () => number) => Array.from({ length: Math.floor(r() * 6) }, () => badWord(r));

/**
 * A bad line that cannot change anything on any channel: an unknown command, `no` + junk, or a
 * read-only command with junk arguments. Safe to send with full rights.
 */
export function harmlessBadLine(r: () => number): Buffer {
  const kind = Math.floor(r() * 5);
  if (kind === 0) return join([Buffer.from('no'), unknownWord(r), ...args(r)], r);
  if (kind === 1) return join([Buffer.from(oneOf(r, READ_NAMES)), ...args(r)], r);
  if (kind === 2) return Buffer.from('x'.repeat(4096 + Math.floor(r() * 2000))); // past pen's 4095-byte line
  return join([unknownWord(r), ...args(r)], r);
}

/** A bad line that may name any command (admin ones too): only for callers who cannot change things. */
export function anyBadLine(r: () => number): Buffer {
  if (r() < 0.5) return harmlessBadLine(r);
  const name = oneOf(r, ADMIN_NAMES);
  return join([Buffer.from(name), ...args(r)], r);
}

/** Bodies no route should accept: wrong types, huge, deep, not JSON, not UTF-8. */
export function badBodies(): { name: string; type: string; body: Buffer }[] {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const json = (v: string) => ({ type: 'application/json', body: Buffer.from(v) });
  return [
    { name: 'not JSON', ...json('{"seconds":') },
    { name: 'array', ...json('[1,2,3]') },
    { name: 'string', ...json('"30"') },
    { name: 'number', ...json('30') },
    { name: 'null', ...json('null') },
    { name: 'unknown fields', ...json('{"__proto__":{"x":1},"constructor":{"prototype":{}},"zzz":1}') },
    { name: 'wrong field types', ...json('{"seconds":"30","address":5,"args":"blacklist","max":-1,"file":["a"],"action":true}') },
    { name: 'out of range', ...json('{"seconds":1e309,"max":-99999999999,"port":70000,"n":1.5,"mask":999}') },
    { name: 'deep', ...json(deep(30_000)) },
    { name: 'deep object', ...json(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) },
    { name: 'huge', ...json(`{"args":["${'x'.repeat(70_000)}"]}`) },
    { name: 'many args', ...json(JSON.stringify({ args: Array.from({ length: 5000 }, () => 'x') })) },
    { name: 'invalid UTF-8', type: 'application/json', body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) },
    { name: 'form', type: 'application/x-www-form-urlencoded', body: Buffer.from('seconds=30&args=blacklist+5') },
    { name: 'text', type: 'text/plain', body: Buffer.from('server 0 blacklist 300') },
    { name: 'multipart', type: 'multipart/form-data; boundary=x', body: Buffer.from('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n') },
    { name: 'bad charset', type: 'application/json; charset=utf-7', body: Buffer.from('{}') },
  ];
}

/** Path parameters no route should accept. */
export const BAD_PARAMS = ['-1', '99999999999999999999', 'abc', '%00', '..%2f..%2fetc', '1.5', '0x1', 'x'.repeat(5000), '%ff%fe', '1e3', '%201', '1%0a'];
