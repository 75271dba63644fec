#!/usr/bin/env bash
# The console page benchmark (docs/benchmarks.md, "Console pages"): a
# release docketd filled by loadgen with TICKETS tickets (half taken through
# their whole life to closed, half only opened), then console_bench reads
# the pages as an agent of the org. Usage, after
#   cargo build --release -p docket-api --bin docketd -p docket-tests --bin loadgen --bin console_bench
# scripts/console_bench.sh [TICKETS, default 100000]
set -u
TICKETS=${1:-100000}
HALF=$((TICKETS / 2))
ROOT=$(mktemp -d /tmp/consolebench.XXXX)
export DOCKET_JWT_SECRET=docket-loadgen-secret-0123456789abcdef
PORT=$((20000 + RANDOM % 20000))
B="$(cd "$(dirname "$0")/.." && pwd)/target/release"
$B/docketd --listen 127.0.0.1:$PORT --data-dir $ROOT/data > $ROOT/docketd.log 2>&1 &
D=$!
sleep 1.5
echo "filling: $HALF closed tickets (7 commands each) and $HALF open ones ..."
$B/loadgen --url http://127.0.0.1:$PORT --clients 64 --open-only-clients 64 --tickets $HALF \
  --lag-every 0 2>&1 | grep -E "durable commands" 
$B/console_bench --url http://127.0.0.1:$PORT --requests "${REQUESTS:-300}"
echo "docketd RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$D/status)"
kill $D; wait $D 2>/dev/null
rm -rf $ROOT
