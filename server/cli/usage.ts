// pen's usage text, verbatim (tabs included), with the compiled-in defaults.
export const USAGE = `usage:
  pen [-C addr:port] [-X] [-b sec] [-c N] [-e host[:port]] \\
\t  [-t sec] [-x N] [-w dir] [-UHPWadfhrs] \\
          [-o option] \\
\t  [-E certfile] [-K keyfile] \\
\t  [-G cacertfile] [-A cacertdir] \\
\t  [-Z] [-R] [-L protocol] \\
\t  [host:]port h1[:p1[:maxc1[:hard1[:weight1[:prio1]]]]] [h2[:p2[:maxc2[:hard2[:weight2[:prio2]]]]]] ...

  -B host:port abuse server for naughty clients
  -C port   control port
  -T sec    tracking time in seconds (0 = forever) [0]
  -H\tadd X-Forwarded-For header in http requests
  -U\tuse udp protocol support
  -N\tuse hash for initial server selection without save server
  -O option\tuse option in penctl format
  -P\tuse poll() rather than select()
  -Q    use kqueue to manage events (BSD)
  -W    use weight for server selection
  -X\tenable 'exit' command for control port
  -a\tdebugging dumps in ascii format
  -b sec    blacklist time in seconds [30]
  -c N      max number of clients [2048]
  -d\tdebugging on (repeat -d for more)
  -e host:port emergency server of last resort
  -f\tstay in foregound
  -h\tuse hash for initial server selection
  -j dir    run in chroot
  -F file   name of configuration file
  -l file   logging on
  -r\tbypass client tracking in server selection
  -s\tstubborn selection, i.e. don't fail over
  -t sec    connect timeout in seconds [3]
  -u user   run as alternative user
  -p file   write pid to file
  -x N      max number of simultaneous connections [500]
  -w file   save statistics in HTML format in a file
  -o option use option in penctl format
  -E certfile   use the given certificate in PEM format
  -K keyfile    use the given key in PEM format (may be contained in cert)
  -G cacertfile file containing the CA's certificate
  -A cacertdir  directory containing CA certificates in hashed format
  -Z\t    use SSL compatibility mode
  -R\t    require valid peer certificate
  -L protocol   ssl23 (default), ssl2, ssl3 or tls1

  --admin [host:]port       admin API and dashboard (loopback unless a host is given)
  --admin-token-file file   bearer tokens for the admin API
  --admin-stream-max N      live-stream (WebSocket) subscribers at once [32]
  --help                    this text

example:
  pen smtp mailhost1:smtp mailhost2:25 mailhost3

`;
