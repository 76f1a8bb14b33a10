#!/usr/bin/env bash
# Event append into SQLite and PostgreSQL (on 127.0.0.1) in the same run (issue 10).
# Usage: bench/pg_bench.sh [build-dir]   (default build-release, built with -DRAPPORT_BUILD_BENCH=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release}
dir=$(mktemp -d /tmp/rapport-pgbench-XXXXXX)
port=55432
trap 'bash tests/pg_cluster.sh stop "$dir"' EXIT
PG_DURABLE=1 bash tests/pg_cluster.sh start "$dir" "$port"
psql "host=127.0.0.1 port=$port user=rapport dbname=postgres" -qc "CREATE DATABASE bench"
RAPPORT_BENCH_PG="host=127.0.0.1 port=$port user=rapport dbname=bench" \
  "$build/bench/store_benchmark" --benchmark_filter='Append'
