#!/usr/bin/env bash
# The browser tests' server (ctest fixture `console`): `start DIR BINARY` loads the demo's data
# (scripts/demo/replay.mjs) into a fresh database, serves it on a free port and writes
# DIR/state.json (url, tokens); `stop DIR` ends it.
set -euo pipefail
dir=$2
src="$(cd "$(dirname "$0")/../.." && pwd)"
case $1 in
  start)
    bin=$3
    rm -rf "$dir" && mkdir -p "$dir"
    export ASAN_OPTIONS=detect_leaks=0  # the CLI's exit is not under test here
    db="$dir/console.db"
    "$bin" generate --records 320 --seed 7 -o "$dir/customers.csv"
    "$bin" parts generate --assets 1500 --seed 22 --db "$db" >/dev/null
    tok() { "$bin" token create --quiet --db "$db" "$@"; }
    admin=$(tok --role admin --name browser-admin)
    agent=$(tok --role agent --name browser-agent)
    analyst=$(tok --role analyst --name browser-analyst)
    partner_b=$(tok --role partner --org partner-b --name browser-partner-b)
    partner_c=$(tok --role partner --org partner-c --name browser-partner-c)
    "$bin" serve --host 127.0.0.1 --port 0 --db "$db" --clock manual \
      --clock-start 2026-11-02T07:00:00Z --cases "$src/examples/cases/cases.yaml" \
      >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    port=""
    for _ in $(seq 1 300); do
      port=$(sed -n 's/^Rapport listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$dir/server.log")
      [ -n "$port" ] && break
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
      sleep 0.2
    done
    [ -n "$port" ] || { echo "the server did not start" >&2; exit 1; }
    node "$src/scripts/demo/replay.mjs" "http://127.0.0.1:$port" "$admin" "$dir/customers.csv" \
      "$src/examples/demo/customers.csv"
    cat >"$dir/state.json" <<JSON
{"url":"http://127.0.0.1:$port/","admin":"$admin","agent":"$agent","analyst":"$analyst",
 "partner_b":"$partner_b","partner_c":"$partner_c"}
JSON
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      kill "$(cat "$dir/pid")" 2>/dev/null || true
      rm -f "$dir/pid"
    fi
    ;;
esac
