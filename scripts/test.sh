#!/usr/bin/env bash
# Installs what the tests need (nats-server, from the system's packages, if
# missing) and runs every test of the workspace. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1; then
    echo "installing nats-server (Debian package) ..."
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nats-server
fi

cargo build --locked --workspace --bins
DOCKET_TEST_PREBUILT=1 cargo test --locked --workspace -- --test-threads=2
