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

/** pen's layout: the text in column 12, or one space after a longer flag (`-B host:port abuse …`) */
function block(flags: Flag[], column: number): string {
  return flags.map((f) => `  ${`${flagWithArg(f)} `.padEnd(column)}${f.what}${STATUS_MARK[f.status]}\n`).join('');
}

const OURS = FLAGS.filter((f) => f.status === 'extension');

export const USAGE = `${SYNOPSIS}
${block(FLAGS.filter((f) => f.status !== 'extension'), 10)}
${block(OURS, Math.max(...OURS.map((f) => flagWithArg(f).length)) + 2)}
example:
  pen smtp mailhost1:smtp mailhost2:25 mailhost3

See pen(1) for each option's status here, the admin API, signals and files.
`;
