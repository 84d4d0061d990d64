/* Node-API glue shared by napi.c, methods.c, inspect.c and args.c. fd ownership: none. */
#ifndef PEN_GLUE_H
#define PEN_GLUE_H
#include <stdio.h>
#include "engine.h"

/* what the JS object wraps; e is NULL once destroy() has run */
struct box { struct engine *e; };

void throw_errno(napi_env env, const char *what, int err);
struct engine *this_engine(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv);
void engine_end(struct box *b, int from_finalizer);
void define_methods(napi_env env, napi_value obj);

/* args.c: checked arguments in, plain results out */
int arg_str(napi_env env, napi_value v, char *buf, size_t size, const char *what);
int arg_int(napi_env env, napi_value v, double lo, double hi, double *out, const char *what);
int arg_slot(napi_env env, struct engine *e, napi_value v, uint32_t *slot);
int arg_prop(napi_env env, napi_value obj, const char *name, napi_value *out);
void throw_type(napi_env env, const char *msg);
void out_num(napi_env env, napi_value obj, const char *name, double v);
void out_str(napi_env env, napi_value obj, const char *name, const char *s);
#endif
