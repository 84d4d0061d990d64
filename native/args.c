/*
 * Arguments in, results out, for the engine object's methods: every value from JS is checked
 * here (type, range, length, embedded NUL) before a method uses it, and a bad one throws.
 *
 * fd ownership: none.
 */
#include <string.h>
#include "glue.h"

/* A string argument into buf (NUL-terminated). -1 with a TypeError when v is not a string, is
 * longer than size - 1 bytes of UTF-8, or holds a NUL (C would silently cut it there). */
int arg_str(napi_env env, napi_value v, char *buf, size_t size, const char *what) {
  size_t len = 0, got = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len + 1 > size
      || napi_get_value_string_utf8(env, v, buf, size, &got) != napi_ok || got != len || strlen(buf) != len) {
    char msg[112];
    snprintf(msg, sizeof msg, "%s must be a string of at most %zu bytes, without NUL", what, size - 1);
    napi_throw_type_error(env, NULL, msg);
    return -1;
  }
  return 0;
}

/* An integer argument in [lo, hi]. -1 with a RangeError otherwise (NaN, fractions, non-numbers). */
int arg_int(napi_env env, napi_value v, double lo, double hi, double *out, const char *what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= lo && d <= hi) || d != (double)(int64_t)d) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an integer in %.0f..%.0f", what, lo, hi);
    napi_throw_range_error(env, NULL, msg);
    return -1;
  }
  *out = d;
  return 0;
}

/* A slot number: 0 .. slots - 1. */
int arg_slot(napi_env env, struct engine *e, napi_value v, uint32_t *slot) {
  double d;
  if (arg_int(env, v, 0, (double)e->nslots - 1, &d, "slot")) return -1;
  *slot = (uint32_t)d;
  return 0;
}

/* obj[name]: 1 when set (not undefined/null), 0 when not, -1 when reading it threw (a getter, a
 * Proxy trap; the exception stays pending). *out is written only when 1 is returned. */
int arg_prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  napi_value v;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok) return -1;
  if (!has) return 0;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  *out = v;
  return 1;
}

/* throw a TypeError unless something already threw */
void throw_type(napi_env env, const char *msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, NULL, msg);
}

void out_num(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

void out_str(napi_env env, napi_value obj, const char *name, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, name, v);
}
