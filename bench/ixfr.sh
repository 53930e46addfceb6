#!/usr/bin/env bash
# IXFR figures (issue 5): an XBL-like zone of N addresses (default 15,000: ~90,000 records, under
# journal_max_records), then 1,000 new addresses added in one `dnsxl add --file`; prints the time
# of that add (the journal renders the zone twice), and the IXFR from the old serial against the
# AXFR of the new one as kdig receives them over loopback (records, bytes, time).
# Usage: bench/ixfr.sh [N] [build dir]
set -euo pipefail
N=${1:-15000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${2:-$SRC/build-bench}/bin
[ -x "$BIN/dnsxld" ] || BIN=$SRC/build/bin
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
awk -v n="$N" 'BEGIN { srand(4); for (i = 0; i < n; i++) { ip = (int(rand() * 200) + 11) * 16777216 + int(rand() * 16777216);
  printf "%d.%d.%d.%d spam\n", int(ip / 16777216), int(ip / 65536) % 256, int(ip / 256) % 256, ip % 256 } }' > "$WORK/xbl.txt"
awk 'BEGIN { srand(5); for (i = 0; i < 1000; i++) { ip = (int(rand() * 200) + 11) * 16777216 + int(rand() * 16777216);
  printf "%d.%d.%d.%d new listing %d\n", int(ip / 16777216), int(ip / 65536) % 256, int(ip / 256) % 256, ip % 256, i } }' > "$WORK/changes.txt"
cat > "$WORK/x.toml" <<TOML
[server]
store = "$WORK/store"
listen = ["127.0.0.1:0"]
journal_max_records = 1000000
[[zone]]
name = "xbl.test"
ns = ["ns1.example.net"]
  [[zone.dataset]]
  name = "xbl"
  format = "list"
  files = ["$WORK/xbl.txt"]
TOML
"$BIN/dnsxl" import -q -c "$WORK/x.toml"
"$BIN/dnsxl" export -c "$WORK/x.toml" -o "$WORK/x.zone" 2> "$WORK/export.log"
old=$(awk '$4 == "SOA" { print $7; exit }' "$WORK/x.zone")
records=$(grep -o '[0-9]* records' "$WORK/export.log" | cut -d' ' -f1)
t0=$(date +%s.%N)
"$BIN/dnsxl" add -c "$WORK/x.toml" --file "$WORK/changes.txt" > /dev/null
t1=$(date +%s.%N)
"$BIN/dnsxld" -c "$WORK/x.toml" 2> "$WORK/d.log" &
for _ in $(seq 100); do
  port=$(grep -o '127.0.0.1:[0-9]*' "$WORK/d.log" | head -1 | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
xfr() { # type -> "records bytes seconds"
  local s e out
  s=$(date +%s.%N)
  out=$(kdig @127.0.0.1 -p "$port" xbl.test "$1" +noall +stats +timeout=120 2>/dev/null | grep Received)
  e=$(date +%s.%N)
  echo "$out" | awk -v t="$(echo "$e - $s" | bc)" '{ gsub(/\(/, "", $7); print $7, $3, t }'
}
read -r ir ib it <<< "$(xfr IXFR="$old")"
read -r ar ab at <<< "$(xfr AXFR)"
printf 'zone: %d addresses, %d records; 1,000 addresses added in one dnsxl add: %.2f s\n' \
  "$N" "$records" "$(echo "$t1 - $t0" | bc)"
printf '%-5s %10s %12s %9s\n' xfr records bytes seconds
printf '%-5s %10d %12d %9.3f\n' IXFR "$ir" "$ib" "$it" AXFR "$ar" "$ab" "$at"
