#!/usr/bin/env bash
# Set-up command 2: installs what is needed, builds everything with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test with ctest. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRAPPORT_SANITIZE=ON \
  -DRAPPORT_BUILD_BENCH=ON >/dev/null
cmake --build build-test -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-test
ctest -j"$(nproc)" --output-on-failure --timeout 600
