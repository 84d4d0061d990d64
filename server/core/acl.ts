// Access lists 0..9. Matching as pen does it: first matching entry decides; no match means the
// opposite of the last entry; an empty list permits. Address maths through ipaddr.js.
import { createRequire } from 'node:module';
import type * as IpAddr from 'ipaddr.js';
import { PenError } from './errors.ts';

// require(), not import: Node 20 pays ~8 MiB of RSS the first time ESM imports a CommonJS
// package (it scans the package's exports with cjs-module-lexer's WebAssembly build).
export const ipaddr: typeof IpAddr = createRequire(import.meta.url)('ipaddr.js');

export const ACL_COUNT = 10;

export type AclEntry =
  | { permit: boolean; kind: 'ipv4'; ip: string; mask: string }
  | { permit: boolean; kind: 'ipv6'; ip: string; prefix: number }
  | { permit: boolean; kind: 'country'; country: string };

export type AclTable = AclEntry[][];

export function emptyAcls(): AclTable {
  return Array.from({ length: ACL_COUNT }, () => []);
}

/** A country lookup for `acl N permit country CC`; null when no GeoIP database is configured. */
export type CountryLookup = (ip: string) => string | null;

/** Parse the words after `acl N`: `permit|deny ADDR [MASK]`, `permit|deny IPV6[/LEN]`, `permit|deny country CC`. */
export function parseAclEntry(words: string[]): AclEntry {
  const [action, what, extra] = words;
  if (action !== 'permit' && action !== 'deny') throw new PenError('PEN_ERR_COMMAND', 'acl: expected permit|deny');
  const permit = action === 'permit';
  if (what === undefined) throw new PenError('PEN_ERR_COMMAND', 'acl: expected address');
  if (what === 'country') {
    if (!extra || !/^[A-Za-z]{2}$/.test(extra)) throw new PenError('PEN_ERR_COMMAND', 'acl: expected country');
    return { permit, kind: 'country', country: extra.toUpperCase() };
  }
  if (what.includes(':')) {
    const [ip, len] = what.split('/');
    if (!ipaddr.IPv6.isValid(ip)) throw new PenError('PEN_ERR_COMMAND', `acl: ${ip} is not an ipv6 address`);
    const prefix = len === undefined ? 128 : Number(len);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) throw new PenError('PEN_ERR_COMMAND', `acl: bogus mask '${len}'`);
    return { permit, kind: 'ipv6', ip: ipaddr.IPv6.parse(ip).toString(), prefix };
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(what)) throw new PenError('PEN_ERR_COMMAND', `acl: bogus address '${what}'`);
  const mask = extra ?? '255.255.255.255';
  if (!ipaddr.IPv4.isValidFourPartDecimal(mask)) throw new PenError('PEN_ERR_COMMAND', `acl: bogus mask '${mask}'`);
  return { permit, kind: 'ipv4', ip: what, mask };
}

function matchesV4(entry: { ip: string; mask: string }, client: IpAddr.IPv4): boolean {
  const ip = ipaddr.IPv4.parse(entry.ip).toByteArray();
  const mask = ipaddr.IPv4.parse(entry.mask).toByteArray();
  const c = client.toByteArray();
  // pen does not pre-mask the entry: `permit 127.0.0.1 255.0.0.0` never matches
  return c.every((b, i) => (b & mask[i]) === ip[i]);
}

function matchesV6(entry: { ip: string; prefix: number }, client: IpAddr.IPv6): boolean {
  return client.match(ipaddr.IPv6.parse(entry.ip), entry.prefix);
}

/**
 * Does `clientIp` pass list `n`? Unix-socket clients (null ip) always pass; a list index out of
 * range never matches. IPv4-mapped IPv6 clients are matched as the IPv4 address they are.
 */
export function aclPermits(acls: AclTable, n: number, clientIp: string | null, country?: CountryLookup): boolean {
  if (clientIp === null) return true;
  const list = acls[n];
  if (list === undefined) return false;
  if (list.length === 0) return true;
  let addr: IpAddr.IPv4 | IpAddr.IPv6;
  try {
    addr = ipaddr.process(clientIp);
  } catch {
    return false;
  }
  for (const e of list) {
    let hit: boolean;
    if (e.kind === 'ipv4') hit = addr.kind() === 'ipv4' && matchesV4(e, addr as IpAddr.IPv4);
    else if (e.kind === 'ipv6') hit = addr.kind() === 'ipv6' && matchesV6(e, addr as IpAddr.IPv6);
    else hit = country?.(addr.toString()) === e.country;
    if (hit) return e.permit;
  }
  return !list[list.length - 1].permit;
}

/** The `write` form of an entry, e.g. `acl 1 permit 10.0.0.0 255.0.0.0`. */
export function formatAclEntry(n: number, e: AclEntry): string {
  const action = e.permit ? 'permit' : 'deny';
  if (e.kind === 'ipv4') return `acl ${n} ${action} ${e.ip} ${e.mask}`;
  if (e.kind === 'ipv6') return `acl ${n} ${action} ${e.ip}/${e.prefix}`;
  return `acl ${n} ${action} country ${e.country}`;
}
