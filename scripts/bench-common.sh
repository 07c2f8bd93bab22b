# Sourced by the bench-*.sh scripts (not run on its own): a scratch directory
# and the processes started in it, both cleaned up on exit, the binaries every
# comparison with Prometheus needs, and the scrape configuration both programs
# read.

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# bench_build TOOL...: $work/tokenpath (a `make build`, or a copy of
# $TOKENPATH), Prometheus 3 in $PROM3 (built once by build-prometheus3.sh and
# cached), tokenpath's exported rules in $work/rules, and each named tool
# under scripts/ in $work.
bench_build() {
  PROM3=${PROM3:-$(scripts/build-prometheus3.sh)}
  if [ -n "${TOKENPATH:-}" ]; then
    cp "$TOKENPATH" "$work/tokenpath"
  else
    make --no-print-directory build BIN="$work/tokenpath" >/dev/null
  fi
  export CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations"
  local tool
  for tool in "$@"; do
    go build -o "$work/$tool" "./scripts/$tool"
  done
  "$work/tokenpath" rules export --dir "$work/rules" >/dev/null
}

# wait_ready URL PID [SECONDS]: waits (at most SECONDS, default 600) until
# URL/-/ready answers and prints how many seconds that took; fails if PID
# exits first.
wait_ready() {
  local start deadline
  start=$(date +%s.%N)
  deadline=$(( $(date +%s) + ${3:-600} ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if curl -fs "$1/-/ready" >/dev/null 2>&1; then
      echo "$(date +%s.%N) - $start" | bc
      return 0
    fi
    kill -0 "$2" 2>/dev/null || { echo "process $2 died" >&2; return 1; }
    sleep 0.05
  done
  echo "not ready" >&2
  return 1
}

# write_bench_configs TARGETS [PROM_SELF]: $work/tokenpath.yml scrapes TARGETS
# (a quoted, comma-separated list) every second as the job `bench`, with rules
# every 15 s (tokenpath's default interval); $work/prometheus.yml is the same
# plus tokenpath's exported rules and, given PROM_SELF (host:port), a
# `prometheus` job scraping Prometheus' own /metrics as tokenpath's built-in
# job scrapes tokenpath's.
write_bench_configs() {
  cat >"$work/tokenpath.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 15s
scrape_configs:
  - job_name: bench
    static_configs:
      - targets: [$1]
YML
  cp "$work/tokenpath.yml" "$work/prometheus.yml"
  if [ -n "${2:-}" ]; then
    cat >>"$work/prometheus.yml" <<YML
  - job_name: prometheus
    static_configs:
      - targets: ["$2"]
YML
  fi
  echo "rule_files: [\"$work/rules/*.yml\"]" >>"$work/prometheus.yml"
}

# start_server IMPL PORT DATA: tokenpath with $work/tokenpath.yml, or
# Prometheus 3 with $work/prometheus.yml, on 127.0.0.1:PORT over the data
# directory DATA, in the background, its log on stderr; sets pid and adds it
# to pids.
start_server() {
  case $1 in
    tokenpath) "$work/tokenpath" --config.file="$work/tokenpath.yml" --web.listen-address="127.0.0.1:$2" \
      --storage.tsdb.path="$3" --log.level=warn >&2 & ;;
    prometheus3) "$PROM3" --config.file="$work/prometheus.yml" --web.listen-address="127.0.0.1:$2" \
      --storage.tsdb.path="$3" --log.level=warn >&2 & ;;
    *) echo "start_server: unknown program $1" >&2; return 1 ;;
  esac
  pid=$!
  pids+=("$pid")
}

# stop_server PID [SIGNAL]: sends SIGNAL (default TERM) and waits until the
# process is gone, at most 2 minutes, then kills it.
stop_server() {
  kill -s "${2:-TERM}" "$1" 2>/dev/null || true
  for _ in $(seq 1 1200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
