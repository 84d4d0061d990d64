/*
 * Socket addresses: parsing numeric IPv4/IPv6 literals and Unix paths, formatting a peer for
 * JS, and hashing/comparing client addresses for the UDP session table.
 *
 * fd ownership: none; this file opens and closes nothing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "engine.h"

/* A numeric IPv4 or IPv6 address (names are resolved in JS). Returns 0 or -EINVAL. */
int addr_parse(const char *host, int port, union sockaddr_any *out, socklen_t *len) {
  memset(out, 0, sizeof *out);
  if (port < 0 || port > 65535) return -EINVAL;
  if (inet_pton(AF_INET, host, &out->in4.sin_addr) == 1) {
    out->in4.sin_family = AF_INET;
    out->in4.sin_port = htons((uint16_t)port);
    *len = sizeof out->in4;
    return 0;
  }
  const char *h = host;
  char tmp[INET6_ADDRSTRLEN + 2];
  size_t hl = strlen(host);
  if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {   /* [::1] */
    if (hl - 2 >= sizeof tmp) return -EINVAL;
    memcpy(tmp, host + 1, hl - 2);
    tmp[hl - 2] = 0;
    h = tmp;
  }
  if (inet_pton(AF_INET6, h, &out->in6.sin6_addr) == 1) {
    out->in6.sin6_family = AF_INET6;
    out->in6.sin6_port = htons((uint16_t)port);
    *len = sizeof out->in6;
    return 0;
  }
  return -EINVAL;
}

int addr_unix(const char *path, union sockaddr_any *out, socklen_t *len) {
  memset(out, 0, sizeof *out);
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof out->un.sun_path) return -ENAMETOOLONG;
  out->un.sun_family = AF_UNIX;
  memcpy(out->un.sun_path, path, n + 1);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  return 0;
}

/* a.b.c.d into buf (16 bytes at least): glibc's inet_ntop goes through sprintf, ~1,700
 * instructions, once per new connection (js_select); this is about 60 */
static void format4(const struct in_addr *in, char *buf) {
  const uint8_t *b = (const void *)&in->s_addr;
  char *p = buf;
  for (int i = 0; i < 4; i++) {
    unsigned v = b[i];
    if (v >= 100) { *p++ = (char)('0' + v / 100); v %= 100; *p++ = (char)('0' + v / 10); v %= 10; }
    else if (v >= 10) { *p++ = (char)('0' + v / 10); v %= 10; }
    *p++ = (char)('0' + v);
    *p++ = i < 3 ? '.' : 0;
  }
}

/* "127.0.0.1" / "::1" (IPv4-mapped stays "::ffff:a.b.c.d", as Node shows it) or "" for Unix peers. */
int addr_format(const struct sockaddr *sa, char *buf, size_t buflen, int *port) {
  if (buflen < INET6_ADDRSTRLEN) return -ENOSPC;
  buf[0] = 0;
  *port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const void *)sa;
    format4(&a->sin_addr, buf);
    *port = ntohs(a->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const void *)sa;
    inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)buflen);
    *port = ntohs(a->sin6_port);
  }
  return 0;
}

uint32_t addr_hash(const union sockaddr_any *a) {
  const uint8_t *p;
  size_t n;
  uint16_t port;
  if (a->sa.sa_family == AF_INET) { p = (const void *)&a->in4.sin_addr; n = 4; port = a->in4.sin_port; }
  else { p = (const void *)&a->in6.sin6_addr; n = 16; port = a->in6.sin6_port; }
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
  h ^= port; h *= 16777619u;
  h ^= (uint32_t)(port >> 8); h *= 16777619u;
  return h;
}

int addr_equal(const union sockaddr_any *a, const union sockaddr_any *b) {
  if (a->sa.sa_family != b->sa.sa_family) return 0;
  if (a->sa.sa_family == AF_INET)
    return a->in4.sin_port == b->in4.sin_port && a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
  if (a->sa.sa_family == AF_INET6)
    return a->in6.sin6_port == b->in6.sin6_port && !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
  return 0;
}
