#!/usr/bin/env bash
# HTTP benchmarks against a release build on loopback (issue 2 targets: NDJSON ingest
# >= 50,000 events/s; GET /v1/records/{id} >= 20,000 req/s with p99 < 10 ms at 64 connections).
# Usage: bench/http_bench.sh [build-dir]   (default build-release; needs wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release}
bin=$build/rapport
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
db=$work/bench.db
export TOKEN=$($bin token create --role admin --quiet --db "$db")

# 20,000 customer records to read back.
python3 - "$work/customers.csv" <<'PY'
import sys, random
random.seed(1)
with open(sys.argv[1], "w") as f:
    f.write("id,first_name,last_name,city\n")
    for i in range(20000):
        f.write(f"C-{i},Name{i},Family{random.randint(0, 5000)},City{i % 300}\n")
PY
$bin import "$work/customers.csv" --source shop --db "$db" >/dev/null
sqlite3 "$db" "SELECT id FROM records" > "$work/ids.txt"

$bin serve --port 18080 --db "$db" ${SYNC:+--sync $SYNC} > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/health >/dev/null && break; sleep 0.1; done

echo "== POST /v1/events, NDJSON batches of 1000, 4 connections, 15 s (sync=${SYNC:-full})"
RUN=$RANDOM wrk -t2 -c4 -d15s -s bench/wrk/post_events.lua http://127.0.0.1:18080 | grep -E "events/s|Latency|Requests/sec"
echo "== GET /v1/records/{id}, keep-alive, 64 connections, 15 s"
RECORD_IDS=$work/ids.txt wrk -t2 -c64 -d15s --latency -s bench/wrk/get_record.lua http://127.0.0.1:18080 | grep -E "p50|Requests/sec|99%"
