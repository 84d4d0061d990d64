// The benchmark's smoke mode, so `npm run bench` cannot rot: one short keep-alive round of wrk
// against nginx direct and through our pen, and the result files it promises.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { which } from '../../bench/procs.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const missing = ['wrk', 'nginx'].filter((p) => !which(p));
const skip = missing.length ? `needs ${missing.join(' and ')} (Debian packages wrk, nginx-light)` : false;

test('the benchmark smoke mode measures our pen against nginx direct and writes its results', { skip, timeout: 90_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'pen-bench-smoke-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGTERM'), 80_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `bench exited ${code}\n${stderr}\n${stdout}`);

    assert.ok(existsSync(join(out, 'latest.md')), 'writes latest.md');
    const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    const rps = results.samples.keepalive_rps;
    assert.ok(rps?.direct?.[0] > 0, `nginx direct served requests: ${JSON.stringify(results)}`);
    assert.ok(rps?.ours?.[0] > 0, `our pen served requests: ${JSON.stringify(results)}`);
    assert.equal(results.warnings.length, 0, `no socket errors or non-2xx: ${results.warnings.join('; ')}`);
    assert.match(stdout, /keep-alive req\/s/);
    assert.match(readFileSync(join(out, 'latest.md'), 'utf8'), /\| keep-alive req\/s \(64 conns\) \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
