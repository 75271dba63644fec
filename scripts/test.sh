#!/usr/bin/env bash
# Installs what the tests need (nats-server, chromium and chromedriver from
# the system's packages, if missing; schemathesis from PyPI into
# target/test-venv) and runs every test of the workspace. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1; then
    echo "installing nats-server (Debian package) ..."
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nats-server
fi

# The console's browser tests (tests/tests/console_browser.rs) drive Debian's
# headless Chromium through its chromedriver; DOCKET_REQUIRE_BROWSER makes
# them fail, not skip, should either be missing.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "installing chromium and chromium-driver (Debian packages) ..."
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq chromium chromium-driver
fi
export DOCKET_CHROMIUM=/usr/bin/chromium
export DOCKET_CHROMEDRIVER=/usr/bin/chromedriver
export DOCKET_REQUIRE_BROWSER=1

# axe-core (npm registry), injected by the browser tests into every console
# page to check its accessibility; used only by the tests.
AXE_VERSION=4.11.0
AXE=target/test-npm/node_modules/axe-core/axe.min.js
if ! grep -q "axe v$AXE_VERSION" "$AXE" 2>/dev/null; then
    if ! command -v npm >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq npm
    fi
    echo "installing axe-core $AXE_VERSION (npm) into target/test-npm ..."
    npm install --prefix target/test-npm --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
fi
export DOCKET_AXE="$PWD/$AXE"

# Python test tools from PyPI, in a venv of their own: schemathesis fuzzes
# the served OpenAPI document (tests/tests/openapi_conformance.rs); aiosmtpd
# is the real SMTP server of the mail tests (tests/src/smtp_support.rs).
SCHEMATHESIS_VERSION=4.32.5
AIOSMTPD_VERSION=1.4.6
VENV=target/test-venv
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION" \
    || ! "$VENV/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION and aiosmtpd $AIOSMTPD_VERSION (PyPI) into $VENV ..."
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq python3-venv
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "aiosmtpd==$AIOSMTPD_VERSION"
fi
export DOCKET_SCHEMATHESIS="$PWD/$VENV/bin/schemathesis"
export DOCKET_TEST_PYTHON="$PWD/$VENV/bin/python"

cargo build --locked --workspace --bins
DOCKET_TEST_PREBUILT=1 cargo test --locked --workspace -- --test-threads=2
