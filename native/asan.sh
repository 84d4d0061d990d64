#!/bin/sh
# npm run test:asan: build the addon with AddressSanitizer into build-asan/ (build/ is left
# alone) and run test/native under it. Node itself is not instrumented, so libasan is preloaded.
# Leak detection stays on for the addon: allocation stacks are cut short
# (malloc_context_size=4), so a leak is reported where the addon allocated it, and leaks whose
# few frames are all Node, V8, libstdc++ or libc (Node does not free everything at exit) are
# suppressed by module in native/lsan.supp.
set -e
inc="${npm_config_nodedir:-/usr}/include/node"
mkdir -p build-asan
gcc -std=gnu11 -O1 -g -fsanitize=address -fno-omit-frame-pointer -fPIC -shared -DNAPI_VERSION=8 \
  -Wall -Wextra -Wno-unused-parameter -I"$inc" native/*.c -o build-asan/pen_native.node
export PEN_NATIVE_ADDON="$PWD/build-asan/pen_native.node"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:malloc_context_size=4:fast_unwind_on_malloc=1:detect_odr_violation=0"
export LSAN_OPTIONS="suppressions=$PWD/native/lsan.supp:print_suppressions=0"
exec node --import tsx --test --test-concurrency=1 --test-timeout=120000 ${ASAN_TESTS:-test/native/*.test.ts}
