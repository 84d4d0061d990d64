/*
 * Read-only methods: info(slot), list(), stats(). They copy state out and change nothing.
 *
 * fd ownership: none (fd numbers are reported, and info() asks getpeername of a conn's client
 * fd, which only reads it; the JS thread is the only one that closes fds, so it is still open).
 */
#include <string.h>
#include "glue.h"

/* info(slot) -> { kind, state, server, listener, address, port, bytesUp, bytesDown, pendingUp, pendingDown, idleMs } | null */
napi_value m_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  struct engine *e = this_engine(env, info, &argc, argv);
  uint32_t s;
  if (!e) return NULL;
  if (argc < 1) { napi_throw_range_error(env, NULL, "info(slot)"); return NULL; }
  if (arg_slot(env, e, argv[0], &s)) return NULL;
  int kind = e->slot_kind[s];
  if (kind != SLOT_TCP && kind != SLOT_UDP) { napi_get_null(env, &out); return out; }
  const double *l = e->live + (size_t)s * LIVE_WORDS;
  char host[INET6_ADDRSTRLEN + 1] = "";
  int port = 0;
  uint64_t now = engine_now(e), active;
  napi_create_object(env, &out);
  if (kind == SLOT_TCP) {
    struct conn *c = &e->conns[s];
    /* asked of the socket rather than kept per conn; "" once the client has reset it (or for Unix) */
    union sockaddr_any peer;
    socklen_t plen = sizeof peer;
    if (c->cfd >= 0 && getpeername(c->cfd, &peer.sa, &plen) == 0 && (peer.sa.sa_family == AF_INET || peer.sa.sa_family == AF_INET6))
      addr_format(&peer.sa, host, sizeof host, &port);
    out_str(env, out, "kind", "tcp");
    out_num(env, out, "listener", c->listener);
    /* atomics: a worker may own c (--threads); the rest of what is read here is fixed by then */
    out_num(env, out, "pendingUp", __atomic_load_n(&c->to_server.shown, __ATOMIC_RELAXED));
    out_num(env, out, "pendingDown", __atomic_load_n(&c->to_client.shown, __ATOMIC_RELAXED));
    out_num(env, out, "attempts", c->attempts);
    active = __atomic_load_n(&c->active_ms, __ATOMIC_RELAXED);
  } else {
    struct session *u = e->slot_ptr[s];
    addr_format(&u->client.sa, host, sizeof host, &port);
    out_str(env, out, "kind", "udp");
    out_num(env, out, "listener", u->listener);
    out_num(env, out, "pendingUp", 0);
    out_num(env, out, "pendingDown", 0);
    active = u->active_ms;
  }
  out_str(env, out, "address", host);
  out_num(env, out, "port", port);
  out_num(env, out, "state", l[L_STATE]);
  out_num(env, out, "server", l[L_SERVER]);
  out_num(env, out, "bytesUp", l[L_BYTES_UP]);
  out_num(env, out, "bytesDown", l[L_BYTES_DOWN]);
  out_num(env, out, "idleMs", now > active ? (double)(now - active) : 0);   /* a worker's clock may be ahead */
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
  struct engine_stats sum;
  threads_stats(e, &sum);
  const struct engine_stats *st = &sum;
  double taken = 0;
  for (uint32_t i = 0; i < e->nslots; i++) taken += e->slot_kind[i] != SLOT_FREE;
  napi_create_object(env, &out);
  out_num(env, out, "allocs", st->allocs);
  out_num(env, out, "allocBytes", st->alloc_bytes);
  out_num(env, out, "fds", st->fds);
  out_num(env, out, "conns", st->conns);
  out_num(env, out, "sessions", st->sessions);
  out_num(env, out, "listeners", st->listeners);
  out_num(env, out, "pendingBufs", st->pending_bufs);
  out_num(env, out, "slotsTaken", taken);
  out_num(env, out, "recordsPending", e->rec_count);
  out_num(env, out, "accepted", st->accepted);
  out_num(env, out, "acceptErrors", st->accept_errors);
  out_num(env, out, "closed", st->closed);
  out_num(env, out, "connectFailed", st->connect_failed);
  out_num(env, out, "refused", st->refused);
  out_num(env, out, "slotBusy", st->slot_busy);
  out_num(env, out, "udpIn", st->udp_in);
  out_num(env, out, "udpOut", st->udp_out);
  out_num(env, out, "udpDropped", st->udp_dropped);
  out_num(env, out, "sessionsCreated", st->sessions_created);
  out_num(env, out, "sessionsClosed", st->sessions_closed);
  out_num(env, out, "jsCalls", st->js_calls);
  out_num(env, out, "batches", st->batches);
  out_num(env, out, "staleEvents", st->stale_events);
  out_num(env, out, "holds", st->holds);
  out_num(env, out, "heldBatches", st->held_batches);
  out_num(env, out, "holdsSkipped", st->holds_skipped);
  out_num(env, out, "heldJs", st->held_js);
  return out;
}
