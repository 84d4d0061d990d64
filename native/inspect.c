/*
 * Read-only methods: info(slot), list(), stats(). They copy state out and change nothing.
 *
 * fd ownership: none (fd numbers are reported, never touched).
 */
#include <string.h>
#include "glue.h"

static void num(napi_env env, napi_value o, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, o, name, n);
}

static void str(napi_env env, napi_value o, const char *name, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, name, v);
}

/* info(slot) -> { kind, state, server, listener, address, port, bytesUp, bytesDown, pendingUp, pendingDown, idleMs } | null */
napi_value m_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  struct engine *e = this_engine(env, info, &argc, argv);
  double slot;
  if (!e) return NULL;
  if (argc < 1 || napi_get_value_double(env, argv[0], &slot) != napi_ok || !(slot >= 0) || slot >= e->nslots || slot != (double)(uint32_t)slot) {
    napi_throw_range_error(env, NULL, "info: slot out of range");
    return NULL;
  }
  uint32_t s = (uint32_t)slot;
  int kind = e->slot_kind[s];
  if (kind != SLOT_TCP && kind != SLOT_UDP) { napi_get_null(env, &out); return out; }
  const double *l = e->live + (size_t)s * LIVE_WORDS;
  char host[INET6_ADDRSTRLEN + 1] = "";
  int port = 0;
  uint64_t now = engine_now(e), active;
  napi_create_object(env, &out);
  if (kind == SLOT_TCP) {
    struct conn *c = e->slot_ptr[s];
    if (c->peer.family == AF_INET || c->peer.family == AF_INET6) addr_format((const struct sockaddr *)&c->peer, host, sizeof host, &port);
    str(env, out, "kind", "tcp");
    num(env, out, "listener", c->listener);
    num(env, out, "pendingUp", c->to_server.data ? c->to_server.len - c->to_server.off : 0);
    num(env, out, "pendingDown", c->to_client.data ? c->to_client.len - c->to_client.off : 0);
    num(env, out, "attempts", c->attempts);
    active = c->active_ms;
  } else {
    struct session *u = e->slot_ptr[s];
    addr_format(&u->client.sa, host, sizeof host, &port);
    str(env, out, "kind", "udp");
    num(env, out, "listener", u->listener);
    num(env, out, "pendingUp", 0);
    num(env, out, "pendingDown", 0);
    active = u->active_ms;
  }
  str(env, out, "address", host);
  num(env, out, "port", port);
  num(env, out, "state", l[L_STATE]);
  num(env, out, "server", l[L_SERVER]);
  num(env, out, "bytesUp", l[L_BYTES_UP]);
  num(env, out, "bytesDown", l[L_BYTES_DOWN]);
  num(env, out, "idleMs", (double)(now - active));
  return out;
}

/* list() -> slots of the open connections and sessions, ascending */
napi_value m_list(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value out;
  struct engine *e = this_engine(env, info, &argc, NULL);
  if (!e) return NULL;
  napi_create_array(env, &out);
  uint32_t k = 0;
  for (uint32_t i = 0; i < e->nslots; i++) {
    if (e->slot_kind[i] != SLOT_TCP && e->slot_kind[i] != SLOT_UDP) continue;
    napi_value v;
    napi_create_uint32(env, i, &v);
    napi_set_element(env, out, k++, v);
  }
  return out;
}

napi_value m_stats(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value out;
  struct engine *e = this_engine(env, info, &argc, NULL);
  if (!e) return NULL;
  const struct engine_stats *st = &e->st;
  double taken = 0;
  for (uint32_t i = 0; i < e->nslots; i++) taken += e->slot_kind[i] != SLOT_FREE;
  napi_create_object(env, &out);
  num(env, out, "allocs", st->allocs);
  num(env, out, "allocBytes", st->alloc_bytes);
  num(env, out, "fds", st->fds);
  num(env, out, "conns", st->conns);
  num(env, out, "sessions", st->sessions);
  num(env, out, "listeners", st->listeners);
  num(env, out, "pendingBufs", st->pending_bufs);
  num(env, out, "slotsTaken", taken);
  num(env, out, "recordsPending", e->rec_count);
  num(env, out, "accepted", st->accepted);
  num(env, out, "acceptErrors", st->accept_errors);
  num(env, out, "closed", st->closed);
  num(env, out, "connectFailed", st->connect_failed);
  num(env, out, "refused", st->refused);
  num(env, out, "slotBusy", st->slot_busy);
  num(env, out, "udpIn", st->udp_in);
  num(env, out, "udpOut", st->udp_out);
  num(env, out, "udpDropped", st->udp_dropped);
  num(env, out, "sessionsCreated", st->sessions_created);
  num(env, out, "sessionsClosed", st->sessions_closed);
  num(env, out, "jsCalls", st->js_calls);
  num(env, out, "batches", st->batches);
  return out;
}
