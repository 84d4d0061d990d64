// `acl N permit|deny …` and `no acl N`: the access lists. Both the control port's words and REST's
// body (POST /acls/:n, the same fields) come to apply as an AclInput, which core/acl.ts's aclEntry()
// checks: the one validator of an entry. pen reports every problem through debug() only.
import { Type } from '@sinclair/typebox';
import { AclAddSchema } from '../../shared/api.ts';
import { ACL_COUNT, AclInputError, aclEntry, formatAclEntry, ipaddr, type AclEntry } from '../core/acl.ts';
import { atoi } from './atoi.ts';
import { CommandError, quiet, refuse } from './errors.ts';
import { atoiWide } from './limits.ts';
import type { Entry, Outcome } from './types.ts';

export const AclArgsSchema = Type.Object({
  /** null: fewer than three words, which pen ignores without a word */
  n: Type.Union([Type.Integer(), Type.Null()]),
  ...AclAddSchema.properties,
});
type AclArgs = { n: number | null; action: 'permit' | 'deny'; address?: string; mask?: string | number; country?: string };

export interface AclOutcome extends Outcome {
  acl: number | null;
  /** the entry as `write` saves it */
  entry?: string;
}

/** inet_aton's forms (`10.1`, `0x7f.1`) as dotted quad, as pen reads them; the word itself when not an address. */
function dottedQuad(text: string): string {
  return ipaddr.IPv4.isValid(text) ? ipaddr.IPv4.parse(text).toString() : text;
}

export const acl: Entry<typeof AclArgsSchema, AclOutcome> = {
  schema: AclArgsSchema,
  parse(words) {
    const [no, action, what, extra] = words;
    if (what === undefined) return { n: null, action: 'permit' };
    if (action !== 'permit' && action !== 'deny') throw quiet('acl: expected permit|deny');
    const n = atoiWide(no); // not wrapped to C's int, so 4294967297 is out of range rather than 1
    if (what === 'country') return { n, action, ...(extra !== undefined ? { country: extra } : {}) };
    if (what.includes(':')) {
      const [ip, len] = what.split('/');
      return { n, action, address: len === undefined ? ip! : `${ip}/${atoi(len)}` };
    }
    return { n, action, address: dottedQuad(what), mask: dottedQuad(extra ?? '255.255.255.255') };
  },
  async apply({ pen }, args: AclArgs) {
    const { n } = args;
    if (n === null) return { changed: false, acl: null };
    let entry: AclEntry;
    try {
      entry = aclEntry(args);
    } catch (err) {
      if (err instanceof AclInputError) throw new CommandError(err.message, { code: err.code, field: err.field });
      throw err;
    }
    if (n < 0 || n >= ACL_COUNT) throw new CommandError(`add_acl: ${n} outside (0,${ACL_COUNT})`, { code: 'PEN_ERR_ARGUMENT' });
    if (entry.kind === 'country') {
      await pen.loadDefaultGeoip(); // an -O command runs before the listener opens and looks for it
      if (pen.country === undefined) {
        const message = 'acl: country ACLs need a GeoIP database; load one with `geoip FILE`';
        throw new CommandError(message, { reply: `${message}\n`, code: 'PEN_ERR_UNSUPPORTED', field: 'country' });
      }
    }
    pen.acls[n]!.push(entry);
    return { changed: true, acl: n, entry: formatAclEntry(n, entry) };
  },
  reply: () => '',
};

const NoAclArgs = Type.Object({ n: Type.Integer() });

export const noAcl: Entry<typeof NoAclArgs, AclOutcome> = {
  schema: NoAclArgs,
  parse(words) {
    if (words[0] === undefined) throw refuse('no acl: expected an ACL number 0-9');
    return { n: atoi(words[0]) };
  },
  apply({ pen }, { n }) {
    if (n < 0 || n >= ACL_COUNT) return { changed: false, acl: null };
    const changed = pen.acls[n]!.length > 0;
    pen.acls[n] = [];
    return { changed, acl: n };
  },
  reply: () => '',
};
