// Commands over the balancer's tables: servers, clients, connections and access lists.
import { ACL_COUNT, ipaddr, parseAclEntry } from '../core/acl.ts';
import { resolveHost } from '../core/address.ts';
import { CS_CONNECTING } from '../core/connection.ts';
import { debug } from '../core/diag.ts';
import type { Balancer } from '../core/balancer.ts';
import { blacklistFor, ensureServer } from '../core/servers.ts';
import { HealthSyntaxError, formatHealth, parseHealth, type HealthCheck } from '../../shared/health.ts';
import { atoi } from './atoi.ts';
import { atoiWide, upTo, within } from './limits.ts';
import { quiet, refuse } from './errors.ts';
import type { Handler } from './registry.ts';
import { commandNumber } from './settings.ts';
import { settingRow } from '../../shared/settings.ts';
import { collectStats } from '../stats/model.ts';
import { renderRecent, renderServers } from '../stats/text.ts';

export const servers: Handler = ({ pen }) => renderServers(collectStats(pen));

const SERVER_KEYS = ['acl', 'address', 'port', 'max', 'hard', 'blacklist', 'weight', 'prio'] as const;
type ServerKey = (typeof SERVER_KEYS)[number];
const isServerKey = (k: string): k is ServerKey => (SERVER_KEYS as readonly string[]).includes(k);

/**
 * `server N key value …`: pairs in any order, unknown keys ignored, as pen reads them. Every
 * number is checked against shared/limits.ts before anything changes.
 */
export const server: Handler = async ({ pen }, args) => {
  if (args[0] === undefined) return '';
  const n = upTo('server', args[0]);
  if (n < 0) return '';
  if (args[1] === 'health') return serverHealth(pen, n, args.slice(2));
  if (args[1] === 'drain') return serverDrain(pen, n, args.slice(2));
  const pairs: { key: ServerKey; text: string; n: number }[] = [];
  for (let i = 1; i + 1 < args.length; i += 2) {
    const key = args[i];
    const text = args[i + 1];
    if (!isServerKey(key)) continue;
    const value = key === 'address' ? 0 : key === 'blacklist' ? upTo('server blacklist', text) : within(`server ${key}`, text);
    pairs.push({ key, text, n: value });
  }
  const s = ensureServer(pen.servers, n);
  for (const { key, text, n: value } of pairs) {
    switch (key) {
      case 'acl': s.acl = value; break;
      case 'address': {
        debug(`do_cmd: server ${n} address ${text}`);
        let r;
        try {
          r = await resolveHost(text);
        } catch (err) {
          throw quiet(`server ${n}: ${(err as Error).message}`); // pen stops at a bad address
        }
        s.family = r.family;
        s.address = r.address;
        // pen gives a new address port 0 until `port` is set; a Unix socket reports port 1
        if (r.family === 'unix') s.port = 1;
        break;
      }
      case 'port': s.port = value; break;
      case 'max': s.maxc = value; break;
      case 'hard': s.hard = value; break;
      case 'blacklist':
        blacklistFor(s, value, pen.now(), pen.settings.blacklistTime);
        pen.emitEvent(value > 0
          ? { type: 'blacklisted', server: n, message: `server ${n} blacklisted for ${value} s by command` }
          : { type: 'back', server: n, message: `server ${n} taken off the blacklist by command` });
        break;
      case 'weight': s.weight = value; break;
      case 'prio': s.prio = value; break;
    }
  }
  pen.health.reconcile(); // a new address or port restarts its check
  return '';
};

function parseCheck(words: string[]): HealthCheck {
  try {
    return parseHealth(words);
  } catch (err) {
    if (err instanceof HealthSyntaxError) throw refuse(err.message, 'PEN_ERR_ARGUMENT');
    throw err;
  }
}

/** `health [CHECK]`: the default check; without arguments, report it in full. */
export const health: Handler = ({ pen }, args) => {
  if (args.length > 0) {
    pen.healthDefault = parseCheck(args);
    pen.health.reconcile();
  }
  return `${formatHealth(pen.healthDefault, true)}\n`;
};

/** `server N health CHECK|default`: this server's own check, or back to the default. */
function serverHealth(pen: Balancer, n: number, args: string[]): string {
  if (args.length === 0) throw refuse('server health: expected off, tcp, http PATH [STATUS], dns NAME or default', 'PEN_ERR_ARGUMENT');
  const check = args.length === 1 && args[0] === 'default' ? null : parseCheck(args);
  ensureServer(pen.servers, n).health = check;
  pen.health.reconcile();
  return '';
}

/**
 * `server N drain on|off`: no new picks while on (returning clients fail over as from a
 * blacklisted server); open connections and UDP sessions carry on, and `drained` is published
 * when the last one closes (at once if there are none).
 */
function serverDrain(pen: Balancer, n: number, args: string[]): string {
  if (args.length !== 1 || (args[0] !== 'on' && args[0] !== 'off')) throw refuse('server drain: expected on or off', 'PEN_ERR_ARGUMENT');
  const s = ensureServer(pen.servers, n);
  const on = args[0] === 'on';
  if (s.drain === on) return '';
  s.drain = on;
  if (on) pen.noteReleased(n);
  return '';
}

/** `recent [SECS]`: clients seen in the last SECS seconds (300 by default), in slot order. */
export const recent: Handler = ({ pen }, args) =>
  renderRecent(collectStats(pen), args[0] !== undefined ? atoi(args[0]) : 300);

function slotIn(pen: { settings: { connMax: number } }, args: string[]): { n: number; bad: string | null } {
  const n = args[0] !== undefined ? atoi(args[0]) : 0;
  return { n, bad: n < 0 || n >= pen.settings.connMax ? `Connection ${n} out of range\n` : null };
}

export const connection: Handler = ({ pen }, args) => {
  const { n, bad } = slotIn(pen, args);
  if (bad) return bad;
  const c = pen.conns[n];
  if (!c) {
    const last = pen.lastOccupant[n] ?? { client: 0, server: 0 };
    return `Connection ${n}:\nstate = 0\ndownfd = -1, upfd = -1\nclient = ${last.client}, server = ${last.server}\npend = 0\n`;
  }
  const pend = c.state & CS_CONNECTING ? 1 : 0;
  return `Connection ${n}:\nstate = ${c.state}\ndownfd = ${c.downId}, upfd = ${c.upId}\nclient = ${c.clientIndex}, server = ${c.server}\npend = ${pend}\n`;
};

/** `close N`: unlike C pen, closing an unused slot changes nothing (pen corrupts its counters). */
export const close: Handler = ({ pen }, args) => {
  const { n, bad } = slotIn(pen, args);
  if (bad) return bad;
  pen.closeConnection(n);
  return `Forcibly closing connection ${n}\n`;
};

export const socket: Handler = ({ pen }, args) => {
  const fd = args[0] !== undefined ? atoi(args[0]) : 0;
  const conn = pen.conns.findIndex((c) => c !== null && (c.downId === fd || c.upId === fd));
  return `Socket ${fd} belongs to connection ${conn}\n`;
};

export const clientsMax: Handler = ({ pen }, args) => {
  const n = args[0] !== undefined ? commandNumber(settingRow('clients_max'), args[0]) : null;
  if (n !== null) pen.clients.grow(n);
  pen.settings.clientsMax = pen.clients.size;
  return `${pen.clients.size}\n`;
};

export const connMax: Handler = ({ pen }, args) => {
  const n = args[0] !== undefined ? commandNumber(settingRow('conn_max'), args[0]) : null;
  if (n !== null) pen.growConnections(n);
  return `${pen.settings.connMax}\n`;
};

/** inet_aton's forms (`10.1`, `0x7f.1`) normalised to dotted quad; null when not an address. */
function dottedQuad(text: string): string | null {
  return ipaddr.IPv4.isValid(text) ? ipaddr.IPv4.parse(text).toString() : null;
}

/** `acl N permit|deny …`: pen needs three words and reports every problem through debug() only. */
export const acl: Handler = async ({ pen }, args) => {
  const [no, action, what, extra] = args;
  if (what === undefined) return '';
  const n = atoiWide(no); // not wrapped to C's int, so 4294967297 is out of range rather than 1
  if (action !== 'permit' && action !== 'deny') throw quiet('acl: expected permit|deny');
  let words = [action, what, ...(extra !== undefined ? [extra] : [])];
  if (what === 'country') {
    if (extra === undefined) throw quiet('acl: expected country');
    await pen.loadDefaultGeoip(); // an -O command runs before the listener opens and looks for it
    if (pen.country === undefined) {
      throw refuse('acl: country ACLs need a GeoIP database; load one with `geoip FILE`', 'PEN_ERR_UNSUPPORTED');
    }
  } else if (!what.includes(':')) {
    const ip = dottedQuad(what);
    if (ip === null) throw quiet(`acl: bogus address '${what}'`);
    const mask = dottedQuad(extra ?? '255.255.255.255');
    if (mask === null) throw quiet(`acl: bogus mask '${extra}'`);
    words = [action, ip, mask];
  } else {
    const [ip, len] = what.split('/');
    if (!ipaddr.isValid(ip)) throw quiet(`acl: can't convert address ${ip}`);
    if (!ipaddr.IPv6.isValid(ip)) throw quiet(`acl: ${ip} is not an ipv6 address`);
    words = [action, len === undefined ? ip : `${ip}/${atoi(len)}`];
  }
  let entry;
  try {
    entry = parseAclEntry(words);
  } catch (err) {
    throw quiet((err as Error).message);
  }
  if (n < 0 || n >= ACL_COUNT) throw quiet(`add_acl: ${n} outside (0,${ACL_COUNT})`);
  pen.acls[n].push(entry);
  return '';
};

export const noAcl: Handler = ({ pen }, args) => {
  if (args[0] === undefined) throw refuse('no acl: expected an ACL number 0-9');
  const n = atoi(args[0]);
  if (n >= 0 && n < ACL_COUNT) pen.acls[n] = [];
  return '';
};
