// A connect that fails because this host has no route (its link is down) says nothing about the
// server, so it must not blacklist it: otherwise a balancer whose link flapped stays unable to
// serve (and /healthz 503, so keepalived keeps it faulted) for the whole blacklist time after the
// link is back. A refusal still blacklists, as in pen. The host is a network namespace the test
// builds, with addresses from 198.18.0.0/24 that exist only inside it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';
import { Lab, labUnavailable, waitFor } from '../helpers/netns.ts';
import { PEN, ROOT } from '../helpers/pen.ts';

const NET = '198.18.0';
const BACKEND = `${NET}.21`;
const ADMIN = 9000;
const LISTEN = 8080;

const skip = labUnavailable(['nginx', 'curl']);

test('a connect without a route does not blacklist the server; a refused one does', { skip: skip ?? false, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(`${os.tmpdir()}/pen-route-`);
  const lab = new Lab(`penrt${process.pid}`);
  try {
    lab.createSwitch();
    lab.addHost('lb', [`${NET}.1/24`]);
    lab.addHost('be', [`${BACKEND}/24`]);
    mkdirSync(`${dir}/tmp`);
    writeFileSync(`${dir}/nginx.conf`, `worker_processes 1; daemon off; master_process off; pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn; events { worker_connections 64; }
http { access_log off; client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi; uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  server { listen ${BACKEND}:80; location / { return 200 "be\\n"; } } }
`);
    lab.start('nginx', 'be', 'nginx', ['-p', dir, '-c', `${dir}/nginx.conf`]);
    // port 81 on the backend host refuses
    const pen = lab.start('pen', 'lb', process.execPath, [PEN, '-f', '-d', '--admin', `127.0.0.1:${ADMIN}`,
      `127.0.0.1:${LISTEN}`, `${BACKEND}:80`, `${BACKEND}:81`], { cwd: ROOT });
    const curl = (...args: string[]) => lab.probe('lb', 'curl', ['-s', '-m', '2', ...args]);
    const request = () => curl('-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${LISTEN}/`);
    const healthz = () => curl(`http://127.0.0.1:${ADMIN}/healthz`);
    const logged = (line: RegExp) => waitFor(() => line.test(pen.output()), 3000, 20);
    assert.ok(await waitFor(() => request() === '200', 15_000, 100), `pen forwards to nginx: ${pen.output()}`);
    // round robin: the next client goes to :81, is refused, blacklists it and fails over to :80
    assert.equal(request(), '200');
    assert.ok(await logged(/blacklisting server 1 because of connect failure: connect ECONNREFUSED/), pen.output());

    lab.ip('lb', 'link', 'set', 'eth0', 'down');
    for (let i = 0; i < 3; i++) assert.notEqual(request(), '200', 'no route: the client is not served');
    assert.ok(await logged(/not blacklisting server 0: connect failure: connect ENETUNREACH/), pen.output());
    assert.doesNotMatch(pen.output(), /blacklisting server 0 because/);
    lab.ip('lb', 'link', 'set', 'eth0', 'up');

    // served again as soon as the route is back, not after the blacklist time (30 s)
    assert.ok(await waitFor(() => request() === '200', 3000, 100), `served once the link is back: ${pen.output().slice(-2000)}`);
    assert.equal(healthz(), '{"ok":true}');
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
