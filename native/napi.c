/*
 * Node-API glue: create() builds an engine and the JS object that drives it; the object's
 * methods are in methods.c. Shared memory (records, live counters, UDP packet counters) is one
 * block the addon allocates and shares with three external ArrayBuffers (shared_memory below).
 *
 * fd ownership: none here; destroy() (or the object's finalizer, if JS dropped it without
 * destroy) closes every fd of the engine through engine_destroy.
 */
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "glue.h"

#define MAX_SLOTS (1u << 22)

void throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value m, c, error;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_int32(env, err, &c);
  napi_create_error(env, NULL, m, &error);
  napi_set_named_property(env, error, "errno", c);
  napi_throw(env, error);
}

/* the engine behind `this`, or NULL with a pending exception */
struct engine *this_engine(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  struct box *b = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, (void **)&b) != napi_ok || !b) { napi_throw_type_error(env, NULL, "not an engine"); return NULL; }
  if (!b->e) { napi_throw_error(env, "EDESTROYED", "engine destroyed"); return NULL; }
  return b->e;
}

static void drop_refs(struct engine *e) {
  napi_ref *refs[] = { &e->select_ref, &e->failed_ref, &e->records_ref, &e->resource_ref };
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (*refs[i]) { napi_delete_reference(e->env, *refs[i]); *refs[i] = NULL; }
  if (e->actx) { napi_async_destroy(e->env, e->actx); e->actx = NULL; }
}

void engine_end(struct box *b, int from_finalizer) {
  struct engine *e = b->e;
  if (!e) return;
  b->e = NULL;
  if (!from_finalizer) drop_refs(e);
  engine_destroy(e);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  struct box *b = data;
  engine_end(b, 1);
  free(b);
}

static int get_fn(napi_env env, napi_value opts, const char *name, napi_ref *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, opts, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_function) {
    char msg[80];
    snprintf(msg, sizeof msg, "create: %s must be a function", name);
    napi_throw_type_error(env, NULL, msg);
    return -1;
  }
  return napi_create_reference(env, v, 1, out) == napi_ok ? 0 : -1;
}

/*
 * records, live and packets: one block shared by the engine and the ArrayBuffers JS sees, freed by
 * whichever lets go last. They are external buffers over memory the addon owns, because an
 * ArrayBuffer V8 allocates can be detached from JS (structuredClone with transfer) and its memory
 * freed by the GC while the engine still writes to it.
 */
struct shm { uint32_t refs; uint32_t pad; double data[]; };

void shm_release(void *p) {
  struct shm *m = p;
  if (m && --m->refs == 0) free(m);
}

static void shm_finalize(napi_env env, void *data, void *hint) { (void)env; (void)data; shm_release(hint); }

static int shared_array(napi_env env, napi_value obj, const char *name, struct shm *m, size_t off, size_t doubles, double **data) {
  napi_value buf, ab, ta;
  double *p = m->data + off;
  if (napi_create_external_buffer(env, doubles * sizeof(double), p, shm_finalize, m, &buf) != napi_ok) return -1;
  m->refs++;   /* from here the buffer's finalizer releases it */
  if (napi_get_typedarray_info(env, buf, NULL, NULL, NULL, &ab, NULL) != napi_ok
      || napi_create_typedarray(env, napi_float64_array, doubles, ab, 0, &ta) != napi_ok
      || napi_set_named_property(env, obj, name, ta) != napi_ok) return -1;
  *data = p;
  return 0;
}

static int shared_memory(napi_env env, napi_value obj, struct engine *e, size_t slots) {
  size_t rec = slots * REC_WORDS, live = slots * LIVE_WORDS, pkts = slots * PKT_WORDS;
  struct shm *m = calloc(1, sizeof *m + (rec + live + pkts) * sizeof(double));
  if (!m) return -1;
  m->refs = 1;   /* the engine's, released when its memory goes (engine.c on_handle_closed) */
  e->shm = m;
  return shared_array(env, obj, "records", m, 0, rec, &e->rec) || shared_array(env, obj, "live", m, rec, live, &e->live)
      || shared_array(env, obj, "packets", m, rec + live, pkts, &e->pkts);
}

/* create({ slots, select, failed, onRecords[, threads][, holdLoop] }) */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v, obj, name, resource;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_object) { napi_throw_type_error(env, NULL, "create: options object expected"); return NULL; }
  double slots = 0;
  if (napi_get_named_property(env, argv[0], "slots", &v) != napi_ok || napi_get_value_double(env, v, &slots) != napi_ok
      || !(slots >= 1) || slots > MAX_SLOTS || slots != (double)(uint32_t)slots) {
    napi_throw_range_error(env, NULL, "create: slots must be an integer in 1..4194304");
    return NULL;
  }
  /* threads (optional, default 1): forwarding threads in all, the JS thread's engine included */
  double threads = 1;
  bool has = false;
  napi_has_named_property(env, argv[0], "threads", &has);
  if (has && (napi_get_named_property(env, argv[0], "threads", &v) != napi_ok || napi_get_value_double(env, v, &threads) != napi_ok
      || !(threads >= 1) || threads > MAX_THREADS || threads != (double)(int)threads)) {
    napi_throw_range_error(env, NULL, "create: threads must be an integer in 1..64");
    return NULL;
  }
  /* holdLoop (optional, default true): hold Node's loop between batches that run no JS (hold.c) */
  bool hold = true;
  napi_has_named_property(env, argv[0], "holdLoop", &has);
  if (has && (napi_get_named_property(env, argv[0], "holdLoop", &v) != napi_ok || napi_get_value_bool(env, v, &hold) != napi_ok)) {
    napi_throw_type_error(env, NULL, "create: holdLoop must be a boolean");
    return NULL;
  }
  struct engine *e = calloc(1, sizeof *e);
  struct box *b = calloc(1, sizeof *b);
  if (!e || !b) { free(e); free(b); napi_throw_error(env, "ENOMEM", "create: out of memory"); return NULL; }
  e->env = env;
  napi_get_uv_event_loop(env, &e->loop);
  b->e = e;
  napi_create_object(env, &obj);
  int bad = get_fn(env, argv[0], "select", &e->select_ref) || get_fn(env, argv[0], "failed", &e->failed_ref)
         || get_fn(env, argv[0], "onRecords", &e->records_ref);
  if (!bad) {
    int r = engine_init(e, (uint32_t)slots);
    if (r < 0) { bad = 1; throw_errno(env, "create", -r); }
    e->hold = hold;
  }
  if (!bad && shared_memory(env, obj, e, (size_t)slots)) {
    bad = 1;
    napi_throw_error(env, "ENOMEM", "create: cannot allocate shared memory");
  }
  if (!bad && threads > 1) {
    int r = threads_start(e, (int)threads);
    if (r < 0) { bad = 1; throw_errno(env, "create: threads", -r); }
  }
  if (!bad) {
    napi_create_object(env, &resource);
    napi_create_reference(env, resource, 1, &e->resource_ref);
    napi_create_string_utf8(env, "pen-native", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, resource, name, &e->actx);
    define_methods(env, obj);
    if (napi_wrap(env, obj, b, finalize, NULL, NULL) != napi_ok) { bad = 1; napi_throw_error(env, NULL, "create: wrap failed"); }
  }
  if (bad) {
    if (e->handles_open) engine_end(b, 0);
    else { drop_refs(e); shm_release(e->shm); free(e); }
    free(b);
    return NULL;
  }
  return obj;
}

/* the shared-memory layout, so the TS loader can check it against its own constants */
static napi_value layout(napi_env env) {
  napi_value o;
  napi_create_object(env, &o);
  out_num(env, o, "version", 2);
  out_num(env, o, "recWords", REC_WORDS);
  out_num(env, o, "liveWords", LIVE_WORDS);
  out_num(env, o, "packetWords", PKT_WORDS);
  /* what a held TCP connection touches in the per-slot tables: its conn, live words, slot_kind */
  out_num(env, o, "tcpSlotBytes", sizeof(struct conn) + LIVE_WORDS * sizeof(double) + 1);
  out_num(env, o, "pickSlotMul", PICK_SLOT_MUL);
  out_num(env, o, "maxServers", MAX_SERVERS);
  out_num(env, o, "maxListeners", MAX_LISTENERS);
  out_num(env, o, "maxSlots", MAX_SLOTS);
  out_num(env, o, "maxThreads", MAX_THREADS);
  return o;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  napi_create_function(env, "create", NAPI_AUTO_LENGTH, create, NULL, &fn);
  napi_set_named_property(env, exports, "create", fn);
  napi_set_named_property(env, exports, "layout", layout(env));
  return exports;
}
