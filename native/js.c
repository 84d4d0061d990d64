/*
 * Calls from the engine into JS: select (a new connection or UDP client), failed (a connect
 * failed: next server?) and onRecords (closes of this loop turn). Only on the JS thread, from a
 * native callback of Node's loop (poll, timer, idle). One handle scope and one callback scope are
 * opened lazily per batch and closed at its end, so nextTicks and microtasks run then (pitfall 8).
 * The first CALLS_UNSCOPED calls of a batch open no handle scope of their own (a pair costs ~250
 * instructions): their few handles live to the batch's end. Past that (a sweep failing many
 * connects at once) each call has its own, so a batch's handles stay bounded.
 * An exception thrown by a callback goes to process 'uncaughtException' and counts as -1.
 *
 * fd ownership: none.
 */
#include <string.h>
#include "engine.h"

#define CALLS_UNSCOPED 64
/* calls since a batch scope opened (only the JS thread calls into JS; one engine opening its batch
 * inside another's resets it, which only delays the bound) */
static unsigned batch_calls;

void js_scope_open(struct engine *e) {
  if (e->scoped) return;
  napi_value resource;
  napi_open_handle_scope(e->env, &e->hscope);
  napi_get_reference_value(e->env, e->resource_ref, &resource);
  napi_open_callback_scope(e->env, resource, e->actx, &e->cscope);
  e->scoped = 1;
  e->st.js_scopes++;
  batch_calls = 0;
}

void js_scope_close(struct engine *e) {
  if (!e->scoped) return;
  e->scoped = 0;
  napi_close_callback_scope(e->env, e->cscope);
  napi_close_handle_scope(e->env, e->hscope);
}

/* Call fn(args) and return its result as a number; -1 when it threw or did not return one. */
static double call_in(struct engine *e, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_value fn, global, result;
  double out = -1;
  napi_get_reference_value(e->env, fn_ref, &fn);
  napi_get_global(e->env, &global);
  e->st.js_calls++;
  napi_status s = napi_call_function(e->env, global, fn, argc, argv, &result);
  if (s == napi_ok) {
    if (napi_get_value_double(e->env, result, &out) != napi_ok) out = -1;
  } else {
    bool pending = false;
    napi_is_exception_pending(e->env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(e->env, &err);
      napi_fatal_exception(e->env, err);
    }
  }
  return out;
}

/* The arguments are made by the caller: a handle scope of its own, if any, is open around both. */
static napi_handle_scope call_scope(struct engine *e) {
  napi_handle_scope hs = NULL;
  if (++batch_calls > CALLS_UNSCOPED) napi_open_handle_scope(e->env, &hs);
  return hs;
}

static double call(struct engine *e, napi_handle_scope hs, napi_ref fn_ref, size_t argc, napi_value *argv) {
  double r = call_in(e, fn_ref, argc, argv);
  if (hs) napi_close_handle_scope(e->env, hs);
  return r;
}

/* fn(a, b, c[, d]), b a string when str is given: the shape of both select and failed; d only when >= 0. */
static double call4(struct engine *e, napi_ref fn, int32_t a, const char *str, int32_t b, int32_t c, int32_t d) {
  if (e->destroyed) return -1;
  js_scope_open(e);
  napi_handle_scope hs = call_scope(e);
  napi_value argv[4];
  napi_create_int32(e->env, a, &argv[0]);
  if (str) napi_create_string_latin1(e->env, str, NAPI_AUTO_LENGTH, &argv[1]);   /* an address: ASCII */
  else napi_create_int32(e->env, b, &argv[1]);
  napi_create_int32(e->env, c, &argv[2]);
  if (d >= 0) napi_create_int32(e->env, d, &argv[3]);
  return call(e, hs, fn, d >= 0 ? 4 : 3, argv);
}

/* len: the first datagram's length for a new UDP client (JS's counters leave it out), -1 for TCP */
double js_select(struct engine *e, int listener, const union sockaddr_any *from, int len) {
  char host[INET6_ADDRSTRLEN + 1];
  int port = 0;
  addr_format(&from->sa, host, sizeof host, &port);
  return call4(e, e->select_ref, listener, host, 0, port, len);
}

double js_failed(struct engine *e, int32_t slot, int32_t server, int err) {
  return call4(e, e->failed_ref, slot, NULL, server, err, -1);
}

/* Hand the pending records to onRecords(n); their slots are free once it returns. Records that
 * JS causes meanwhile (close() from the callback) are moved to the front and handed over next. */
void js_flush_records(struct engine *e) {
  js_scope_open(e);
  for (int round = 0; round < 8 && e->rec_count && !e->destroyed; round++) {
    uint32_t n = e->rec_count;
    napi_handle_scope hs = call_scope(e);
    napi_value argv[1];
    napi_create_uint32(e->env, n, &argv[0]);
    e->flushing = 1;
    call(e, hs, e->records_ref, 1, argv);
    e->flushing = 0;
    if (e->destroyed) return;
    for (uint32_t i = 0; i < n; i++) {
      double sv = e->rec[(size_t)i * REC_WORDS + R_SLOT];
      if (!(sv >= 0) || sv >= e->nslots) continue;
      uint32_t slot = (uint32_t)sv;
      if (e->slot_kind[slot] == SLOT_CLOSED) slot_free(e, slot);
    }
    uint32_t rest = e->rec_count - n;
    if (rest) memmove(e->rec, e->rec + (size_t)n * REC_WORDS, (size_t)rest * REC_WORDS * sizeof(double));
    e->rec_count = rest;
  }
  if (e->rec_count) engine_kick(e);
}
