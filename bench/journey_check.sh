#!/usr/bin/env bash
# `rapport journey check` with its default (pessimistic) model on every shipped journey: the
# verdict, the explored states and the wall time of each, as issue 21 asks to show them.
#
#   bash bench/journey_check.sh
#
# Needs a Release build in build-rel. Expected: trade-in and invoice pass; each journey of
# examples/journeys/broken/ is rejected, each for its own mistake.
set -euo pipefail
cd "$(dirname "$0")/.."
RAPPORT=${RAPPORT:-build-rel/rapport}
printf '%-52s %-6s %12s %8s\n' journey verdict states wall_s
for f in examples/journeys/*.yaml examples/journeys/broken/*.yaml; do
  case $f in *.deviations.yaml) continue ;; esac
  start=$(date +%s.%N)
  set +e
  out=$("$RAPPORT" journey check "$f" 2>&1)
  rc=$?
  set -e
  end=$(date +%s.%N)
  verdict=$(case $rc in 0) echo pass ;; 1) echo FAIL ;; 2) echo bad ;; *) echo undecided ;; esac)
  states=$(grep -oE '\(([0-9]+) states' <<<"$out" | grep -oE '[0-9]+' | head -1)
  printf '%-52s %-6s %12s %8.1f\n' "$f" "$verdict" "${states:-?}" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
done
