# Sourced by bench/service.sh and bench/access.sh: the options, the setup (deps, build, a work
# directory holding the XBL-like set), dnsxld started on core 0, and the medians of the results.
# Each script keeps its lines in results.txt as "KIND round=N key=value ...".

# --runs N --seconds S into RUNS and SECS; $1 is the script's name for the usage line.
bench_options() {
  local name=$1
  shift
  RUNS=3
  SECS=5
  while [ $# -gt 0 ]; do
    case "$1" in
      --runs) RUNS=$2; shift 2 ;;
      --seconds) SECS=$2; shift 2 ;;
      *) echo "usage: bench/$name [--runs N] [--seconds S]" >&2; exit 2 ;;
    esac
  done
}

# Installs and builds (unless DNSXL_SKIP_DEPS=1), enters a fresh work directory (removed on exit,
# with dnsxld and the pids in $CLEANUP killed) and generates the XBL-like set there.
bench_setup() {
  if [ "${DNSXL_SKIP_DEPS:-}" != 1 ]; then
    "$SRC/scripts/deps" >/dev/null
    "$SRC/scripts/build" >/dev/null
  fi
  B=$SRC/build/bin
  WORK=$(mktemp -d /tmp/dnsxl-bench-XXXXXX)
  SPID=
  CLEANUP=
  trap 'kill $SPID $CLEANUP 2>/dev/null || true; rm -rf "$WORK"' EXIT
  cd "$WORK"
  "$B/dnsxl_benchgen" . xbl >/dev/null
}

# Starts dnsxld on core 0 with config $1: its pid in SPID, its UDP port in PORT.
start_dnsxld() {
  rm -f srv.out
  taskset -c 0 "$B/dnsxld" -c "$1" >srv.out 2>&1 &
  SPID=$!
  while ! grep -q listening srv.out 2>/dev/null; do sleep 0.01; done
  PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' srv.out | head -1 | cut -d: -f2)
}

stop_dnsxld() {
  kill "$SPID"
  wait "$SPID" 2>/dev/null || true
  SPID=
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# The values of key $2 in the lines of kind $1.
field() { awk -v k="$1" -v f="$2" '$1 == k {for (i = 2; i <= NF; i++) {split($i, p, "="); if (p[1] == f) print p[2]}}' results.txt; }
