#!/usr/bin/env bash
# Side by side on the same targets, in one run: tokenpath with its defaults
# (embedded rules, GPU collector, self-scrape) against Prometheus 3 (built from
# the Prometheus module go.mod pins, scripts/build-prometheus3.sh) loaded with
# tokenpath's own rules (`tokenpath rules export`), and Debian's Prometheus
# 2.42 with the same rules as a second row. Everything on 127.0.0.1.
#
#   scripts/bench-vs-prometheus.sh [warmup_seconds] [measure_seconds]
#
# Environment:
#   LOADS="1k 20k 100k"  which loads to run (see load_targets)
#   ROUNDS=2             rounds of tokenpath, Prometheus 3, Prometheus 3, tokenpath
#                        (A B B A) per load; every adjacent pair gives one ratio
#   PROM2=/usr/bin/prometheus   the second row; PROM2= skips it
#   SEQUENCE="tokenpath prometheus3 prometheus3 tokenpath"   one round; an
#                        entry tokenpath/NAME is tokenpath run with the settings
#                        in $TP_NAME: VAR=VALUE environment assignments (GOGC=50)
#                        and BIN=PATH for another tokenpath binary; every
#                        tokenpath run is compared with the nearest
#                        prometheus3 run of the sequence
#   PROFILE_DIR=DIR      after the rounds of each load in PROFILE_LOADS (default
#                        20k), one more run of each program in PROFILE_IMPLS
#                        (default "tokenpath prometheus3"), each after the same
#                        warm-up: a 30 s CPU profile, then the heap profile,
#                        /metrics, /proc/PID/status, smaps_rollup and smaps,
#                        written to DIR as LOAD-IMPL.*
#   PROFILE_WARMUP=S     the profiled runs' warm-up (default: warmup_seconds)
#   RSS_SERIES_DIR=DIR   keep each measured run's RSS, one line per second in
#                        KiB, as DIR/LOAD-IMPL-RUN.kib (RUN counts the runs of
#                        that program at that load): for long windows, where
#                        the median and the maximum hide a trend
#   PORT=20090 TBASE=20200   the programs' listen port; the targets listen on
#                        TBASE … TBASE+8
#
# Scrape interval 1 s (so series ≈ samples/s), rule evaluation every 15 s
# (tokenpath's default interval) for both.
set -euo pipefail
cd "$(dirname "$0")/.."
WARMUP=${1:-60}
MEASURE=${2:-120}
LOADS=${LOADS:-1k 20k 100k}
ROUNDS=${ROUNDS:-2}
SEQUENCE=${SEQUENCE:-tokenpath prometheus3 prometheus3 tokenpath}
PROFILE_LOADS=${PROFILE_LOADS:-20k}
PROFILE_IMPLS=${PROFILE_IMPLS:-tokenpath prometheus3}
PORT=${PORT:-20090}
TBASE=${TBASE:-20200}
PROM2=${PROM2-$(command -v prometheus || true)}
. scripts/bench-common.sh
bench_build benchtarget benchquery

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# load_targets LOAD: starts the load's targets and sets targets to their
# addresses.
# Every load has go-nvml's simulated DGX H100 (8 GPUs, `tokenpath export gpu
# --simulate`, native and DCGM names) and N simulated vLLM servers with M
# models each; the 100k load is 8 servers × 40 models (the 8-GPU box with
# 8 servers × 16 models is ~41k series).
load_targets() {
  local servers models port=$TBASE
  case $1 in
    1k) servers=1 models=2 ;;
    20k) servers=4 models=16 ;;
    40k) servers=8 models=16 ;;
    100k) servers=8 models=40 ;;
    *) echo "unknown load $1" >&2; return 1 ;;
  esac
  "$work/tokenpath" export gpu --simulate --listen "127.0.0.1:$port" >/dev/null 2>&1 &
  pids+=($!)
  local list="\"127.0.0.1:$port\""
  for i in $(seq 1 "$servers"); do
    port=$((TBASE + i))
    "$work/benchtarget" --listen "127.0.0.1:$port" --vllm-models "$models" --seed "$i" >/dev/null &
    pids+=($!)
    list="$list,\"127.0.0.1:$port\""
  done
  targets=$list
}

start_impl() { # impl, data dir
  local bin=$work/tokenpath env=() kv
  case $1 in
    tokenpath/*)
      local var="TP_${1#tokenpath/}"
      for kv in ${!var-}; do
        case $kv in BIN=*) bin=${kv#BIN=} ;; *) env+=("$kv") ;; esac
      done ;;&
    tokenpath*) env "${env[@]}" "$bin" --config.file="$work/tokenpath.yml" --web.listen-address=127.0.0.1:$PORT \
      --storage.tsdb.path="$2" --log.level=warn --web.enable-pprof >"$work/tokenpath.log" 2>&1 & ;;
    prometheus3) "$PROM3" --config.file="$work/prometheus.yml" --web.listen-address=127.0.0.1:$PORT \
      --storage.tsdb.path="$2" --log.level=warn >"$work/$1.log" 2>&1 & ;;
    prometheus2) "$PROM2" --config.file="$work/prometheus.yml" --web.listen-address=127.0.0.1:$PORT \
      --storage.tsdb.path="$2" --log.level=warn >"$work/$1.log" 2>&1 & ;;
    *) echo "unknown program $1" >&2; return 1 ;;
  esac
}

# run_one LOAD IMPL [profile]: one measured run; prints one result line.
run_one() {
  local load=$1 impl=$2 profile=${3:-}
  rm -rf "$work/data"
  local pid ready
  start_impl "$impl" "$work/data"
  pid=$!
  pids+=("$pid")
  ready=$(wait_ready "http://127.0.0.1:$PORT" "$pid" 60)
  if [ -n "$profile" ]; then
    sleep "${PROFILE_WARMUP:-$WARMUP}"
    local base="$profile/$load-${impl//\//-}"
    mkdir -p "$profile"
    curl -fs "http://127.0.0.1:$PORT/debug/pprof/profile?seconds=30" -o "$base.cpu.pb.gz"
    curl -fs "http://127.0.0.1:$PORT/debug/pprof/heap" -o "$base.heap.pb.gz"
    curl -fs "http://127.0.0.1:$PORT/metrics" -o "$base.metrics.txt"
    cp "/proc/$pid/status" "$base.status.txt"
    cp "/proc/$pid/smaps_rollup" "$base.smaps_rollup.txt"
    cp "/proc/$pid/smaps" "$base.smaps.txt"
    stop_server "$pid"
    return
  fi
  sleep "$WARMUP"
  local t0 c0 t1 c1
  t0=$(date +%s.%N); c0=$(cpu_ticks "$pid")
  : >"$work/rss"
  for _ in $(seq 1 "$MEASURE"); do rss_kib "$pid" >>"$work/rss"; sleep 1; done
  t1=$(date +%s.%N); c1=$(cpu_ticks "$pid")
  if [ -n "${RSS_SERIES_DIR:-}" ]; then
    mkdir -p "$RSS_SERIES_DIR"
    local run=1 series="$RSS_SERIES_DIR/$load-${impl//\//-}"
    while [ -e "$series-$run.kib" ]; do run=$((run + 1)); done
    cp "$work/rss" "$series-$run.kib"
  fi
  local samples rss rssmax cpu q
  # Scraped samples per second over the window (every job is scraped once a second).
  samples=$(curl -fsG "http://127.0.0.1:$PORT/api/v1/query" --data-urlencode 'query=sum(avg_over_time(scrape_samples_scraped[30s]))' | sed -E 's/.*"value":\[[^,]*,"([^"]*)".*/\1/')
  rss=$(median <"$work/rss")
  rssmax=$(sort -n "$work/rss" | tail -1)
  cpu=$(echo "scale=3; ($c1 - $c0) / $clk / (($t1 - $t0) / 60)" | bc)
  # Every dashboard panel over the last minute, five times each: the sum of
  # the panels' median times (the process is still scraping).
  q=$("$work/benchquery" --url "http://127.0.0.1:$PORT" --range 1m --repeat 5 | awk '$1=="sum_of_medians" {print $2}')
  printf 'load=%-5s impl=%-15s samples_s=%-7.0f rss_median_MiB=%-7.1f rss_max_MiB=%-7.1f cpu_s_per_min=%-7s panels_ms=%-7s ready_s=%.2f\n' \
    "$load" "$impl" "$samples" "$(echo "$rss/1024" | bc -l)" "$(echo "$rssmax/1024" | bc -l)" "$cpu" "$q" "$ready" | tee -a "$work/results"
  stop_server "$pid"
}

# ratios LOAD FIELD IMPL: IMPL / Prometheus 3 for each IMPL run against the
# nearest Prometheus 3 run of the same load (in A B B A, the adjacent one), as
# "median (min–max, N pairs)".
ratios() {
  grep "^load=$1 " "$work/results" | grep -E 'impl=(tokenpath[^ ]*|prometheus3) ' |
    sed -E "s/.*impl=([^ ]+) .*$2=([0-9.]+).*/\1 \2/" |
    awk -v want="$3" '{ impl[NR]=$1; v[NR]=$2 }
      END { for (i=1; i<=NR; i++) if (impl[i]==want) { best=0
              for (j=1; j<=NR; j++) if (impl[j]=="prometheus3" && (best==0 || (i-j)^2 < (i-best)^2)) best=j
              if (best) print v[i]/v[best] } }' |
    sort -g | awk '{a[NR]=$1} END {if (!NR) {printf "n/a"; exit} m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); printf "%.2f (%.2f–%.2f, %d pairs)", m, a[1], a[NR], NR}'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); tokenpath $(git rev-parse --short HEAD); $("$PROM3" --version 2>&1 | head -1); ${PROM2:+$("$PROM2" --version 2>&1 | head -1)}"
echo "# warmup ${WARMUP}s, measure ${MEASURE}s, rounds $ROUNDS of \"$SEQUENCE\", loads: $LOADS; $(ls "$work/rules" | wc -l) rule files"
for v in $(compgen -v TP_); do echo "# tokenpath/${v#TP_}: ${!v}"; done
echo "# binary sizes (MiB): tokenpath $(du -m "$work/tokenpath" | cut -f1) (make build), prometheus3 $(du -mL "$PROM3" | cut -f1) (stripped)${PROM2:+, prometheus2 $(du -mL "$PROM2" | cut -f1)}"
for load in $LOADS; do
  load_targets "$load"
  write_bench_configs "$targets" "127.0.0.1:$PORT"
  for _ in $(seq 1 "$ROUNDS"); do
    for impl in $SEQUENCE; do run_one "$load" "$impl"; done
  done
  [ -n "$PROM2" ] && run_one "$load" prometheus2
  if [ -n "${PROFILE_DIR:-}" ] && [[ " $PROFILE_LOADS " == *" $load "* ]]; then
    for impl in $PROFILE_IMPLS; do run_one "$load" "$impl" "$PROFILE_DIR"; done
  fi
  for impl in $(printf '%s\n' $SEQUENCE | grep '^tokenpath' | sort -u); do
    for f in rss_median_MiB rss_max_MiB cpu_s_per_min panels_ms; do
      echo "ratio load=$load $f $impl/prometheus3 = $(ratios "$load" "$f" "$impl")"
    done
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done
