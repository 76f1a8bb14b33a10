#!/usr/bin/env bash
# POST /v1/records with about 1,000,000 persons stored (issue 4 target: one record matched and
# linked, p99 < 10 ms), against a release build on loopback. Also times the bulk import that
# fills the store (issue 4 target: 1M records through `rapport import` in < 3 min).
# Usage: bench/profiles_http_bench.sh [build-dir]   (default build-release; needs wrk)
#   RECORDS  records imported first (default 1,700,000: about 1.02M persons)
#   WORK     a directory to keep the database in; a second run reuses it and skips the import
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release}
bin=$(realpath "$build/rapport")
records=${RECORDS:-1700000}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
db=$work/persons.db
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; wait 2>/dev/null || true; [ -z "${WORK:-}" ] && rm -rf "$work"' EXIT

if [ ! -f "$db" ]; then
  "$bin" generate -n "$records" --seed 7 -o "$work/stored.csv"
  echo "== rapport import of $records generated records"
  /usr/bin/time -f "wall %e s, user %U s, peak RSS %M KB" "$bin" import "$work/stored.csv" \
    --source crm --db "$db" 2>&1 | grep -vE "importing|^$" | tail -4
fi
export TOKEN=$("$bin" token create --role admin --quiet --db "$db")

# New customers, one JSON object per line, as a shop would post them: a file per run, so that
# every request is a record not stored before.
bodies() {
  "$bin" generate -n 100000 --seed "$1" -o "$work/new-$1.csv"
  python3 bench/record_bodies.py "$work/new-$1.csv" "$work/bodies-$1.ndjson" "shop-$1"
}
seed=$(date +%s)
for run in 0 1 2; do bodies $((seed + run)); done

start=$(date +%s)
"$bin" serve --port 18081 --db "$db" > "$work/server.log" 2>&1 &
server=$!
until curl -sf http://127.0.0.1:18081/health >/dev/null; do
  kill -0 $server 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 1
done
echo "server ready after $(( $(date +%s) - start )) s (it loads every person before it listens)"
# A search answers: the persons are in memory.
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18081/v1/persons?q=Mueller" >/dev/null


run=$seed
for c in 1 4 16; do
  echo "== POST /v1/records, one new record per request, $c connection(s), 30 s"
  t=$(( c < 2 ? 1 : 2 ))
  THREADS=$t RECORD_BODIES=$work/bodies-$run.ndjson wrk -t$t -c$c -d30s --latency \
    -s bench/wrk/post_record.lua http://127.0.0.1:18081 | grep -E "p50|Non-2xx"
  run=$((run + 1))
done
