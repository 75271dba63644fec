#!/usr/bin/env bash
# Installs what the tests need (nats-server from the system's packages, if
# missing; schemathesis from PyPI into target/test-venv) and runs every test
# of the workspace. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1; then
    echo "installing nats-server (Debian package) ..."
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nats-server
fi

# schemathesis fuzzes the served OpenAPI document (tests/tests/openapi_conformance.rs).
SCHEMATHESIS_VERSION=4.32.5
VENV=target/test-venv
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $VENV ..."
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq python3-venv
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
export DOCKET_SCHEMATHESIS="$PWD/$VENV/bin/schemathesis"

cargo build --locked --workspace --bins
DOCKET_TEST_PREBUILT=1 cargo test --locked --workspace -- --test-threads=2
