// One bound per count, index and time (shared/limits.ts), the same on the command line, the
// command port / -F (the registry) and REST; a value past it is one error line and changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { parseCommandLine } from '../../server/cli/args.ts';
import { Balancer } from '../../server/core/balancer.ts';
import { formatConfig } from '../../server/control/config.ts';
import type { CommandContext } from '../../server/control/context.ts';
import { execute } from '../../server/control/registry.ts';
import {
  AclParamsSchema, BlacklistSchema, ServerNewSchema, ServerParamsSchema, ServerPatchSchema, settingsPatchSchema,
} from '../../shared/api.ts';
import { HealthCheckSchema } from '../../shared/health.ts';
import { LIMITS, pastLimit, type LimitName } from '../../shared/limits.ts';

/** How each row is set through the registry, with the value in place of N. */
const COMMAND: Record<LimitName, ((n: string) => string) | null> = {
  server: (n) => `server ${n} address 127.0.0.1 port 80`,
  conn_max: (n) => `conn_max ${n}`,
  clients_max: (n) => `clients_max ${n}`,
  blacklist: (n) => `blacklist ${n}`,
  tracking: (n) => `tracking ${n}`,
  timeout: (n) => `timeout ${n}`,
  idle_timeout: (n) => `idle_timeout ${n}`,
  pending_max: (n) => `pending_max ${n}`,
  idlers: (n) => `idlers ${n}`,
  debug: (n) => `debug ${n}`,
  listen_queue: null, // -q only
  multi_accept: null, // -m only
  client_acl: null, // pen resets an out-of-range ACL number to 0 (its reply says so): tested below
  control_acl: null,
  tarpit_acl: null,
  acl: (n) => `acl ${n} permit 10.0.0.1`,
  'server port': (n) => `server 0 port ${n}`,
  'server max': (n) => `server 0 max ${n}`,
  'server hard': (n) => `server 0 hard ${n}`,
  'server weight': (n) => `server 0 weight ${n}`,
  'server prio': (n) => `server 0 prio ${n}`,
  'server acl': (n) => `server 0 acl ${n}`,
  'server blacklist': (n) => `server 0 blacklist ${n}`,
  'health interval': (n) => `health tcp interval ${n}`,
  'health timeout': (n) => `server 0 health http /healthz timeout ${n}`,
  'health rise': (n) => `health dns example.com rise ${n}`,
  'health fall': (n) => `server 0 health tcp fall ${n}`,
};

/** The REST schema that carries each row's bound. */
const settingsPatch = settingsPatchSchema().properties as Record<string, TSchema>;
const REST: Record<LimitName, TSchema[]> = {
  server: [ServerParamsSchema.properties.n],
  conn_max: [settingsPatch.conn_max], clients_max: [settingsPatch.clients_max],
  blacklist: [settingsPatch.blacklist], tracking: [settingsPatch.tracking], timeout: [settingsPatch.timeout],
  idle_timeout: [settingsPatch.idle_timeout], pending_max: [settingsPatch.pending_max], debug: [settingsPatch.debug],
  client_acl: [settingsPatch.client_acl], control_acl: [settingsPatch.control_acl],
  tarpit_acl: [settingsPatch.tarpit_acl],
  idlers: [], listen_queue: [], multi_accept: [], // not settable over REST but through /commands
  acl: [AclParamsSchema.properties.n],
  'server port': [ServerPatchSchema.properties.port, ServerNewSchema.properties.port],
  'server max': [ServerPatchSchema.properties.max, ServerNewSchema.properties.max],
  'server hard': [ServerPatchSchema.properties.hard, ServerNewSchema.properties.hard],
  'server weight': [ServerPatchSchema.properties.weight, ServerNewSchema.properties.weight],
  'server prio': [ServerPatchSchema.properties.prio, ServerNewSchema.properties.prio],
  'server acl': [ServerPatchSchema.properties.acl, ServerNewSchema.properties.acl],
  'server blacklist': [BlacklistSchema.properties.seconds],
  'health interval': [HealthCheckSchema.properties.interval], 'health timeout': [HealthCheckSchema.properties.timeout],
  'health rise': [HealthCheckSchema.properties.rise], 'health fall': [HealthCheckSchema.properties.fall],
};

function fresh(): CommandContext {
  return { pen: new Balancer(), runtime: { exit() {}, argv: [] }, origin: 'port' };
}

/** Everything a command could have changed. */
function fingerprint(ctx: CommandContext): string {
  const { pen } = ctx;
  return `${formatConfig(pen, 'f', new Date(0))}|${pen.settings.connMax}|${pen.clients.size}|${pen.servers.list.length}|${JSON.stringify(pen.servers.list)}|${JSON.stringify(pen.settings)}|${JSON.stringify(pen.healthDefault)}`;
}

for (const [name, limit] of Object.entries(LIMITS) as [LimitName, (typeof LIMITS)[LimitName]][]) {
  const line = COMMAND[name];
  if (line) {
    test(`${name}: the command takes ${limit.max} and refuses ${limit.max + 1} and 99999999999, changing nothing`, async () => {
      const ctx = fresh();
      await execute(ctx, 'server 0 address 127.0.0.1 port 80');
      const ok = await execute(ctx, line(String(limit.max)));
      assert.equal(ok.error, undefined, `${line(String(limit.max))}: ${ok.error?.message}`);
      for (const past of [String(limit.max + 1), '99999999999', '4294967297']) {
        const before = fingerprint(ctx);
        const r = await execute(ctx, line(past));
        assert.ok(r.error, `${line(past)} is refused`);
        if (name !== 'acl') assert.equal(r.reply, `${pastLimit(name, past)}\n`, 'one error line');
        assert.equal(fingerprint(ctx), before, `${line(past)} changes nothing`);
      }
    });
  }
  for (const schema of REST[name]) {
    test(`${name}: the REST schema has the same bounds`, () => {
      assert.equal(schema.maximum, limit.max);
      assert.equal(schema.minimum, limit.min);
    });
  }
  if ('flag' in limit) {
    test(`${name}: -${limit.flag} takes ${limit.max} and stops at ${limit.max + 1} with one line`, () => {
      parseCommandLine([`-${limit.flag}`, String(limit.max), '8080', 'a']);
      for (const past of [String(limit.max + 1), '99999999999']) {
        assert.throws(() => parseCommandLine([`-${limit.flag}`, past, '8080', 'a']),
          (e: Error) => e.message === `pen: -${limit.flag}: ${pastLimit(name, past)}`);
      }
    });
  }
}

test('ACL numbers outside 0-9 are reset to 0, as pen does (its reply shows the 0)', async () => {
  const ctx = fresh();
  assert.equal((await execute(ctx, 'client_acl 12')).reply, '0\n');
  assert.equal((await execute(ctx, 'control_acl 99999999999')).reply, '0\n');
  assert.equal((await execute(ctx, 'tarpit_acl 10')).reply, 'tarpit_acl = 0');
});

test('growing the tables costs nothing until they are used: a million slots are no objects', async () => {
  const ctx = fresh();
  await execute(ctx, `clients_max ${LIMITS.clients_max.max}`);
  assert.equal(ctx.pen.clients.size, LIMITS.clients_max.max);
  assert.equal(ctx.pen.clients.slots.length, 0);
  assert.equal((await execute(ctx, `conn_max ${LIMITS.conn_max.max}`)).reply, `${LIMITS.conn_max.max}\n`);
  assert.equal(ctx.pen.settings.connMax, LIMITS.conn_max.max);
  assert.equal(ctx.pen.conns.length, 0, 'connection slots are made when first used');
});

test('server specs on the command line (and -e, -B) have the same bounds as `server N max|hard|weight|prio`', () => {
  for (const [i, key] of (['max', 'hard', 'weight', 'prio'] as const).entries()) {
    const name = `server ${key}` as const;
    const spec = (v: number) => `a:80${':0'.repeat(i)}:${v}`;
    parseCommandLine(['8080', spec(LIMITS[name].max)]);
    assert.throws(() => parseCommandLine(['8080', spec(LIMITS[name].max + 1)]),
      (e: Error) => e.message.endsWith(pastLimit(name, LIMITS[name].max + 1)), spec(LIMITS[name].max + 1));
    assert.throws(() => parseCommandLine(['-e', spec(LIMITS[name].max + 1), '8080', 'b']), (e: Error) => e.message.endsWith(pastLimit(name, LIMITS[name].max + 1)));
  }
});
