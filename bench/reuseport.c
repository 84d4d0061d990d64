/*
 * bench --engines N: an LD_PRELOAD shim that sets SO_REUSEPORT on every TCP socket before bind(),
 * so N unmodified copies of a proxy (pen, or pen-ts on the native path) can listen on one port and
 * the kernel spreads new connections over them by 4-tuple hash. It measures what N engines that
 * share nothing would buy on this machine: an upper bound for a threaded engine, which also pays
 * for shared tables (docs/performance.md, "More cores"). Built by bench/run.ts with gcc into its
 * temporary directory; never part of the package.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  static int (*real)(int, const struct sockaddr *, socklen_t);
  if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
  int type = 0, one = 1;
  socklen_t tl = sizeof type;
  if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
      && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM)
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  return real(fd, sa, len);
}
