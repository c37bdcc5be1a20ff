#!/usr/bin/env bash
# Gin's hello route over real HTTP with wrk, without and with warden.
# Needs wrk (Debian: apt-get install wrk). Prints requests/s and the ratio.
set -euo pipefail
cd "$(dirname "$0")"
go build -o /tmp/warden-hello ./cmd/hello
dur=${DURATION:-10s}
run() {
  /tmp/warden-hello -addr 127.0.0.1:18081 -warden="$1" >/dev/null &
  pid=$!
  for _ in $(seq 1 50); do curl -s -o /dev/null 127.0.0.1:18081/ && break; sleep 0.1; done
  wrk -t1 -c32 -d"$dur" http://127.0.0.1:18081/ | awk '/Requests\/sec/ {print $2}'
  kill -INT $pid; wait $pid 2>/dev/null || true
}
without=$(run false)
with=$(run true)
echo "without warden: $without req/s"
echo "with warden:    $with req/s"
awk -v a="$with" -v b="$without" 'BEGIN { printf "ratio:          %.2f\n", a / b }'
