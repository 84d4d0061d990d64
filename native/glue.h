/* Node-API glue shared by napi.c and methods.c. fd ownership: none. */
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
#endif
