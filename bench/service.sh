#!/usr/bin/env bash
# What running dnsxld as a service costs the query path, in one run: dnsxld (one worker, core 0)
# on the XBL-like set (1M addresses; bench/gen.cc) with the same queries from the load generator
# (core 1, closed loop), in four configurations interleaved over --runs rounds:
#   plain      no [http], no [query_log]
#   metrics    [http] on, /metrics scraped every second during the run (curl on core 1)
#   log        [query_log] in rbldnsd's format to a file
#   json       [query_log] as JSON Lines
# Prints medians of qps and the ratios to plain, and the query log's written/dropped counts.
#   bench/service.sh [--runs N] [--seconds S]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh"
bench_options service.sh "$@"
bench_setup
command -v curl >/dev/null || apt-get install -y -q curl >/dev/null
base() {
  cat <<CONF
[server]
listen = ["127.0.0.1:0"]
store = "store"
workers = 1
[[zone]]
name = "xbl.bench"
ns = ["ns1.bench"]
  [[zone.dataset]]
  name = "xbl"
  format = "ip4set"
  files = ["xbl.txt"]
CONF
}
base >plain.toml
{ base; printf '[http]\nlisten = ["127.0.0.1:0"]\n'; } >metrics.toml
{ base; printf '[query_log]\npath = "q.log"\n'; } >log.toml
{ base; printf '[query_log]\npath = "q.jsonl"\nformat = "json"\n'; } >json.toml
"$B/dnsxl" import -c plain.toml >/dev/null
: >results.txt
for round in $(seq "$RUNS"); do
  for kind in plain metrics log json; do
    rm -f q.log q.jsonl
    start_dnsxld "$kind.toml"
    scraper=
    if [ "$kind" = metrics ]; then
      while ! grep -q 'http on' srv.out; do sleep 0.01; done
      http=$(grep -o 'http on 127.0.0.1:[0-9]*' srv.out | cut -d: -f2)
      (while true; do taskset -c 1 curl -s "127.0.0.1:$http/metrics" >/dev/null; sleep 1; done) &
      scraper=$!
    fi
    r=$(taskset -c 1 "$B/dnsxl_loadgen" -s 127.0.0.1 -p "$PORT" -d xbl.queries --pid "$SPID" \
      -l "$SECS" -w 1)
    [ -n "$scraper" ] && kill "$scraper" && wait "$scraper" 2>/dev/null || true
    stop_dnsxld
    lines=0
    for f in q.log q.jsonl; do [ -f $f ] && lines=$(wc -l <$f); done
    echo "$kind round=$round $r lines=$lines" | tee -a results.txt
  done
done
plain=$(field plain qps | median)
echo
echo "| dnsxld, one worker, xbl | qps (median of $RUNS) | / plain | rounds | query log lines written (median) |"
echo "|---|---|---|---|---|"
for kind in plain metrics log json; do
  q=$(field "$kind" qps | median)
  echo "| $kind | $q | $(awk -v a="$q" -v b="$plain" 'BEGIN {printf "%.3f", a / b}') | $(field "$kind" qps | tr '\n' ' ')| $(field "$kind" lines | median) |"
done
