/*
 * The engine object's methods. Each validates all of its input before it changes anything, and
 * throws a TypeError/RangeError (bad input) or an Error with .errno (the system said no).
 *
 * fd ownership: listen() creates listener fds (owned by the engine from then on); close(slot)
 * and closeListener(id) close fds through conn_close/session_close/listener_close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "glue.h"

#define STR_MAX 256

/* one server: { address, port, source? } or { path } */
static int parse_server(napi_env env, napi_value o, struct server_addr *s) {
  char buf[STR_MAX];
  napi_value v;
  double port;
  int r;
  memset(s, 0, sizeof *s);
  if ((r = arg_prop(env, o, "path", &v)) < 0) return -1;
  if (r) {
    if (arg_str(env, v, buf, sizeof buf, "server path")) return -1;
    if (addr_unix(buf, &s->addr, &s->len)) { napi_throw_type_error(env, NULL, "server path too long for a Unix socket"); return -1; }
    return 0;
  }
  if (arg_prop(env, o, "address", &v) != 1 || arg_str(env, v, buf, sizeof buf, "server address")) {
    throw_type(env, "server needs address and port, or path");
    return -1;
  }
  if (arg_prop(env, o, "port", &v) != 1 || arg_int(env, v, 1, 65535, &port, "server port")) {
    throw_type(env, "server needs a port");
    return -1;
  }
  if (addr_parse(buf, (int)port, &s->addr, &s->len)) { napi_throw_type_error(env, NULL, "server address must be a numeric IPv4 or IPv6 address"); return -1; }
  if ((r = arg_prop(env, o, "source", &v)) < 0) return -1;
  if (r) {
    if (arg_str(env, v, buf, sizeof buf, "server source")) return -1;
    if (addr_parse(buf, 0, &s->source, &s->source_len) || s->source.sa.sa_family != s->addr.sa.sa_family) {
      napi_throw_type_error(env, NULL, "server source must be a numeric address of the server's family");
      return -1;
    }
  }
  return 0;
}

static napi_value m_set_servers(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct engine *e = this_engine(env, info, &argc, argv);
  if (!e) return NULL;
  bool isarr = false;
  uint32_t n = 0;
  if (argc < 1 || napi_is_array(env, argv[0], &isarr) != napi_ok || !isarr) { napi_throw_type_error(env, NULL, "setServers: an array expected"); return NULL; }
  if (napi_get_array_length(env, argv[0], &n) != napi_ok) { throw_type(env, "setServers: an array expected"); return NULL; }
  if (n > MAX_SERVERS) { napi_throw_range_error(env, NULL, "setServers: too many servers"); return NULL; }
  struct server_addr *list = n ? xcalloc(e, (size_t)n * sizeof *list) : NULL;
  if (n && !list) { napi_throw_error(env, "ENOMEM", "setServers: out of memory"); return NULL; }
  for (uint32_t i = 0; i < n; i++) {
    napi_value o;
    if (napi_get_element(env, argv[0], i, &o) != napi_ok || parse_server(env, o, &list[i])) {
      throw_type(env, "setServers: cannot read a server");
      xfree(e, list, (size_t)n * sizeof *list);
      return NULL;
    }
  }
  xfree(e, e->servers, (size_t)e->nservers * sizeof *e->servers);
  e->servers = list;
  e->nservers = n;
  return NULL;
}

/* setDown(flags): flags[i] true marks server i down (a known UDP client's next datagram calls failed) */
static napi_value m_set_down(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct engine *e = this_engine(env, info, &argc, argv);
  bool isarr = false;
  uint32_t n = 0;
  if (!e) return NULL;
  if (argc < 1 || napi_is_array(env, argv[0], &isarr) != napi_ok || !isarr || napi_get_array_length(env, argv[0], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "setDown: an array of booleans expected");
    return NULL;
  }
  for (int pass = 0; pass < 2; pass++) {   /* all checked before any is changed */
    for (uint32_t i = 0; i < n && i < e->nservers; i++) {
      napi_value v;
      bool down = false;
      if (napi_get_element(env, argv[0], i, &v) != napi_ok || napi_get_value_bool(env, v, &down) != napi_ok) {
        throw_type(env, "setDown: an array of booleans expected");
        return NULL;
      }
      if (pass) e->servers[i].down = down;
    }
  }
  return NULL;
}

static napi_value m_set_fastclose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct engine *e = this_engine(env, info, &argc, argv);
  char buf[8];
  if (!e || argc < 1 || arg_str(env, argv[0], buf, sizeof buf, "fastclose")) return NULL;
  static const char *names[] = { "off", "up", "down", "both" };
  for (int i = 0; i < 4; i++) if (!strcmp(buf, names[i])) { __atomic_store_n(&e->fastclose, i, __ATOMIC_RELAXED); return NULL; }
  napi_throw_type_error(env, NULL, "fastclose must be off, up, down or both");
  return NULL;
}

/* setMultiAccept(n): a TCP listener accepts up to n clients per wake-up (pen's -m), 1 by default */
static napi_value m_set_multi_accept(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct engine *e = this_engine(env, info, &argc, argv);
  double n;
  if (!e) return NULL;
  if (argc < 1) { napi_throw_type_error(env, NULL, "setMultiAccept(n)"); return NULL; }
  if (arg_int(env, argv[0], 1, 1e6, &n, "multi_accept")) return NULL;
  e->accept_max = (uint32_t)n;
  return NULL;
}

/* setTimeouts(connectMs, idleMs, udpIdleMs); 0 switches one off */
static napi_value m_set_timeouts(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  struct engine *e = this_engine(env, info, &argc, argv);
  double t[3];
  if (!e) return NULL;
  if (argc < 3) { napi_throw_type_error(env, NULL, "setTimeouts(connectMs, idleMs, udpIdleMs)"); return NULL; }
  for (int i = 0; i < 3; i++) if (arg_int(env, argv[i], 0, 1e9, &t[i], "timeout (ms)")) return NULL;
  e->connect_timeout_ms = (uint64_t)t[0];
  __atomic_store_n(&e->idle_timeout_ms, (uint64_t)t[1], __ATOMIC_RELAXED);   /* workers read it */
  e->udp_idle_ms = (uint64_t)t[2];
  engine_arm_sweep(e);
  return NULL;
}

/* listen(kind: 'tcp'|'udp'|'unix', addressOrPath, port, backlog) -> { id, port } */
static napi_value m_listen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  struct engine *e = this_engine(env, info, &argc, argv);
  char kind[8], host[STR_MAX];
  double port = 0, backlog = 511;
  union sockaddr_any a;
  socklen_t len;
  if (!e) return NULL;
  if (argc < 4) { napi_throw_type_error(env, NULL, "listen(kind, addressOrPath, port, backlog)"); return NULL; }
  if (arg_str(env, argv[0], kind, sizeof kind, "kind") || arg_str(env, argv[1], host, sizeof host, "address")
      || arg_int(env, argv[2], 0, 65535, &port, "port") || arg_int(env, argv[3], 1, 65535, &backlog, "backlog")) return NULL;
  int unix_ = !strcmp(kind, "unix"), udp = !strcmp(kind, "udp");
  if (!unix_ && !udp && strcmp(kind, "tcp")) { napi_throw_type_error(env, NULL, "kind must be tcp, udp or unix"); return NULL; }
  if (unix_ ? addr_unix(host, &a, &len) : addr_parse(host, (int)port, &a, &len)) {
    napi_throw_type_error(env, NULL, unix_ ? "path too long for a Unix socket" : "address must be a numeric IPv4 or IPv6 address");
    return NULL;
  }
  int id = -1;
  int r = udp ? udp_buffers(e) : 0;
  if (r == 0) r = listener_open(e, &a, len, udp, (int)backlog, &id);
  if (r < 0) { throw_errno(env, "listen", -r); return NULL; }
  engine_update_ref(e);
  union sockaddr_any bound;
  socklen_t blen = sizeof bound;
  int bport = 0;
  char tmp[64];
  if (!unix_ && getsockname(e->listeners[id]->fd, &bound.sa, &blen) == 0) addr_format(&bound.sa, tmp, sizeof tmp, &bport);
  napi_create_object(env, &out);
  napi_value v;
  napi_create_int32(env, id, &v); napi_set_named_property(env, out, "id", v);
  napi_create_int32(env, bport, &v); napi_set_named_property(env, out, "port", v);
  return out;
}

static napi_value m_close_listener(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct engine *e = this_engine(env, info, &argc, argv);
  double id;
  if (!e || argc < 1 || arg_int(env, argv[0], 0, MAX_LISTENERS - 1, &id, "listener id")) return NULL;
  listener_close(e, (int)id);
  engine_update_ref(e);
  return NULL;
}

/* pauseListener(id, paused): a paused TCP listener accepts nothing; resuming re-arms it */
static napi_value m_pause_listener(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  struct engine *e = this_engine(env, info, &argc, argv);
  double id;
  bool paused = false;
  if (!e) return NULL;
  if (argc < 2) { throw_type(env, "pauseListener(id, paused)"); return NULL; }
  if (arg_int(env, argv[0], 0, MAX_LISTENERS - 1, &id, "listener id")) return NULL;
  if (napi_get_value_bool(env, argv[1], &paused) != napi_ok) { napi_throw_type_error(env, NULL, "paused must be a boolean"); return NULL; }
  int r = listener_pause(e, (int)id, paused);
  if (r == -ENOENT || r == -EINVAL) { napi_throw_range_error(env, NULL, r == -ENOENT ? "no such listener" : "only a TCP or Unix listener pauses"); return NULL; }
  if (r < 0) throw_errno(env, "pauseListener", -r);
  return NULL;
}

/* close(slot) -> true if a connection or session was closed (its record follows) */
static napi_value m_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  struct engine *e = this_engine(env, info, &argc, argv);
  uint32_t s;
  if (!e || argc < 1 || arg_slot(env, e, argv[0], &s)) return NULL;
  int kind = e->slot_kind[s];
  struct conn *c = kind == SLOT_TCP ? &e->conns[s] : NULL;
  if (c && conn_owned(e, c)) threads_request_close(e, c, WHY_CLOSED);   /* a worker's: it hands it back */
  else if (c) conn_close(e, c, WHY_CLOSED, 0);
  else if (kind == SLOT_UDP) session_close(e, e->slot_ptr[s], WHY_CLOSED, 0);
  engine_update_ref(e);
  napi_get_boolean(env, kind == SLOT_TCP || kind == SLOT_UDP, &out);
  return out;
}

/* recycle() -> the slot of the least recently active UDP session, closed without a record and free at once; -1 if none */
static napi_value m_recycle(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value out;
  struct engine *e = this_engine(env, info, &argc, NULL);
  if (!e) return NULL;
  int slot = udp_recycle(e);
  engine_update_ref(e);
  napi_create_int32(env, slot, &out);
  return out;
}

static napi_value m_destroy(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value self;
  struct box *b = NULL;
  napi_get_cb_info(env, info, &argc, NULL, &self, NULL);
  if (napi_unwrap(env, self, (void **)&b) != napi_ok || !b) { napi_throw_type_error(env, NULL, "not an engine"); return NULL; }
  if (b->e && b->e->in_batch) { napi_throw_error(env, "EBUSY", "destroy() inside an engine callback: defer it"); return NULL; }
  engine_end(b, 0);
  return NULL;
}

napi_value m_info(napi_env env, napi_callback_info info);
napi_value m_list(napi_env env, napi_callback_info info);
napi_value m_stats(napi_env env, napi_callback_info info);

void define_methods(napi_env env, napi_value obj) {
  napi_property_descriptor d[] = {
    { "setServers", NULL, m_set_servers, NULL, NULL, NULL, napi_default, NULL },
    { "setDown", NULL, m_set_down, NULL, NULL, NULL, napi_default, NULL },
    { "recycle", NULL, m_recycle, NULL, NULL, NULL, napi_default, NULL },
    { "setFastclose", NULL, m_set_fastclose, NULL, NULL, NULL, napi_default, NULL },
    { "setMultiAccept", NULL, m_set_multi_accept, NULL, NULL, NULL, napi_default, NULL },
    { "setTimeouts", NULL, m_set_timeouts, NULL, NULL, NULL, napi_default, NULL },
    { "listen", NULL, m_listen, NULL, NULL, NULL, napi_default, NULL },
    { "closeListener", NULL, m_close_listener, NULL, NULL, NULL, napi_default, NULL },
    { "pauseListener", NULL, m_pause_listener, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, m_close, NULL, NULL, NULL, napi_default, NULL },
    { "info", NULL, m_info, NULL, NULL, NULL, napi_default, NULL },
    { "list", NULL, m_list, NULL, NULL, NULL, napi_default, NULL },
    { "stats", NULL, m_stats, NULL, NULL, NULL, napi_default, NULL },
    { "destroy", NULL, m_destroy, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, obj, sizeof d / sizeof d[0], d);
}
