#!/usr/bin/env bash
# Every check on, over real HTTP with wrk: bare Gin, Gin + warden, Gin +
# ulule/limiter, bare Echo and Echo + warden, in ROUNDS interleaved rounds
# (default 5), printing each round, the median requests/s of each stack, the
# ratios to the bare framework and the machine's load average.
#
# The server (cmd/everycheck) holds the issue's load: 100,000 blocked IPs,
# 1,000 networks, 500 User-Agent patterns (10 regexes), 50 blocked countries
# over a country .mmdb of ~600,000 networks made with mmdbwriter (generated
# once into $MMDB), the rules in a SQLite file (bunstore, built once into
# $RULES), 127.0.0.0/8 as a trusted proxy (wrk sends the client in
# X-Forwarded-For and a browser User-Agent) and one matching rate rule.
#
# With PIN=1 (the default) the server runs on CPU 0 and wrk on CPU 1
# (taskset), so neither steals the other's core; PIN=0 lets them share both.
# Needs wrk (Debian: apt-get install wrk).
#
#	DURATION=10s ROUNDS=5 ./run.sh
set -euo pipefail
cd "$(dirname "$0")"
dur=${DURATION:-10s}
rounds=${ROUNDS:-5}
mmdb=${MMDB:-${TMPDIR:-/tmp}/warden-bench-country.mmdb}
rules=${RULES:-${TMPDIR:-/tmp}/warden-bench-rules.db} # or RULES=mem: a memstore
stacks=${STACKS:-gin gin-warden gin-ulule echo echo-warden}
addr=127.0.0.1:18082
bin=${TMPDIR:-/tmp}/warden-everycheck
go build -o "$bin" ./cmd/everycheck
"$bin" -stack gen -mmdb "$mmdb" -store "$rules"
srvpin=() wrkpin=()
if [ "${PIN:-1}" = 1 ]; then srvpin=(taskset -c 0) wrkpin=(taskset -c 1); fi
ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run() { # stack -> requests/s
  "${srvpin[@]}" "$bin" -stack "$1" -mmdb "$mmdb" -store "$rules" -addr "$addr" >/dev/null &
  local pid=$! code=
  for _ in $(seq 1 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 81.2.69.160' -A "$ua" "http://$addr/" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  if [ "$code" != 200 ]; then echo "run.sh: $1 answered $code" >&2; kill -INT $pid; exit 1; fi
  "${wrkpin[@]}" wrk -t1 -c32 -d1s -H 'X-Forwarded-For: 81.2.69.160' -H "User-Agent: $ua" "http://$addr/" >/dev/null # warm-up
  "${wrkpin[@]}" wrk -t1 -c32 -d"$dur" -H 'X-Forwarded-For: 81.2.69.160' -H "User-Agent: $ua" "http://$addr/" |
    awk '/Non-2xx/ {print "run.sh: non-2xx answers" > "/dev/stderr"; exit 1} /Requests\/sec/ {print $2}'
  kill -INT $pid; wait $pid 2>/dev/null || true
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); pin=${PIN:-1}; $rounds rounds of $dur; $(nproc) CPUs"
for r in $(seq 1 "$rounds"); do
  line="round $r:"
  for s in $stacks; do
    v=$(run "$s")
    echo "$s $v" >>"$out"
    line="$line $s=$v"
  done
  echo "$line"
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
med() { awk -v s="$1" '$1 == s {print $2}' "$out" | sort -n | awk '{a[NR] = $1} END {if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
for s in $stacks; do printf '%-12s median %10.0f req/s\n' "$s" "$(med "$s")"; done
ratio() { [ -n "$(med "$1")" ] && [ -n "$(med "$2")" ] && awk -v a="$(med "$1")" -v b="$(med "$2")" -v l="$3" 'BEGIN {printf "%-26s %.3f\n", l, a / b}' || true; }
ratio gin-warden gin "gin + warden / gin:"
ratio gin-ulule gin "gin + ulule / gin:"
ratio echo-warden echo "echo + warden / echo:"
