// pen's configuration files: -F (at start-up and on SIGHUP, registry.ts's runConfigFile) and `include`
// run a file line by line through the interpreter; `write` serialises the state back into the same command
// language. Files are read and written through core/files.ts (regular files only, size-capped, never blocking).
import { formatHealth } from '../../shared/health.ts';
import { formatAclEntry } from '../core/acl.ts';
import type { Balancer } from '../core/balancer.ts';
import { debug, timestamp } from '../core/diag.ts';
import { FileError, readOperatorFile, writeOperatorFile } from '../core/files.ts';
import { defaultSettings } from '../core/settings.ts';
import { quiet } from './errors.ts';
import type { CommandContext, IncludeChain, Run } from './context.ts';

/** Files may include files, but not without end: C pen recurses until it crashes. */
export const MAX_INCLUDE_DEPTH = 8;
/**
 * Files opened in one run (from -F, HUP or one `include` command). Without it a few files that
 * include each other several times (no cycle) multiply: 3 lines of 3 includes 8 deep is 6561 files.
 */
export const MAX_INCLUDED_FILES = 64;

/**
 * Run every line of `path` as a command through `run` (the interpreter); returns the replies, which pen
 * prints on stdout. A reply to a line that fails names `path:LINE`, never the line (registry.ts), unless
 * `quoteLines` asks for pen's own replies. Throws a FileError when the file cannot be run: not a regular
 * file, too large, nested too deep, or already being run.
 */
export async function includeFile(ctx: CommandContext, path: string, run: Run, quoteLines = false): Promise<string> {
  const chain: IncludeChain = ctx.include ?? { ids: [], budget: { files: 0 } };
  if (chain.ids.length >= MAX_INCLUDE_DEPTH) throw new FileError(path, `nested more than ${MAX_INCLUDE_DEPTH} deep`);
  if (++chain.budget.files > MAX_INCLUDED_FILES) throw new FileError(path, `more than ${MAX_INCLUDED_FILES} files included in one run`);
  const file = await readOperatorFile(path, 'config');
  if (chain.ids.includes(file.id)) throw new FileError(path, 'includes itself (directly or through other files)');
  const inner: IncludeChain = { ids: [...chain.ids, file.id], budget: chain.budget };
  let replies = '';
  const lines = file.data.toString('utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    const lineCtx: CommandContext = { ...ctx, origin: 'file', include: inner, fileLine: quoteLines ? undefined : `${path}:${i + 1}` };
    // pen reads with fgets into 4096 bytes: a longer line is cut, the rest read as the next one
    for (let at = 0; at < Math.max(1, line.length); at += 4095) {
      replies += (await run(lineCtx, line.slice(at, at + 4095))).reply;
    }
  }
  return replies;
}

/** The `# pen …` line: the options a fresh start needs besides the file, in pen's order. */
function commandLine(pen: Balancer, file: string): string {
  const s = pen.settings;
  const d = defaultSettings();
  let line = '# pen';
  if (s.udp) line += ' -U';
  if (s.foreground) line += ' -f';
  if (s.exitEnabled) line += ' -X';
  if (s.clientsMax !== d.clientsMax) line += ` -c ${s.clientsMax}`;
  if (s.emergency) line += ` -e ${s.emergency}`;
  if (s.abuse) line += ` -B ${s.abuse}`;
  if (s.chroot) line += ` -j '${s.chroot}'`;
  if (s.pidFile) line += ` -p '${s.pidFile}'`;
  if (s.user) line += ` -u '${s.user}'`;
  if (s.connMax !== d.connMax) line += ` -x ${s.connMax}`;
  return `${line} -F '${file}' -C ${s.control ?? '(null)'} ${s.listen ?? ''}\n`;
}

const onOff = (on: boolean, name: string) => `${on ? '' : 'no '}${name}\n`;

/**
 * Settings C pen's `write` leaves out. We append them when they differ from the defaults, so a
 * fresh start from the file gets them back; with defaults the file is exactly what pen writes.
 */
function extraLines(pen: Balancer): string {
  const s = pen.settings;
  const d = defaultSettings();
  const lines: string[] = [];
  if (s.clientsMax !== d.clientsMax) lines.push(`clients_max ${s.clientsMax}`);
  if (s.connMax !== d.connMax) lines.push(`conn_max ${s.connMax}`);
  if (s.idleTimeout !== d.idleTimeout) lines.push(`idle_timeout ${s.idleTimeout}`);
  if (s.pendingMax !== d.pendingMax) lines.push(`pending_max ${s.pendingMax}`);
  if (s.tarpitAcl !== d.tarpitAcl) lines.push(`tarpit_acl ${s.tarpitAcl}`);
  if (s.idlers !== d.idlers) lines.push(`idlers ${s.idlers}`);
  if (s.keepalive) lines.push('keepalive');
  if (s.transparent) lines.push('transparent');
  if (s.dummy) lines.push('dummy');
  if (s.peek) lines.push('peek');
  if (s.abortOnError) lines.push('abort_on_error');
  if (s.source) lines.push(`source ${s.source}`);
  if (s.ssl.ciphers) lines.push(`ssl_ciphers ${s.ssl.ciphers}`);
  for (const opt of s.ssl.options) lines.push(`ssl_option ${opt}`);
  if (s.ssl.sniPath) lines.push(`ssl_sni_path ${s.ssl.sniPath}`);
  if (s.ssl.ocspResponse) lines.push(`ssl_ocsp_response ${s.ssl.ocspResponse}`);
  if (s.ssl.renegotiationInterval !== d.ssl.renegotiationInterval) {
    lines.push(`ssl_client_renegotiation_interval ${s.ssl.renegotiationInterval}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** The text `write` saves, in pen's order and layout. */
export function formatConfig(pen: Balancer, file: string, now = new Date()): string {
  const s = pen.settings;
  let out = `# Generated by pen ${timestamp(now)}\n${commandLine(pen, file)}`;
  // country entries need their database before they can be read back in; pen's is compiled in
  if (s.geoip) out += `geoip ${s.geoip}\n`;
  pen.acls.forEach((list, n) => {
    out += `no acl ${n}\n`;
    for (const e of list) out += `${formatAclEntry(n, e)}\n`;
  });
  out += onOff(s.ascii, 'ascii');
  out += `blacklist ${s.blacklistTime}\n`;
  out += `client_acl ${s.clientAcl}\n`;
  out += `control_acl ${s.controlAcl}\n`;
  out += `debug ${s.debug}\n`;
  out += onOff(s.hash, 'hash');
  out += onOff(s.http, 'http');
  out += s.logFile ? `log ${s.logFile}\n` : 'no log\n';
  out += onOff(s.roundrobin, 'roundrobin');
  pen.servers.list.forEach((sv, i) => {
    const addr = sv.family === 0 ? '(unknown address family 0' : sv.address;
    out += `server ${i} acl ${sv.acl} address ${addr} port ${sv.port} max ${sv.maxc} hard ${sv.hard}`;
    // pen saves weight and prio only in their modes; we also keep values set outside them
    if (s.weight || sv.weight !== 0) out += ` weight ${sv.weight}`;
    if (s.prio || sv.prio !== 0) out += ` prio ${sv.prio}`;
    out += '\n';
  });
  out += onOff(s.stubborn, 'stubborn');
  out += `tcp_fastclose ${s.tcpFastclose}\n`;
  out += onOff(s.tcpNodelay, 'tcp_nodelay');
  out += `timeout ${s.timeout}\n`;
  out += `tracking ${s.trackingTime}\n`;
  out += s.webStats ? `web_stats ${s.webStats}\n` : 'no web_stats\n';
  out += onOff(s.weight, 'weight');
  out += onOff(s.prio, 'prio');
  return out + extraLines(pen) + healthLines(pen);
}

/**
 * Health checks and drain states (our extensions), last: C pen reading the file meets only lines
 * it ignores, after everything it reads. Written only when set, so a pen without checks writes
 * what C pen writes.
 */
function healthLines(pen: Balancer): string {
  let out = pen.healthDefault.kind !== 'off' ? `health ${formatHealth(pen.healthDefault)}\n` : '';
  pen.servers.list.forEach((sv, i) => {
    if (sv.health !== null) out += `server ${i} health ${formatHealth(sv.health)}\n`;
    if (sv.drain) out += `server ${i} drain on\n`;
  });
  return out;
}

/** The configuration as command lines, without `write`'s two comment lines: what a pen sends the pen following it. */
export function configLines(pen: Balancer): string[] {
  return formatConfig(pen, '').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** `write FILE`: to a temporary file renamed into place; failures are reported through debug(), as pen does. */
export async function writeConfig(pen: Balancer, file: string): Promise<void> {
  try {
    await writeOperatorFile(file, formatConfig(pen, file));
  } catch (err) {
    const e = err instanceof FileError ? err.for('write') : new FileError(file, (err as Error).message, 'write');
    throw Object.assign(quiet(e.message), { cause: e });
  }
}
