#!/usr/bin/env bash
# Installs the Debian 12 packages Rapport needs to build, test and benchmark. Idempotent.
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config git
  libsqlite3-dev libboost-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libicu-dev libphonenumber-dev libabsl-dev libsodium-dev libssl-dev
  libxxhash-dev libjemalloc-dev libgtest-dev libgmock-dev libbenchmark-dev libpq-dev
  clang libclang-rt-14-dev postgresql-15 wrk curl
  chromium
)
# Node.js and npm build the web console: Debian's (18) unless the machine has a Node.js already.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The web console (web/) is built with npm packages pinned by web/package-lock.json; the
# browser tests drive Debian's chromium through playwright-core (no browser download).
web="$(cd "$(dirname "$0")/../web" && pwd)"
if [ ! -f "$web/node_modules/.package-lock.json" ] ||
   [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "installing the console's npm packages (npm ci in web/)"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi
