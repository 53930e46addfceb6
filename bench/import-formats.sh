#!/usr/bin/env bash
# Import throughput of each feed format: N records (default 1,000,000) generated with awk
# (deterministic), each format imported into a fresh store by `dnsxl import`, then imported again
# unchanged (the everyday case: the audit trail compares every entry with the last import);
# prints a table of wall times and records per second. Usage: bench/import-formats.sh [N] [dnsxl]
set -euo pipefail
N=${1:-1000000}
DNSXL=${2:-$(dirname "$0")/../build/bin/dnsxl}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# address i -> 10.0.0.0 + i (16M addresses fit), /24 i -> (11 + i/65536).x.y.0
gen() {
  awk -v n="$N" -v fmt="$1" 'function ip(i) { return int(i/16777216)+10 "." int(i/65536)%256 "." int(i/256)%256 "." i%256 }
  function net(i) { return 11+int(i/65536) "." int(i/256)%256 "." i%256 ".0" }
  BEGIN {
    if (fmt == "csv") print "ip,code,reason,ref,listed,expires,delist";
    for (i = 0; i < n; i++) {
      if (fmt == "list") print ip(i) " spam report " i;
      else if (fmt == "drop") print net(i) "/24 ; SBL" 100000+i;
      else if (fmt == "csv") print ip(i) "," 2+i%8 ",\"Spam trap hits, " i%97 " in 24h\",SR-" i ",2026-11-20,2030-01-01,https://example.org/delist";
      else if (fmt == "jsonl") print "{\"subject\":\"" ip(i) "\",\"code\":" 2+i%8 ",\"reason\":\"Brute force " i%13 "\",\"ref\":\"AB-" i "\"}";
      else if (fmt == "hosts") print "0.0.0.0 host" i ".bad" i%1000 ".example.net";
      else if (fmt == "urls") print "http://host" i ".bad" i%1000 ".example.net/path/" i "?x=1";
      else if (fmt == "dynamic") print net(i) "/24 dynamic residential pool " i%50;
      else if (fmt == "rdns") print ip(i) " dyn-" i%256 "-" int(i/256)%256 ".pool" (i%1000 == 0 ? "" : "") ".example-isp.net";
    }
  }' > "$WORK/$1.txt"
}

printf '%-8s %10s %10s %14s %10s\n' format records seconds records/s again
for fmt in list drop csv jsonl hosts urls dynamic rdns; do
  gen "$fmt"
  extra=""
  case "$fmt" in
    csv) extra='header = true
  fields = { subject = "ip", code = "code", reason = "reason", ref = "ref", listed = "listed", expires = "expires", delist = "delist" }
  txt = "{reason} ({ref}); removal: {delist}"' ;;
    jsonl) extra='fields = { subject = "subject", code = "code", reason = "reason", ref = "ref" }' ;;
    rdns) extra="tokens = \"$SRC/feeds/rdns-tokens.txt\"" ;;
  esac
  cat > "$WORK/$fmt.toml" <<TOML
[server]
store = "$WORK/store-$fmt"
[[zone]]
name = "bench.test"
ns = ["ns1.bench.test"]
  [[zone.dataset]]
  name = "d"
  format = "$fmt"
  files = ["$WORK/$fmt.txt"]
  widest_ip4 = 0
  $extra
TOML
  start=$(date +%s.%N)
  "$DNSXL" import -q -c "$WORK/$fmt.toml"
  end=$(date +%s.%N)
  "$DNSXL" import -q -c "$WORK/$fmt.toml"
  again=$(date +%s.%N)
  awk -v f="$fmt" -v n="$N" -v s="$start" -v e="$end" -v a="$again" \
    'BEGIN { printf "%-8s %10d %10.2f %14.0f %10.2f\n", f, n, e - s, n / (e - s), a - e }'
  rm -rf "$WORK/store-$fmt" "$WORK/$fmt.txt"
done
