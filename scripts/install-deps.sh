#!/usr/bin/env bash
# Installs the Debian 12 packages Rapport needs to build, test and benchmark. Idempotent.
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config git
  libsqlite3-dev libboost-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libicu-dev libphonenumber-dev libsodium-dev libssl-dev
  libxxhash-dev libjemalloc-dev libgtest-dev libgmock-dev libbenchmark-dev libpq-dev
  postgresql-15 wrk curl
)
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
