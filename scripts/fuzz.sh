#!/usr/bin/env bash
# Builds the libFuzzer targets (clang; every library instrumented, see fuzz/CMakeLists.txt)
# and runs each for a bounded time, starting from its corpus in fuzz/corpus/. Exit 1 on a
# crash, a leak or a hang, naming the target; the input that did it is kept as
# fuzz-crash-<target>-*, ready to be added to the corpus once fixed. Idempotent.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
# Every target fuzz/CMakeLists.txt declares (RAPPORT_FUZZERS), without its "_fuzzer".
mapfile -t targets < <(sed -n '/set(RAPPORT_FUZZERS/,/)/p' fuzz/CMakeLists.txt |
  grep -o '[a-z_]*_fuzzer' | sed 's/_fuzzer$//')
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DRAPPORT_FUZZ=ON -DRAPPORT_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/%/_fuzzer}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One target: its result line, or its log's tail and a failure in $work/$t.failed.
fuzz_one() {
  local t=$1
  local seeds=("fuzz/corpus/$t")
  [ "$t" = journey ] && seeds+=(examples/journeys)
  mkdir -p "$work/$t"
  if ! "build-fuzz/fuzz/${t}_fuzzer" "$work/$t" "${seeds[@]}" -max_total_time="$seconds" \
    -timeout=20 -rss_limit_mb=4096 -artifact_prefix="fuzz-crash-$t-" -print_final_stats=1 \
    2>"$work/$t.log"; then
    tail -n 60 "$work/$t.log"
    echo "fuzz: ${t}_fuzzer failed; its input is in fuzz-crash-$t-*" >&2
    touch "$work/$t.failed"
    return
  fi
  local runs cov
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$work/$t.log")
  cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1)
  echo "fuzz: ${t}_fuzzer ${seconds} s, ${runs} executions, ${cov}, no crash"
}

# A fuzzer uses one core: as many run at once as there are cores.
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
if compgen -G "$work/*.failed" >/dev/null; then exit 1; fi
