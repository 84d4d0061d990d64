// `pen --help`: pen's synopsis, verbatim (tabs included), then one line per row of the flag table.
import { FLAGS, STATUS_MARK, flagWithArg, type Flag } from './flags.ts';

const SYNOPSIS = `usage:
  pen [-C addr:port] [-X] [-b sec] [-c N] [-e host[:port]] \\
\t  [-t sec] [-x N] [-w dir] [-UHPWadfhrs] \\
          [-o option] \\
\t  [-E certfile] [-K keyfile] \\
\t  [-G cacertfile] [-A cacertdir] \\
\t  [-Z] [-R] [-L protocol] \\
\t  [host:]port h1[:p1[:maxc1[:hard1[:weight1[:prio1]]]]] [h2[:p2[:maxc2[:hard2[:weight2[:prio2]]]]]] ...
`;

function block(flags: Flag[]): string {
  const width = Math.max(...flags.map((f) => flagWithArg(f).length)) + 2;
  return flags.map((f) => `  ${flagWithArg(f).padEnd(width)}${f.what}${STATUS_MARK[f.status]}\n`).join('');
}

export const USAGE = `${SYNOPSIS}
${block(FLAGS.filter((f) => f.status !== 'extension'))}
${block(FLAGS.filter((f) => f.status === 'extension'))}
example:
  pen smtp mailhost1:smtp mailhost2:25 mailhost3

See pen(1) for each option's status here, the admin API, signals and files.
`;
