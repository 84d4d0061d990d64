// Handlers for the commands in shared/commands.ts: each gets the words after the command name
// and returns pen's exact reply text.
import { resolveHost } from '../core/address.ts';
import { blacklistFor, ensureServer } from '../core/servers.ts';
import type { Settings } from '../core/settings.ts';
import type { Handler } from './registry.ts';

/** atoi: pen reads numbers leniently (garbage is 0). */
export function atoi(text: string | undefined): number {
  const m = /^\s*([+-]?\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : 0;
}

type NumericSetting = 'blacklistTime' | 'timeout' | 'trackingTime' | 'debug';

/** `NAME [N]`: set when given, reply with the value. */
function numeric(key: NumericSetting, min = -Infinity): Handler {
  return ({ pen }, args) => {
    if (args[0] !== undefined) pen.settings[key] = Math.max(min, atoi(args[0]));
    return `${pen.settings[key]}\n`;
  };
}

type FlagSetting = { [K in keyof Settings]: Settings[K] extends boolean ? K : never }[keyof Settings];

function flag(key: FlagSetting, value: boolean): Handler {
  return ({ pen }) => {
    pen.settings[key] = value;
    return '';
  };
}

export const HANDLERS: Record<string, Handler> = {
  blacklist: numeric('blacklistTime', 0),
  timeout: numeric('timeout', 1),
  tracking: numeric('trackingTime', 0),
  roundrobin: flag('roundrobin', true),
  'no roundrobin': flag('roundrobin', false),

  mode: ({ pen }) => {
    const s = pen.settings;
    const f = (on: boolean, name: string) => `${on ? '' : 'no '}${name}`;
    return `${[f(s.hash, 'hash'), f(s.roundrobin, 'roundrobin'), f(s.stubborn, 'stubborn'), f(s.weight, 'weight'), f(s.prio, 'prio')].join(' ')}\n`;
  },

  servers: ({ pen }) => {
    return pen.servers.list.map((s, i) => {
      const b = pen.serverBytes(i);
      const addr = s.family === 0 ? '(unknown address family 0' : s.address;
      return `${i} addr ${addr} port ${s.port} conn ${s.c} max ${s.maxc} hard ${s.hard} weight ${s.weight} prio ${s.prio} sx ${b.sx} rx ${b.rx}\n`;
    }).join('');
  },

  server: async ({ pen }, args) => {
    const n = atoi(args[0]);
    if (n < 0) return '';
    const s = ensureServer(pen.servers, n);
    for (let i = 1; i + 1 < args.length; i += 2) {
      const [key, value] = [args[i], args[i + 1]];
      switch (key) {
        case 'acl': s.acl = atoi(value); break;
        case 'address': {
          const r = await resolveHost(value); // an unresolvable address stops the rest, as in pen
          s.family = r.family;
          s.address = r.address;
          if (r.family === 'unix') s.port = 1;
          else if (s.port === 0) s.port = pen.defaultPort();
          break;
        }
        case 'port': s.port = atoi(value); break;
        case 'max': s.maxc = atoi(value); break;
        case 'hard': s.hard = atoi(value); break;
        case 'blacklist': blacklistFor(s, atoi(value), pen.now(), pen.settings.blacklistTime); break;
        case 'weight': s.weight = atoi(value); break;
        case 'prio': s.prio = atoi(value); break;
        default: break; // unknown keys are ignored, as in pen
      }
    }
    return '';
  },
};
