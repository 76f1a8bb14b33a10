#!/usr/bin/env bash
# Set-up command 1: installs what is needed, builds a release binary (with the web console),
# loads a demo into ./rapport.db — a few hundred generated German customers with variants and
# households, the trade-in and invoice journeys, the cases configuration, partners, appliances
# and their service history, and four weeks of events replayed on a manual clock — and serves
# it on http://127.0.0.1:8080, printing the console link with an admin token.
# Idempotent: a second run rebuilds only what changed, imports and replays nothing twice, and
# rotates the demo tokens.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bin=${RAPPORT_DEMO_BIN:-}  # a binary built elsewhere (development); default: build one here
if [ -z "$bin" ]; then
  cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DRAPPORT_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release -j"$(nproc)" --target rapport
  bin=build-release/rapport
fi
db=${RAPPORT_DB:-rapport.db}
port=${RAPPORT_DEMO_PORT:-8080}
work=${TMPDIR:-/tmp}/rapport-demo
mkdir -p "$work"

# Customers with name variants and households (the same file every run), and past repairs
# for the parts forecast (stored once per seed).
$bin generate --records 320 --seed 7 -o "$work/customers.csv"
if ! out=$($bin parts generate --assets 1500 --seed 22 --db "$db" 2>&1); then
  grep -q "already" <<<"$out" || { echo "$out" >&2; exit 1; }
fi

admin=$($bin token create --role admin --name demo-admin --replace --quiet --db "$db")
analyst=$($bin token create --role analyst --name demo-analyst --replace --quiet --db "$db")
partner_b=$($bin token create --role partner --org partner-b --name demo-partner-b --replace --quiet --db "$db")
partner_c=$($bin token create --role partner --org partner-c --name demo-partner-c --replace --quiet --db "$db")

# A manual clock: the replay moves it day by day; a restart continues where it stopped.
$bin serve --host 127.0.0.1 --port "$port" --db "$db" --clock manual \
  --clock-start 2026-11-02T07:00:00Z --cases examples/cases/cases.yaml &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
  sleep 0.2
done
node scripts/demo/replay.mjs "http://127.0.0.1:$port" "$admin" "$work/customers.csv" \
  examples/demo/customers.csv

url="http://127.0.0.1:$port/"
echo
echo "Rapport demo (store: $db, manual clock)"
echo "Console, as admin:     ${url}#token=$admin"
echo "Console, as analyst:   ${url}#/analytics?token=$analyst"
echo "Console, as partner C: ${url}#/work-orders?token=$partner_c"
echo "Console, as partner B: ${url}#/work-orders?token=$partner_b"
echo "API:                   curl -H 'Authorization: Bearer $admin' ${url}v1/events?limit=5"
echo "Stop with Ctrl-C."
echo
wait $server
