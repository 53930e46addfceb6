#!/usr/bin/env bash
# The performance table of the README, on this machine, in one run: the floor (a trivial
# NXDOMAIN responder, batched and one-syscall-per-packet), dnsxld (one worker) and Debian's
# rbldnsd (-a) answer the same generated data sets (PBL-like 200k ranges, XBL-like 1M addresses,
# DBL-like 1M domains) and the same queries (30% listed, ~87% A / 13% TXT). The server is pinned
# to core 0 and the load generator (bench/loadgen.cc: sendmmsg/recvmmsg, closed loop, 100 queries
# in flight) to core 1; runs are interleaved and the table shows medians of --runs.
# Then: p99 latency at 50% of dnsxld's max load (open loop) for dnsxld and rbldnsd; time from
# start to first answer on a 2M-entry store; an import replacing 1M entries under load; two
# workers; callgrind instructions per query. Loopback only; bounded in time (~25 min on 2 cores:
# the import under load runs at idle priority, three rounds of ~70 s).
#   bench/perf.sh [--runs N] [--seconds S] [--sets "pbl xbl dbl"] [--quick]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
RUNS=3
SECS=5
SETS="pbl xbl dbl"
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --sets) SETS=$2; shift 2 ;;
    --quick) QUICK=1; RUNS=1; SECS=2; shift ;;
    *) echo "usage: bench/perf.sh [--runs N] [--seconds S] [--sets \"pbl xbl dbl\"] [--quick]" >&2; exit 2 ;;
  esac
done
[ "$(nproc)" -ge 2 ] || { echo "perf.sh: needs two cores (server and client pinned apart)" >&2; exit 1; }

if [ "${DNSXL_SKIP_DEPS:-}" != 1 ]; then
  "$SRC/scripts/deps" >/dev/null
  command -v valgrind >/dev/null || apt-get install -y -q valgrind >/dev/null
  "$SRC/scripts/build" >/dev/null
fi
B=$SRC/build/bin
WORK=$(mktemp -d /tmp/dnsxl-perf-XXXXXX)
chmod 755 "$WORK" # rbldnsd reads its files as its own user
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

log() { echo "$@" >&2; }
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
now_ns() { date +%s%N; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

log "generating data in $WORK ..."
"$B/dnsxl_benchgen" "$WORK" $SETS xbl2 >/dev/null

toml() { # set, store dir, workers[, port]
  cat <<EOF
[server]
listen = ["127.0.0.1:${4:-0}"]
store = "$2"
workers = $3
[[zone]]
name = "$1.bench"
ns = ["ns1.bench"]
soa = { mname = "ns1.bench", rname = "hostmaster.bench", minimum = 300, ttl = 3600 }
  [[zone.dataset]]
  name = "$1"
  format = "$([ "$1" = dbl ] && echo dnset || echo ip4set)"
  files = ["$1.txt"]
EOF
}

# Imports, end to end (process start to exit), seconds.
declare -A IMPORT
for s in $SETS; do
  toml "$s" "store-$s" 1 >"$s.toml"
  t0=$(now_ns)
  "$B/dnsxl" import -c "$s.toml" >/dev/null 2>&1
  IMPORT[$s]=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
  log "import $s: ${IMPORT[$s]} s"
done

free_port() { # a port the kernel just gave out, for rbldnsd (which cannot take port 0)
  rm -f port.out
  "$B/dnsxl_floor" -p 0 >port.out &
  local p=$!
  while ! grep -q port port.out 2>/dev/null; do sleep 0.01; done
  kill $p; wait $p 2>/dev/null || true
  awk '{print $2}' port.out
}

# launch_dnsxld CONFIG [taskset args...] -> SPID, SPORT once it listens (stops the run, with
# dnsxld's words, if it exits instead)
launch_dnsxld() {
  local cfg=$1
  shift
  rm -f srv.out
  "$@" "$B/dnsxld" -c "$cfg" >srv.out 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  while ! grep -q listening srv.out 2>/dev/null; do
    kill -0 "$SPID" 2>/dev/null || { echo "perf.sh: dnsxld -c $cfg exited:" >&2; cat srv.out >&2; exit 1; }
    sleep 0.001
  done
  SPORT=$(grep -o '127.0.0.1:[0-9]*' srv.out | head -1 | cut -d: -f2)
}

# time_first QUERIES PORT CMD...: starts the load generator asking PORT a query a millisecond,
# then CMD in the background (SPID); FIRST_MS = ms from CMD's start to the first answer. Timing
# from before the start (not from the server saying it listens) counts all of its start and
# none of the script's own process starts.
time_first() {
  local q=$1 port=$2 lg t0
  shift 2
  taskset -c 1 "$B/dnsxl_loadgen" --first-answer -s 127.0.0.1 -p "$port" -d "$q" -l 60 >first.out &
  lg=$!
  sleep 0.2
  t0=${EPOCHREALTIME/./} # µs, without starting a process
  "$@" >srv.out 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  wait "$lg" || true
  FIRST_MS=$(awk -v t0="$t0" -F'first_answer_at_ns=' 'NF > 1 {printf "%.1f", ($2 / 1000 - t0) / 1000}' first.out)
  if [ -z "$FIRST_MS" ]; then
    echo "perf.sh: $* did not answer:" >&2
    cat srv.out >&2
    exit 1
  fi
}

# start_server KIND SET [WORKERS] -> sets SPID, SPORT, FIRST_MS (start to first answer)
start_server() {
  local kind=$1 set=$2 workers=${3:-1} pin="taskset -c 0"
  [ "$workers" -gt 1 ] && pin=""
  SPORT=$(free_port)
  case "$kind" in
    floor | floor1)
      time_first "$set.queries" "$SPORT" $pin "$B/dnsxl_floor" -p "$SPORT" \
        $([ "$kind" = floor1 ] && echo --single) ;;
    dnsxld)
      toml "$set" "store-$set" "$workers" "$SPORT" >"run-$set.toml"
      time_first "$set.queries" "$SPORT" $pin "$B/dnsxld" -c "run-$set.toml" ;;
    rbldnsd)
      time_first "$set.queries" "$SPORT" $pin rbldnsd -n -a -b "127.0.0.1/$SPORT" -r "$WORK" \
        "$set.bench:$([ "$set" = dbl ] && echo dnset || echo ip4set):$set.txt" ;;
  esac
}
stop_server() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; }

load() { # extra loadgen args...
  taskset -c 1 "$B/dnsxl_loadgen" -s 127.0.0.1 -p "$SPORT" -d "$SET.queries" --pid "$SPID" \
    -l "$SECS" -w 1 "$@"
}

: >results.txt
record() { echo "$*" >>results.txt; echo "result: $*" >&2; }
get() { # kind set field -> median over runs
  awk -v k="$1" -v s="$2" -v f="$3" '$1 == k && $2 == s {for (i = 3; i <= NF; i++) {split($i, p, "="); if (p[1] == f) print p[2]}}' results.txt | median
}

SERVERS=${SERVERS:-"floor floor1 dnsxld rbldnsd"}
for run in $(seq "$RUNS"); do
  for SET in $SETS; do
    for kind in $SERVERS; do
      start_server "$kind" "$SET"
      r=$(load)
      record "$kind $SET $r rss_kb=$(rss_kb "$SPID") first_ms=$FIRST_MS run=$run"
      log "run $run $SET $kind: $r"
      stop_server
    done
  done
done

# p99 at half of dnsxld's max load, open loop: dnsxld and rbldnsd at the same rate.
for run in $(seq "$RUNS"); do
  for SET in $SETS; do
    rate=$(awk -v q="$(get dnsxld "$SET" qps)" 'BEGIN {printf "%d", q / 2}')
    for kind in dnsxld rbldnsd; do
      start_server "$kind" "$SET"
      r=$(load -Q "$rate")
      record "half-$kind $SET $r rate=$rate"
      log "run $run $SET $kind at $rate qps: $r"
      stop_server
    done
  done
done

# Start to first answer on a 2M-entry store (XBL-like + DBL-like in one store), and rbldnsd
# loading the same two files.
if [[ " $SETS " == *" xbl "* && " $SETS " == *" dbl "* ]]; then
  cat >big.toml <<EOF
[server]
listen = ["127.0.0.1:0"]
store = "store-big"
workers = 1
[[zone]]
name = "xbl.bench"
ns = ["ns1.bench"]
  [[zone.dataset]]
  name = "xbl"
  format = "ip4set"
  files = ["xbl.txt"]
[[zone]]
name = "dbl.bench"
ns = ["ns1.bench"]
  [[zone.dataset]]
  name = "dbl"
  format = "dnset"
  files = ["dbl.txt"]
EOF
  "$B/dnsxl" import -c big.toml >/dev/null 2>&1
  for run in $(seq "$RUNS"); do
    SPORT=$(free_port)
    sed "s/127.0.0.1:0/127.0.0.1:$SPORT/" big.toml >big-run.toml
    time_first dbl.queries "$SPORT" taskset -c 0 "$B/dnsxld" -c big-run.toml
    record "first-dnsxld big first_answer_ms=$FIRST_MS"
    stop_server
    SPORT=$(free_port)
    time_first dbl.queries "$SPORT" taskset -c 0 rbldnsd -n -a -b "127.0.0.1/$SPORT" -r "$WORK" \
      xbl.bench:ip4set:xbl.txt dbl.bench:dnset:dbl.txt
    record "first-rbldnsd big first_answer_ms=$FIRST_MS"
    stop_server
    # what starting a process costs here: the floor, which loads nothing, timed the same way
    SPORT=$(free_port)
    time_first dbl.queries "$SPORT" taskset -c 0 "$B/dnsxl_floor" -p "$SPORT"
    record "first-floor big first_answer_ms=$FIRST_MS"
    stop_server
  done
fi

# An import replacing all 1M XBL-like entries while dnsxld answers at half its max load: loss
# and p99 against the same run without the import; peak RSS.
if [[ " $SETS " == *" xbl "* ]]; then
  SET=xbl
  rate=$(awk -v q="$(get dnsxld xbl qps)" 'BEGIN {printf "%d", q / 2}')
  toml xbl store-swap 1 >swap.toml
  sed 's/"xbl.txt"/"xbl2.txt"/' swap.toml >swap2.toml
  # each round imports the XBL-like set, then replaces all of it with xbl2 under load
  for run in $(seq "$RUNS"); do
    "$B/dnsxl" import -c swap.toml >/dev/null 2>&1
    # the two imports alternate: each one replaces every entry
    cp swap.toml run-swap.toml
    launch_dnsxld run-swap.toml taskset -c 0
    idle=$(load -Q "$rate")
    rss0=$(rss_kb "$SPID")
    # measured from 1 s before the import starts to 2 s after it has committed (at most 400 s:
    # at idle priority next to two busy cores the import took 70-180 s here)
    taskset -c 1 "$B/dnsxl_loadgen" -s 127.0.0.1 -p "$SPORT" -d xbl.queries --pid "$SPID" \
      -l 400 -w 1 -Q "$rate" >swap.out &
    lg=$!
    sleep 2
    t0=$(now_ns)
    # as deploy/dnsxl-import.service runs it: SCHED_IDLE (at normal priority it takes CPU from
    # both: p99 50-100 ms, loss up to 6%); on the server's core, as on a server whose workers
    # take every core: next to the load generator it delayed the generator's own reads (p99
    # 2.2-3.3 ms pinned there, 1.5-2.3 ms unpinned, 1.3 ms on the server's core; tmpfs or disk
    # made no difference)
    taskset -c 0 chrt --idle 0 "$B/dnsxl" import -c swap2.toml >/dev/null 2>&1
    took=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
    sleep 2
    kill -INT $lg 2>/dev/null || log "import under load: the import outlasted the 400 s window"
    wait $lg
    busy=$(cat swap.out)
    record "swap-idle xbl $idle rss_kb=$rss0"
    record "swap-import xbl $busy rss_kb=$(rss_kb "$SPID") hwm_kb=$(hwm_kb "$SPID") import_s=$took"
    log "import under load: idle $idle / during $busy (import $took s)"
    stop_server
  done
fi

# Two workers: both cores, neither server nor client pinned (the client competes for them).
for SET in $SETS; do
  start_server dnsxld "$SET" 2
  r=$(taskset -c 0,1 "$B/dnsxl_loadgen" -s 127.0.0.1 -p "$SPORT" -d "$SET.queries" --pid "$SPID" \
    -l "$SECS" -w 1)
  record "two-dnsxld $SET $r"
  stop_server
done

# Instructions per answer (callgrind; repeatable whatever the machine is doing).
if [ "$QUICK" = 0 ]; then
  for SET in $SETS; do
    ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      --toggle-collect='dnsxl::answer::Responder::answer(*' \
      "$B/dnsxl_answer_loop" "store-$SET" "$SET.queries" 50000 2>&1 |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    record "callgrind $SET instr_per_q=$((ir / 50000))"
  done
fi

# The table.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}'; }
# rounds KIND1 KIND2 SET FIELD -> the ratio within each round, in order: the machine's speed
# drifts between rounds, and differently for servers that read data than for the floor
rounds() {
  awk -v a="$1" -v b="$2" -v s="$3" -v f="$4" '
    $2 == s && ($1 == a || $1 == b) {
      r = ""; v = ""
      for (i = 3; i <= NF; i++) { split($i, p, "="); if (p[1] == f) v = p[2]; if (p[1] == "run") r = p[2] + 0 }
      if (r != "" && v != "") { x[$1, r] = v; if (r > n) n = r }
    }
    END { for (i = 1; i <= n; i++) if (x[a, i] != "" && x[b, i] > 0) printf "%s%.2f", (k++ ? " " : ""), x[a, i] / x[b, i] }' results.txt
}
mb() { awk -v k="$1" 'BEGIN {if (k == "-") print "-"; else printf "%.0f", k / 1024}'; }
echo
echo "## dnsxl performance: $(date -u +%Y-%m-%d), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $RUNS runs of ${SECS} s, medians"
echo
echo "Closed loop, 100 queries in flight, server on core 0, load generator on core 1:"
echo
echo "| server | $(for s in $SETS; do printf '%s qps (server µs/query) | ' "$s"; done)RSS MB $(echo $SETS | tr ' ' '/') |"
echo "|---|$(for s in $SETS; do printf -- '---|'; done)---|"
for kind in floor floor1 dnsxld rbldnsd; do
  case $kind in
    floor) name="floor: NXDOMAIN responder, recvmmsg/sendmmsg" ;;
    floor1) name="floor, one recvfrom/sendto per packet" ;;
    dnsxld) name="dnsxld, one worker" ;;
    rbldnsd) name="rbldnsd $(dpkg-query -W -f '${Version}' rbldnsd 2>/dev/null) (-a)" ;;
  esac
  row="| $name |"
  rss=""
  for s in $SETS; do
    row="$row $(get $kind $s qps) ($(get $kind $s cpu_us_per_q)) |"
    rss="$rss/$(mb "$(get $kind $s rss_kb)")"
  done
  echo "$row ${rss#/} |"
done
echo
echo "| ratio | $(for s in $SETS; do printf '%s | ' "$s"; done)"
echo "|---|$(for s in $SETS; do printf -- '---|'; done)"
for pair in "dnsxld rbldnsd qps" "dnsxld floor qps" "dnsxld floor cpu_us_per_q" "dnsxld rbldnsd rss_kb"; do
  set -- $pair
  row="| $1/$2 $3 |"
  for s in $SETS; do
    row="$row $(ratio "$(get "$1" "$s" "$3")" "$(get "$2" "$s" "$3")")"
    [ "$RUNS" -gt 1 ] && row="$row (rounds: $(rounds "$1" "$2" "$s" "$3"))"
    row="$row |"
  done
  echo "$row"
done
echo
echo "Open loop at half of dnsxld's max qps: p99 latency µs (p50), loss %:"
echo
echo "| server | $(for s in $SETS; do printf '%s | ' "$s"; done)"
echo "|---|$(for s in $SETS; do printf -- '---|'; done)"
for kind in dnsxld rbldnsd; do
  row="| $kind |"
  for s in $SETS; do
    row="$row $(get half-$kind $s p99_us) ($(get half-$kind $s p50_us)), $(get half-$kind $s loss_pct)% |"
  done
  echo "$row"
done
echo
echo "| other figures | value |"
echo "|---|---|"
for s in $SETS; do echo "| import of $s (dnsxl import, end to end) | ${IMPORT[$s]} s |"; done
for s in $SETS; do echo "| start to first answer, $s store: dnsxld / rbldnsd | $(get dnsxld $s first_ms) / $(get rbldnsd $s first_ms) ms |"; done
if grep -q '^first-dnsxld' results.txt; then
  echo "| start to first answer, 2M-entry store (xbl+dbl): dnsxld / rbldnsd (the floor) | $(get first-dnsxld big first_answer_ms) / $(get first-rbldnsd big first_answer_ms) ($(get first-floor big first_answer_ms)) ms |"
fi
if grep -q '^swap-import' results.txt; then
  echo "| import replacing 1M entries under half load: import time | $(get swap-import xbl import_s) s |"
  echo "| ... loss idle / during import | $(get swap-idle xbl loss_pct)% / $(get swap-import xbl loss_pct)% |"
  echo "| ... p99 idle / during import | $(get swap-idle xbl p99_us) / $(get swap-import xbl p99_us) µs |"
  echo "| ... RSS before / after / peak | $(mb "$(get swap-idle xbl rss_kb)") / $(mb "$(get swap-import xbl rss_kb)") / $(mb "$(get swap-import xbl hwm_kb)") MB |"
fi
for s in $SETS; do
  echo "| two workers, unpinned, client on the same 2 cores: $s | $(get two-dnsxld $s qps) qps, $(get two-dnsxld $s cpu_us_per_q) µs/query |"
done
if grep -q '^callgrind' results.txt; then
  for s in $SETS; do echo "| instructions per answer (callgrind), $s | $(get callgrind $s instr_per_q) |"; done
fi
echo
echo "Raw results (one line per run):"
sed 's/^/    /' results.txt
