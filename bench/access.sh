#!/usr/bin/env bash
# What access control costs the query path, in one run: dnsxld (one worker, core 0) on the
# XBL-like set (1M addresses; bench/gen.cc), the same queries from the load generator (core 1,
# closed loop) in five configurations interleaved over --runs rounds:
#   plain      no rules (the unrestricted path)
#   access     [[zone.access]]: refuse 0/0 and ::/0, answer the shipped public resolvers,
#              allow 127.0.0.0/8 (the load's address: every query looks its rule up, then answers)
#   rrl        rate limiting on with a budget never reached (every response checks it)
#   idle       plain, with 1,000 idle TCP connections open to dnsxld
#   all        access + rrl + the idle connections
# Prints medians of qps and the ratios to plain.   bench/access.sh [--runs N] [--seconds S]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh"
bench_options access.sh "$@"
bench_setup
HOLD=
base() { # $1: extra [server] lines; $2: extra zone lines
  cat <<CONF
[server]
listen = ["127.0.0.1:0"]
store = "store"
workers = 1
tcp_max_connections = 2000
tcp_max_per_client = 0
tcp_idle_timeout_ms = 600000
$1
[[zone]]
name = "xbl.bench"
ns = ["ns1.bench"]
  [[zone.dataset]]
  name = "xbl"
  format = "ip4set"
  files = ["xbl.txt"]
$2
CONF
}
rules='  [[zone.access]]
  clients = ["0.0.0.0/0", "::/0"]
  action = "refuse"
  [[zone.access]]
  clients_file = "'"$SRC"'/deploy/public-resolvers.txt"
  action = "answer"
  a = "127.255.255.254"
  [[zone.access]]
  clients = ["127.0.0.0/8"]
  action = "allow"'
rrl='rrl_responses_per_second = 100000000'
base "" "" >plain.toml
base "" "" >idle.toml
base "" "$rules" >access.toml
base "$rrl" "" >rrl.toml
base "$rrl" "$rules" >all.toml
"$B/dnsxl" import -c plain.toml >/dev/null
: >results.txt
for round in $(seq "$RUNS"); do
  for kind in plain access rrl idle all; do
    start_dnsxld "$kind.toml"
    if [ "$kind" = idle ] || [ "$kind" = all ]; then
      taskset -c 1 python3 -c '
import socket, sys, time
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(1000)]
print("open", flush=True)
time.sleep(3600)' "$PORT" >hold.out &
      HOLD=$!
      CLEANUP=$HOLD
      while ! grep -q open hold.out 2>/dev/null; do sleep 0.05; done
    fi
    r=$(taskset -c 1 "$B/dnsxl_loadgen" -s 127.0.0.1 -p "$PORT" -d xbl.queries --pid "$SPID" \
      -l "$SECS" -w 1)
    if [ -n "$HOLD" ]; then kill "$HOLD"; wait "$HOLD" 2>/dev/null || true; HOLD= CLEANUP=; fi
    stop_dnsxld
    echo "$kind round=$round $r" | tee -a results.txt
  done
done
plain=$(field plain qps | median)
echo
echo "| dnsxld, one worker, xbl | qps (median of $RUNS) | / plain | rounds |"
echo "|---|---|---|---|"
for kind in plain access rrl idle all; do
  q=$(field "$kind" qps | median)
  echo "| $kind | $q | $(awk -v a="$q" -v b="$plain" 'BEGIN {printf "%.3f", a / b}') | $(field "$kind" qps | tr '\n' ' ')|"
done
