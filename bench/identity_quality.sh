#!/usr/bin/env bash
# Quality and speed of `rapport dedupe` with the default configuration, always together: every
# timing is printed with the precision, recall and F1 of the same run (pairwise, from the
# persons' clusters against the truth column).
#
#   bash bench/identity_quality.sh [SIZES...]      default sizes: 10000 100000 1000000
#
# Data: `rapport generate` (realistic profile, seeds 7 and 11) at each size; the classic
# generator at 200,000 records with seed 11 (the file of November's figures); FEBRL3 (dedupe)
# and FEBRL4 (linkage) and Splink's fake_1000 from ../shared/data. Needs a Release build in
# build-rel (cmake -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel).
# Peak memory is /usr/bin/time's maximum resident set size.
set -euo pipefail
cd "$(dirname "$0")/.."
RAPPORT=${RAPPORT:-build-rel/rapport}
DATA=${DATA:-../shared/data}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(10000 100000 1000000)

printf '%-34s %9s %8s %8s %7s %7s %7s\n' data records wall_s peak_MB P R F1

# Runs dedupe on $2 (truth column $3) and prints one line labelled $1.
measure() {
  local label=$1 file=$2 truth=$3
  shift 3
  /usr/bin/time -f '%e %M' -o "$WORK/time" \
    "$RAPPORT" dedupe "$file" -o "$WORK/clusters.csv" "$@" 2>"$WORK/dedupe.log" >/dev/null || {
    cat "$WORK/dedupe.log" >&2
    return 1
  }
  read -r wall kb <"$WORK/time"
  local metrics
  metrics=$("$RAPPORT" evaluate "$file" --truth "$truth" --clusters "$WORK/clusters.csv" "$@" \
    2>/dev/null | grep '^pairs (clusters)')
  local p r f
  p=$(awk '{print $4}' <<<"$metrics")
  r=$(awk '{print $6}' <<<"$metrics")
  f=$(awk '{print $8}' <<<"$metrics")
  local records
  records=$(($(wc -l <"$file") - 1))
  printf '%-34s %9d %8.1f %8d %7s %7s %7s\n' "$label" "$records" "$wall" $((kb / 1024)) "$p" "$r" "$f"
}

for n in "${SIZES[@]}"; do
  for seed in 7 11; do
    "$RAPPORT" generate -n "$n" --seed "$seed" -o "$WORK/gen.csv"
    measure "generate -n $n --seed $seed" "$WORK/gen.csv" person_id
  done
done

# Live = batch: the same file imported record by record into a store (the incremental path
# of `rapport import` and POST /v1/records), its persons exported and evaluated alike.
live_n=${SIZES[0]}
"$RAPPORT" generate -n "$live_n" --seed 7 -o "$WORK/live.csv"
/usr/bin/time -f '%e %M' -o "$WORK/time" \
  "$RAPPORT" import "$WORK/live.csv" --key id --db "$WORK/live.db" >/dev/null 2>&1
read -r wall kb <"$WORK/time"
"$RAPPORT" persons export --db "$WORK/live.db" -o "$WORK/persons.csv" 2>/dev/null
metrics=$("$RAPPORT" evaluate "$WORK/live.csv" --truth person_id --clusters "$WORK/persons.csv" \
  2>/dev/null | grep '^pairs (clusters)')
printf '%-34s %9d %8.1f %8d %7s %7s %7s\n' "import (live) -n $live_n --seed 7" "$live_n" "$wall" \
  $((kb / 1024)) "$(awk '{print $4}' <<<"$metrics")" "$(awk '{print $6}' <<<"$metrics")" \
  "$(awk '{print $8}' <<<"$metrics")"

"$RAPPORT" generate -n 200000 --seed 11 --profile classic -o "$WORK/classic.csv"
measure "generate --profile classic -n 200000 s11" "$WORK/classic.csv" person_id
measure "febrl dataset3 (dedupe)" "$DATA/febrl/dataset3.csv" febrl
measure "splink fake_1000" "$DATA/splink/fake_1000.csv" cluster

# FEBRL4 is a linkage task: pairs against the rec-N truth.
/usr/bin/time -f '%e %M' -o "$WORK/time" "$RAPPORT" link "$DATA/febrl/dataset4a.csv" \
  "$DATA/febrl/dataset4b.csv" -o "$WORK/pairs.csv" 2>/dev/null
read -r wall kb <"$WORK/time"
awk -F, 'NR > 1 {
  split($1, a, "-"); split($2, b, "-");
  if (a[2] == b[2]) tp++; else fp++
} END {
  fn = 5000 - tp; p = tp / (tp + fp); r = tp / (tp + fn);
  printf "%-34s %9d %8.1f %8d %7.4f %7.4f %7.4f\n", "febrl dataset4a+b (link)", 10000, '"$wall"', '"$((kb / 1024))"', p, r, 2 * p * r / (p + r)
}' "$WORK/pairs.csv"
