#!/usr/bin/env bash
# The mail benchmark (docs/benchmarks.md, "E-mail notifications"): one loadgen
# run (64 clients, 10 s) against a release docketd with mail on (an aiosmtpd
# on a free port, the org team mailed) or off; prints commands/s, mails
# stored and the notifier's lag (positions) sampled every 100 ms.
# Usage: scripts/mail_bench.sh on|off   (after cargo build --release -p
# docket-api --bin docketd -p docket-tests --bin loadgen, and scripts/test.sh
# once, which installs aiosmtpd into target/test-venv).
set -u
MODE=$1   # on | off
ROOT=$(mktemp -d /tmp/mailbench.XXXX)
SECRET=docket-loadgen-secret-0123456789abcdef
PORT=$((20000 + RANDOM % 20000)); SMTP=$((PORT + 1))
B="$(cd "$(dirname "$0")/.." && pwd)/target/release"
if [ "$MODE" = on ]; then
  "$(dirname "$0")/../target/test-venv/bin/python" -m aiosmtpd -n -l 127.0.0.1:$SMTP ${SMTP_HANDLER:--c aiosmtpd.handlers.Mailbox $ROOT/maildir} > $ROOT/smtp.log 2>&1 &
  SMTP_PID=$!
  sleep 1
  MAIL="--smtp-url smtp://127.0.0.1:$SMTP --mail-from docket@acme.example"
else
  MAIL=""
fi
DOCKET_JWT_SECRET=$SECRET $B/docketd --listen 127.0.0.1:$PORT --data-dir $ROOT/data $MAIL > $ROOT/docketd.log 2>&1 &
D=$!
sleep 1.5
ADMIN=$(DOCKET_JWT_SECRET=$SECRET $B/docketd token --sub admin --org '*' --role admin)
curl -s -X PUT -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"notify_email":"team@acme.example"}' http://127.0.0.1:$PORT/v1/orgs/acme/policy > /dev/null
( for i in $(seq 1 200); do curl -s http://127.0.0.1:$PORT/metrics | awk '/^docket_mail_lag_positions /{print $2}'; sleep 0.1; done > $ROOT/lag.txt ) &
LAG=$!
$B/loadgen --url http://127.0.0.1:$PORT --clients ${CLIENTS:-64} ${RATE:+--rate $RATE} --duration ${DURATION:-10s} --warmup 2s --open-only-clients 0 2>&1 | grep -E "cmds/s|durable|commands" | head -5
kill $LAG 2>/dev/null
# CPU seconds (user + system) each process used so far: on 2 cores the SMTP
# server's share is taken from docketd and the load generator.
cpu() { awk -v hz=$(getconf CLK_TCK) '{printf "%.1f", ($14 + $15) / hz}' /proc/$1/stat; }
echo "cpu s after the load: docketd $(cpu $D)${SMTP_PID:+, smtp server $(cpu $SMTP_PID)}"
metric() { curl -s http://127.0.0.1:$PORT/metrics | awk -v m="$1" '$1==m {print $2}'; }
if [ "$MODE" = on ]; then
  # The drain: with the load stopped, how fast the notifier works off its lag.
  SENT0=$(metric docket_mail_sent_total); T0=$(date +%s.%N)
  for i in $(seq 1 1200); do [ "$(metric docket_mail_lag_positions)" = 0 ] && break; sleep 0.1; done
  SENT1=$(metric docket_mail_sent_total); T1=$(date +%s.%N)
  echo "drain: $((${SENT1%.*} - ${SENT0%.*})) mails in $(echo "$T1 - $T0" | bc) s: $(echo "(${SENT1%.*} - ${SENT0%.*}) / ($T1 - $T0)" | bc) mails/s"
fi
sleep 1
if [ "$MODE" = on ]; then
  echo "mails stored: $(ls $ROOT/maildir/new | wc -l)"
  sort -n $ROOT/lag.txt | awk '{a[NR]=$1} END {if (NR>0) printf "lag samples %d, p50 %s, p99 %s, max %s positions\n", NR, a[int(NR*0.5)+1], a[int(NR*0.99)+1], a[NR]}'
  echo "final lag: $(curl -s http://127.0.0.1:$PORT/metrics | awk '/^docket_mail_lag_positions /{print $2}')"
  echo "sent $(curl -s http://127.0.0.1:$PORT/metrics | awk '/^docket_mail_sent_total /{print $2}')"
fi
kill $D; wait $D 2>/dev/null
[ -n "${SMTP_PID:-}" ] && kill $SMTP_PID
rm -rf $ROOT
