// Parsing of pen's address forms: listen addresses, backend specs, and name resolution.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { LIMITS, pastLimit } from '../../shared/limits.ts';
import { PenError } from './errors.ts';

export type Family = 0 | 4 | 6 | 'unix';


export interface BackendSpec {
  host: string;
  port: number | null; // null: use the listen port
  maxc: number;
  hard: number;
  weight: number;
  prio: number;
}

export interface ListenSpec {
  text: string;     // as given; `listen` reports it and `write` saves it
  family: Family;
  host: string;     // IP/host text, or the path for Unix sockets
  port: number;
}

let services: Map<string, number> | null = null;

/** getservbyname for "tcp"/"udp": /etc/services, read once. */
export function servicePort(name: string, proto: 'tcp' | 'udp'): number | null {
  if (services === null) {
    services = new Map();
    try {
      for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
        const m = /^([^#\s]+)\s+(\d+)\/(tcp|udp)(.*)$/.exec(line);
        if (!m) continue;
        const [, name = '', number, proto, tail = ''] = m;
        const port = Number(number);
        const [beforeComment = ''] = tail.split('#');
        const aliases = beforeComment.trim().split(/\s+/).filter(Boolean);
        for (const n of [name, ...aliases]) {
          const key = `${n}/${proto}`;
          if (!services.has(key)) services.set(key, port);
        }
      }
    } catch { /* no services file: numbers only */ }
  }
  return services.get(`${name}/${proto}`) ?? null;
}

/** A port field: a number 1..65535 or a service name. */
export function parsePort(text: string, proto: 'tcp' | 'udp'): number | null {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 65535 ? n : null;
  }
  return servicePort(text, proto);
}

/**
 * `[host:]port` as pen writes it: a path if it contains '/', else split at the last ':'.
 * IPv6 is written without brackets (`:::8080`, `::1:8080`); we also accept `[::1]:8080`.
 */
export function parseListen(text: string, proto: 'tcp' | 'udp' = 'tcp'): ListenSpec {
  if (text.includes('/')) return { text, family: 'unix', host: text, port: 0 };
  let host = '0.0.0.0';
  let portText = text;
  const bracket = /^\[([^\]]+)\]:(.+)$/.exec(text);
  if (bracket) {
    [, host = '', portText = ''] = bracket;
  } else {
    const i = text.lastIndexOf(':');
    if (i >= 0) {
      host = text.slice(0, i);
      portText = text.slice(i + 1);
      if (host === '') throw new PenError('PEN_ERR_ADDRESS', `invalid listen address '${text}': empty host`);
    }
  }
  const port = parsePort(portText, proto);
  if (port === null) throw new PenError('PEN_ERR_ADDRESS', `invalid listen address '${text}': bad port '${portText}'`);
  const ip = isIP(host);
  return { text, family: ip === 6 ? 6 : ip === 4 ? 4 : 0, host, port };
}

function parseField(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (!/^-?\d+$/.test(text)) return NaN;
  return Number(text);
}

/**
 * `host[:port[:maxc[:hard[:weight[:prio]]]]]`, IPv6 hosts in brackets. Unlike C pen, a field
 * that does not parse is an error rather than a silent stop, so typos do not start a wrong config.
 */
export function parseBackend(text: string, proto: 'tcp' | 'udp' = 'tcp'): BackendSpec {
  let host: string;
  let rest: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}': missing ']'`);
    host = text.slice(1, end);
    rest = text.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}'`);
    rest = rest.slice(1);
    if (isIP(host) !== 6 && !/^[A-Za-z0-9.-]+$/.test(host)) throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}': bad address '${host}'`);
  } else if (text.includes('/')) {
    // Unix socket path: the path may not contain ':'-separated fields before the first ':'
    const i = text.indexOf(':');
    host = i < 0 ? text : text.slice(0, i);
    rest = i < 0 ? '' : text.slice(i + 1);
  } else {
    const i = text.indexOf(':');
    host = i < 0 ? text : text.slice(0, i);
    rest = i < 0 ? '' : text.slice(i + 1);
    if (text.split(':').length > 6 || (isIP(text.split(':').slice(0, 3).join(':')) === 6)) {
      throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}': write IPv6 addresses in brackets, e.g. [::1]:80`);
    }
  }
  if (host === '') throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}': empty host`);
  const fields = rest === '' ? [] : rest.split(':');
  if (fields.length > 5) throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}': too many fields`);
  let port: number | null = null;
  if (fields[0] !== undefined && fields[0] !== '') {
    port = parsePort(fields[0], proto);
    if (port === null) throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}': bad port '${fields[0]}'`);
  }
  const nums = fields.slice(1).map(parseField);
  const names = ['max', 'hard', 'weight', 'prio'] as const;
  names.forEach((name, i) => {
    const n = nums[i] ?? null;
    if (n !== null && (Number.isNaN(n) || n < 0)) {
      throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}': bad ${name} '${fields[i + 1]}'`);
    }
    const limit = `server ${name}` as const;
    if (n !== null && n > LIMITS[limit].max) throw new PenError('PEN_ERR_ADDRESS', `invalid server '${text}': ${pastLimit(limit, fields[i + 1] ?? n)}`);
  });
  return { host, port, maxc: nums[0] ?? 0, hard: nums[1] ?? 0, weight: nums[2] ?? 0, prio: nums[3] ?? 0 };
}

/** getaddrinfo, first result, IPv4 preferred as glibc does for `localhost`. */
export async function resolveHost(host: string): Promise<{ family: Family; address: string }> {
  if (host.includes('/')) return { family: 'unix', address: host };
  const ip = isIP(host);
  if (ip) return { family: ip as 4 | 6, address: host };
  try {
    const r = await lookup(host, { verbatim: false });
    return { family: r.family as 4 | 6, address: r.address };
  } catch {
    throw new PenError('PEN_ERR_ADDRESS', `unknown or invalid address [${host}]`);
  }
}

/** How pen prints an IPv4-mapped or plain address. */
export function plainIp(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
