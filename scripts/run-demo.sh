#!/usr/bin/env bash
# Set-up command 1: installs what is needed, builds a release binary, loads the demo data into
# ./rapport.db and serves it on http://127.0.0.1:8080. Idempotent: a second run rebuilds only
# what changed, imports nothing twice, and rotates the demo admin token.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DRAPPORT_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target rapport
bin=build-release/rapport
db=${RAPPORT_DB:-rapport.db}
$bin import examples/demo/customers.csv --source shop --key customer_id --db "$db"
$bin import examples/demo/events.ndjson --kind events --db "$db"
token=$($bin token create --role admin --name demo-admin --replace --quiet --db "$db")
echo
echo "Rapport demo: http://127.0.0.1:8080   (store: $db)"
echo "Admin token:  $token"
echo "Try:          curl -H 'Authorization: Bearer $token' http://127.0.0.1:8080/v1/events?limit=5"
echo
exec $bin serve --host 127.0.0.1 --port 8080 --db "$db"
