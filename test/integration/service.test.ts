// docs/pen.service: systemd-analyze verify accepts it (pointed at this checkout's pen), and it
// asks for what the docs promise: pen -f with a config file, restart on failure, reload as HUP,
// a user of its own, and the hardening pen can live with.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { PEN, ROOT } from '../helpers/pen.ts';

const UNIT = readFileSync(`${ROOT}docs/pen.service`, 'utf8');
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const skip = analyze.status === 0 ? false : 'systemd-analyze is not installed (apt-get install systemd)';

function setting(key: string): string[] {
  return [...UNIT.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

test('systemd-analyze verify passes on the unit, without a warning', { skip }, () => {
  const dir = mkdtempSync(`${os.tmpdir()}/pen-unit-`);
  try {
    const file = `${dir}/pen.service`;
    writeFileSync(file, UNIT.replace('/usr/local/bin/pen ', `${PEN} `));
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('verify fails a unit whose pen is not there (so the check above means something)', { skip }, () => {
  const dir = mkdtempSync(`${os.tmpdir()}/pen-unit-`);
  try {
    writeFileSync(`${dir}/pen.service`, UNIT.replace('/usr/local/bin/pen ', '/nonexistent/pen '));
    const r = spawnSync('systemd-analyze', ['verify', `${dir}/pen.service`], { encoding: 'utf8', timeout: 30000 });
    assert.notEqual(r.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the unit runs pen -f with a config file, restarts on failure, reloads with HUP, runs hardened as its own user', () => {
  const [exec] = setting('ExecStart');
  assert.match(exec!, /^\/usr\/local\/bin\/pen -f -F \/etc\/pen\/pen\.cfg\b/);
  assert.deepEqual(setting('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  assert.deepEqual(setting('Restart'), ['on-failure']);
  assert.deepEqual(setting('DynamicUser'), ['yes']);
  assert.deepEqual(setting('User'), ['pen']);
  for (const [key, value] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'],
    ['CapabilityBoundingSet', 'CAP_NET_BIND_SERVICE'], ['AmbientCapabilities', 'CAP_NET_BIND_SERVICE']]) {
    assert.deepEqual(setting(key!), [value], key);
  }
  assert.deepEqual(setting('MemoryDenyWriteExecute'), [], "V8's compiler cannot run under MemoryDenyWriteExecute");
});
