#!/usr/bin/env bash
# The live path under load, with its quality: a generated file (truth column person_id) posted
# to `rapport serve` one record per request from 16 connections, then the persons exported and
# evaluated against the truth; beside it the same file through `rapport import` (one process,
# batches of 1,000) and `rapport dedupe` (batch). Requests that arrive together are resolved
# together (group commit), as if one after another: the F1 must not move.
#
#   bash bench/profiles_http_quality.sh [RECORDS]     (default 100000; needs wrk, build-rel)
set -euo pipefail
cd "$(dirname "$0")/.."
RAPPORT=$(realpath "${RAPPORT:-build-rel/rapport}")
n=${1:-100000}
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$RAPPORT" generate -n "$n" --seed 7 -o "$work/gen.csv"
python3 bench/record_bodies.py "$work/gen.csv" "$work/bodies.ndjson" shop

printf '%-40s %8s %8s %9s %7s %7s %7s\n' path records wall_s records/s P R F1
# Prints one line: label, wall seconds, and the quality of the persons in database $3.
report() {
  local label=$1 wall=$2 db=$3
  "$RAPPORT" persons export --db "$db" -o "$work/persons.csv" 2>/dev/null
  local m
  m=$("$RAPPORT" evaluate "$work/gen.csv" --truth person_id --clusters "$work/persons.csv" \
    2>/dev/null | grep '^pairs (clusters)')
  printf '%-40s %8d %8.1f %9.0f %7s %7s %7s\n' "$label" "$n" "$wall" "$(echo "$n / $wall" | bc -l)" \
    "$(awk '{print $4}' <<<"$m")" "$(awk '{print $6}' <<<"$m")" "$(awk '{print $8}' <<<"$m")"
}

TOKEN=$("$RAPPORT" token create --role admin --quiet --db "$work/http.db")
export TOKEN
"$RAPPORT" serve --port 18082 --db "$work/http.db" >"$work/server.log" 2>&1 &
server=$!
until curl -sf http://127.0.0.1:18082/health >/dev/null; do
  kill -0 $server 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.5
done
stored() {
  curl -sf -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18082/metrics |
    awk '/^rapport_records_ingested_total/ {s += $2} END {print s + 0}'
}
start=$(date +%s.%N)
ONCE=1 THREADS=2 RECORD_BODIES=$work/bodies.ndjson wrk -t2 -c16 -d3600s \
  -s bench/wrk/post_record.lua http://127.0.0.1:18082 >/dev/null &
load=$!
last=0 still=0
until [ "$(stored)" -ge "$n" ]; do
  now=$(stored)
  if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0 last=$now; fi
  [ $still -lt 150 ] || { echo "stuck at $now of $n records stored" >&2; exit 1; }
  sleep 0.2
done
wall=$(echo "$(date +%s.%N) - $start" | bc -l)
kill $load 2>/dev/null || true
kill $server
wait $server 2>/dev/null || true
server=
report "POST /v1/records, 16 connections" "$wall" "$work/http.db"

start=$(date +%s.%N)
"$RAPPORT" import "$work/gen.csv" --key id --source shop --db "$work/import.db" >/dev/null 2>&1
report "rapport import (batches of 1,000)" "$(echo "$(date +%s.%N) - $start" | bc -l)" \
  "$work/import.db"

start=$(date +%s.%N)
"$RAPPORT" dedupe "$work/gen.csv" -o "$work/clusters.csv" >/dev/null 2>&1
wall=$(echo "$(date +%s.%N) - $start" | bc -l)
m=$("$RAPPORT" evaluate "$work/gen.csv" --truth person_id --clusters "$work/clusters.csv" \
  2>/dev/null | grep '^pairs (clusters)')
printf '%-40s %8d %8.1f %9.0f %7s %7s %7s\n' "rapport dedupe (batch)" "$n" "$wall" \
  "$(echo "$n / $wall" | bc -l)" "$(awk '{print $4}' <<<"$m")" "$(awk '{print $6}' <<<"$m")" \
  "$(awk '{print $8}' <<<"$m")"
