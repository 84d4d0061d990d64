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

/** An ACL entry as given: from `acl N …`'s words (parseAclWords) or POST /acls/:n's body. */
export interface AclInput {
  action: string;
  address?: string;
  /** IPv4: a netmask, or a prefix length; IPv6: a prefix length (or `/LEN` on the address) */
  mask?: string | number;
  country?: string;
}

/** Why an entry was refused, and the part of it that was wrong. */
export class AclInputError extends PenError {
  constructor(readonly field: 'action' | 'address' | 'mask' | 'country', message: string) {
    super('PEN_ERR_ARGUMENT', `acl: ${message}`);
  }
}

const bad = (field: AclInputError['field'], message: string) => new AclInputError(field, message);

/**
 * THE check of an ACL entry, for the control port, files and REST alike: a permit or deny of an
 * IPv4 address with its netmask (255.255.255.255 by default), an IPv6 address with its prefix
 * length (128 by default), or a two-letter country.
 */
export function aclEntry(input: AclInput): AclEntry {
  const { action, address, mask, country } = input;
  if (action !== 'permit' && action !== 'deny') throw bad('action', 'expected permit|deny');
  const permit = action === 'permit';
  if ((address === undefined) === (country === undefined)) throw bad('address', 'give either an address or a country');
  if (country !== undefined) {
    if (mask !== undefined) throw bad('mask', 'a country entry has no mask');
    if (!/^[A-Za-z]{2}$/.test(country)) throw bad('country', `expected a two-letter country code, got '${country}'`);
    return { permit, kind: 'country', country: country.toUpperCase() };
  }
  const addr = address as string;
  if (addr.includes(':')) {
    const [ip = '', len, ...more] = addr.split('/');
    if (more.length > 0 || !ipaddr.IPv6.isValid(ip)) throw bad('address', `${ip} is not an IPv6 address`);
    if (len !== undefined && mask !== undefined) throw bad('mask', 'give the prefix length once');
    const prefix = len !== undefined ? (/^\d+$/.test(len) ? Number(len) : NaN) : mask ?? 128;
    if (typeof prefix !== 'number' || !Number.isInteger(prefix) || prefix < 0 || prefix > 128) {
      throw bad(len !== undefined ? 'address' : 'mask', 'an IPv6 prefix length is 0 to 128');
    }
    return { permit, kind: 'ipv6', ip: ipaddr.IPv6.parse(ip).toString(), prefix };
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(addr)) throw bad('address', `bogus address '${addr}'`);
  let dotted = '255.255.255.255';
  if (typeof mask === 'number') {
    if (!Number.isInteger(mask) || mask < 0 || mask > 32) throw bad('mask', 'an IPv4 prefix length is 0 to 32');
    dotted = ipaddr.IPv4.subnetMaskFromPrefixLength(mask).toString();
  } else if (mask !== undefined) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(mask)) throw bad('mask', `bogus mask '${mask}'`);
    dotted = mask;
  }
  return { permit, kind: 'ipv4', ip: addr, mask: dotted };
}

/** The words after `acl N`: `permit|deny ADDR [MASK]`, `permit|deny IPV6[/LEN]`, `permit|deny country CC`. */
export function parseAclEntry(words: string[]): AclEntry {
  const [action = '', what, extra] = words;
  if (what === 'country') return aclEntry({ action, country: extra ?? '' });
  return aclEntry({ action, address: what ?? '', ...(extra !== undefined && !(what ?? '').includes(':') ? { mask: extra } : {}) });
}

function matchesV4(entry: { ip: string; mask: string }, client: IpAddr.IPv4): boolean {
  const ip = ipaddr.IPv4.parse(entry.ip).toByteArray();
  const mask = ipaddr.IPv4.parse(entry.mask).toByteArray();
  const c = client.toByteArray();
  // pen does not pre-mask the entry: `permit 127.0.0.1 255.0.0.0` never matches (all three are 4 bytes)
  return c.every((b, i) => (b & mask[i]!) === ip[i]);
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
  return !list.at(-1)?.permit; // not empty: checked above
}

/** The `write` form of an entry, e.g. `acl 1 permit 10.0.0.0 255.0.0.0`. */
export function formatAclEntry(n: number, e: AclEntry): string {
  const action = e.permit ? 'permit' : 'deny';
  if (e.kind === 'ipv4') return `acl ${n} ${action} ${e.ip} ${e.mask}`;
  if (e.kind === 'ipv6') return `acl ${n} ${action} ${e.ip}/${e.prefix}`;
  return `acl ${n} ${action} country ${e.country}`;
}
