// Every runtime setting of pen, with pen's defaults. Only server/control changes these. Each field
// a command or flag sets has its row in shared/settings.ts (name, range rule, reply, write rule).

export type FastClose = 'off' | 'up' | 'down' | 'both';

export interface Settings {
  blacklistTime: number;   // -b, seconds; 0 disables blacklisting
  trackingTime: number;    // -T, seconds; 0 = clients never expire
  timeout: number;         // -t, connect timeout in seconds (min 1)
  roundrobin: boolean;     // -r
  hash: boolean;           // -h
  weight: boolean;         // -W
  prio: boolean;           // prio command
  stubborn: boolean;       // -s
  http: boolean;           // -H
  clientAcl: number;
  controlAcl: number;
  tarpitAcl: number;
  debug: number;           // -d
  ascii: boolean;          // -a
  clientsMax: number;      // -c
  connMax: number;         // -x
  idleTimeout: number;
  pendingMax: number;
  multiAccept: number;     // -m: accepts per wake-up on the native path (pen's default is 100, ours 1)
  listenQueue: number;     // -q
  tcpFastclose: FastClose;
  tcpNodelay: boolean;
  keepalive: boolean;
  transparent: boolean;
  source: string | null;
  dummy: boolean;
  peek: boolean;
  abortOnError: boolean;
  exitEnabled: boolean;    // -X
  udp: boolean;            // -U
  foreground: boolean;     // -f
  logFile: string | null;  // -l
  webStats: string | null; // -w
  configFile: string | null; // -F
  control: string | null;  // -C as given
  listen: string | null;   // listen address as given
  pidFile: string | null;  // -p
  user: string | null;     // -u
  chroot: string | null;   // -j
  emergency: string | null; // -e spec as given
  abuse: string | null;     // -B spec as given
  eventBackend: 'epoll' | 'poll' | 'select' | 'kqueue';
  idlers: number;
  geoip: string | null;    // `geoip FILE` (our extension; pen's database is compiled in)
  ssl: SslSettings;
}

export interface SslSettings {
  cert: string | null;     // -E
  key: string | null;      // -K
  caFile: string | null;   // -G
  caDir: string | null;    // -A
  compat: boolean;         // -Z
  requireClientCert: boolean; // -R
  protocol: 'ssl23' | 'ssl2' | 'ssl3' | 'tls1';
  ciphers: string | null;
  options: string[];
  sniPath: string | null;
  ocspResponse: string | null;
  renegotiationInterval: number;
}

export function defaultSettings(): Settings {
  return {
    blacklistTime: 30, trackingTime: 0, timeout: 3,
    roundrobin: false, hash: false, weight: false, prio: false, stubborn: false, http: false,
    clientAcl: 0, controlAcl: 0, tarpitAcl: -1, debug: 0, ascii: false,
    clientsMax: 2048, connMax: 500, idleTimeout: 0, pendingMax: 100, multiAccept: 1, listenQueue: 500,
    tcpFastclose: 'off', tcpNodelay: false, keepalive: false, transparent: false, source: null,
    dummy: false, peek: false, abortOnError: false, exitEnabled: false, udp: false, foreground: false,
    logFile: null, webStats: null, configFile: null, control: null, listen: null, pidFile: null,
    user: null, chroot: null, emergency: null, abuse: null, eventBackend: 'epoll',
    idlers: 0, geoip: null,
    ssl: {
      cert: null, key: null, caFile: null, caDir: null, compat: false, requireClientCert: false,
      protocol: 'ssl23', ciphers: null, options: [], sniPath: null, ocspResponse: null,
      renegotiationInterval: 3600,
    },
  };
}
