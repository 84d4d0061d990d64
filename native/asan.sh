#!/bin/sh
# npm run test:asan: build the addon with AddressSanitizer into build-asan/ (build/ is left
# alone) and run test/native under it. Node itself is not instrumented, so libasan is preloaded.
#
# It fails (non-zero exit, so .ci/run fails) when a test fails, when ASan reports a memory error
# (halt_on_error: the test file's process aborts and its test fails), or when LeakSanitizer finds
# a leak at a test process's exit (exit code 1: the file fails).
#
# Leak detection stays on for the addon: allocation stacks are cut to two frames (malloc and its
# caller, malloc_context_size=2), so the one module named in a leak is whoever called malloc: the
# addon for its own allocations (xmalloc, create), which are reported; Node, V8, libstdc++ or libc
# for theirs, which are suppressed by module in native/lsan.supp (Node does not free everything
# at exit). A longer stack would let a Node frame further up suppress the addon's leaks too. To
# see more frames of a reported leak, rerun with ASAN_CONTEXT=30 (suppressions then hide more).
set -e
cd "$(dirname "$0")/.."
inc="${npm_config_nodedir:-/usr}/include/node"
libasan="$(gcc -print-file-name=libasan.so)"
[ -e "$libasan" ] || { echo "test:asan: libasan.so not found (gcc -print-file-name gave '$libasan')" >&2; exit 1; }
mkdir -p build-asan
gcc -std=gnu11 -O1 -g -fsanitize=address -fno-omit-frame-pointer -fPIC -shared -DNAPI_VERSION=8 \
  -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration -pthread -I"$inc" native/*.c -o build-asan/pen_native.node
export PEN_NATIVE_ADDON="$PWD/build-asan/pen_native.node"
export LD_PRELOAD="$libasan"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:malloc_context_size=${ASAN_CONTEXT:-2}:fast_unwind_on_malloc=1:detect_odr_violation=0"
export LSAN_OPTIONS="suppressions=$PWD/native/lsan.supp:print_suppressions=0"
# LEAK_CONNS: test/native/leak.test.ts's connection count (see there for the ASan figure)
export LEAK_CONNS="${LEAK_CONNS:-100000}"
exec node --expose-gc --import tsx --test --test-concurrency=1 --test-timeout=120000 ${ASAN_TESTS:-test/native/*.test.ts}
