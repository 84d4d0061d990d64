// pen's debug() channel: `YYYY-MM-DD HH:MM:SS: message` on stderr in the foreground, syslog
// (through the system `logger` command, best effort) when daemonized.
import { spawn } from 'node:child_process';

let foreground = true;

export function setForeground(value: boolean): void {
  foreground = value;
}

export function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function debug(message: string): void {
  if (foreground) {
    process.stderr.write(`${timestamp()}: ${message}\n`);
    return;
  }
  try {
    const child = spawn('logger', ['-t', 'pen', '-p', 'user.debug', '--', message], { stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no syslog on this machine: nothing else to do
  }
}
