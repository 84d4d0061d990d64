// The package a user installs: `npm pack` of this checkout (built by `npm test` / `npm run build`),
// installed with `npm install -g --prefix DIR` into an empty prefix, then the installed pen
// forwards a request, the installed penctl reads `servers`, the admin port serves the dashboard,
// and man finds the pages. Dependencies come from the npm registry (or npm's cache). The package
// carries the addon the build made (Node-API: one binary for every Node 20 on linux-x64), since an
// installed package's install script does not run under npm 11: the installed pen is on the native path.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { after, before, test } from 'node:test';
import { freePort, get, httpBackend, sleep } from '../helpers/backends.ts';
import { ROOT } from '../helpers/pen.ts';

const dir = mkdtempSync(`${os.tmpdir()}/pen-package-`);
const prefix = `${dir}/prefix`;
const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
let tarball = '';
let files: string[] = [];

function npm(args: string[], timeoutMs: number) {
  const r = spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.error?.message ?? ''}${r.stderr}`);
  return r.stdout;
}

before(() => {
  assert.ok(existsSync(`${ROOT}dist/pen.js`) && existsSync(`${ROOT}web/dist/index.html`), 'the build is missing: npm run build');
  // the build ran already (npm test runs it first), so pack without running prepack again
  const [packed] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], 120_000)) as { filename: string; files: { path: string }[] }[];
  tarball = `${dir}/${packed!.filename}`;
  files = packed!.files.map((f) => f.path);
  npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], 300_000);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the tarball holds the built server, dashboard and man pages, and no sources, tests or benchmarks', () => {
  for (const f of ['package.json', 'build/Release/pen_native.node', 'bin/pen.js', 'bin/penctl.js', 'dist/pen.js', 'dist/penctl.js', 'dist/man/pen.1', 'dist/man/penctl.1', 'web/dist/index.html', 'docs/pen.service']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  const unwanted = files.filter((f) => /^(test|bench|server|shared|man|web\/src)\//.test(f) || /\.(ts|tsx|map)$/.test(f));
  assert.deepEqual(unwanted, []);
  const kib = statSync(tarball).size / 1024;
  console.log(`${tarball.split('/').pop()}: ${kib.toFixed(0)} KiB, ${files.length} files`);
  assert.ok(kib < 1024, `the tarball is ${kib.toFixed(0)} KiB`);
});

test('the install has no TypeScript loader and the binaries print the version', () => {
  assert.ok(!existsSync(`${prefix}/lib/node_modules/pen-ts/node_modules/tsx`), 'tsx is not installed');
  for (const bin of ['pen', 'penctl']) {
    const r = spawnSync(`${prefix}/bin/${bin}`, ['--version'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.stdout, `pen-ts ${VERSION}\n`, `${bin}: ${r.stderr}`);
  }
});

test('man finds the installed pages', () => {
  for (const page of ['pen', 'penctl']) {
    const r = spawnSync('man', ['-w', page], { encoding: 'utf8', timeout: 10000, env: { ...process.env, MANPATH: `${prefix}/share/man` } });
    assert.equal(r.status, 0, r.stderr);
    // share/man/man1/pen.1 is npm's link to the package's page; man names one or the other
    assert.equal(realpathSync(r.stdout.trim()), realpathSync(`${prefix}/share/man/man1/${page}.1`));
  }
});

test('the installed pen forwards, the installed penctl reads servers, the admin port serves the dashboard', async () => {
  const [port, control, admin] = [await freePort(), await freePort(), await freePort()];
  const backend = await httpBackend('installed-backend');
  // as root, pen opens a control port only with -u (as C pen does)
  const asRoot = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  // the native path forced: a package without its addon fails here rather than run portable
  const installedEnv: NodeJS.ProcessEnv = { ...process.env, PEN_DATAPATH: 'native' };
  delete installedEnv.PEN_NATIVE_ADDON;
  const pen = spawn(`${prefix}/bin/pen`, ['-f', '-d', ...asRoot, '-C', `127.0.0.1:${control}`, '--admin', `127.0.0.1:${admin}`,
    `127.0.0.1:${port}`, `127.0.0.1:${backend.port}`], { stdio: ['ignore', 'pipe', 'pipe'], env: installedEnv });
  let stderr = '';
  pen.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<void>((resolve) => pen.on('exit', () => resolve()));
  try {
    const deadline = Date.now() + 20000;
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${admin}/`, { signal: AbortSignal.timeout(2000) }).then((r) => r, () => null);
      if (up) break;
      assert.ok(pen.exitCode === null && Date.now() < deadline, `pen did not start: ${stderr}`);
      await sleep(100);
    }
    assert.equal(await get(port), 'installed-backend');
    assert.match(stderr, /datapath: native for 127\.0\.0\.1:\d+/, 'the installed pen loads the packaged addon');
    const servers = spawnSync(`${prefix}/bin/penctl`, [`127.0.0.1:${control}`, 'servers'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(servers.status, 0, servers.stderr);
    assert.match(servers.stdout, new RegExp(`^0 addr 127\\.0\\.0\\.1 port ${backend.port} `, 'm'));
    const page = await fetch(`http://127.0.0.1:${admin}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(page.status, 200);
    assert.equal(await page.text(), readFileSync(`${prefix}/lib/node_modules/pen-ts/web/dist/index.html`, 'utf8'));
    const script = /src="([^"]+\.js)"/.exec(readFileSync(`${ROOT}web/dist/index.html`, 'utf8'))![1]!;
    const asset = await fetch(new URL(script, `http://127.0.0.1:${admin}/`), { signal: AbortSignal.timeout(5000) });
    assert.equal(asset.status, 200, script);
  } finally {
    if (pen.exitCode === null) pen.kill('SIGTERM');
    const t = setTimeout(() => pen.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    await backend.close();
  }
});
