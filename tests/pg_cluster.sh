#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 cluster for the tests: initdb into DIR as an
# unprivileged user, listening only on a Unix socket in DIR (and 127.0.0.1:PORT when given).
#   pg_cluster.sh start DIR [PORT]   prints nothing on success, fails loudly otherwise
#   pg_cluster.sh stop DIR
set -euo pipefail
cmd=$1
dir=$2
port=${3:-}
bin=/usr/lib/postgresql/15/bin
if [ ! -x "$bin/initdb" ]; then
  echo "PostgreSQL 15 is not installed ($bin/initdb missing): apt-get install postgresql-15" >&2
  exit 1
fi
as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    if [ -f "$dir/data/postmaster.pid" ]; then as_user "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_user "$bin/initdb" -D "$dir/data" -U rapport -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    # Tests trade durability for speed; PG_DURABLE=1 (benchmarks) keeps PostgreSQL's defaults.
    fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PG_DURABLE:-0}" = 1 ] && fast=""
    listen="''"
    [ -n "$port" ] && listen=127.0.0.1
    as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -c listen_addresses=$listen ${port:+-p $port} $fast -c max_connections=200" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg_cluster.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
