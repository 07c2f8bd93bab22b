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
#   PROFILE_DIR=DIR      after the rounds of the 20k load, one more tokenpath run
#                        whose CPU (30 s) and heap profiles are written to DIR
#
# Scrape interval 1 s (so series ≈ samples/s), rule evaluation every 15 s
# (tokenpath's default interval) for both.
set -euo pipefail
cd "$(dirname "$0")/.."
WARMUP=${1:-60}
MEASURE=${2:-120}
LOADS=${LOADS:-1k 20k 100k}
ROUNDS=${ROUNDS:-2}
PROM2=${PROM2-$(command -v prometheus || true)}
. scripts/bench-common.sh
bench_build benchtarget benchquery

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# load_targets LOAD: starts the load's targets and sets targets to their
# addresses.
# Every load has go-nvml's simulated DGX H100 (8 GPUs, `tokenpath export gpu
# --simulate`, native and DCGM names) and N simulated vLLM servers with M
# models each; the 100k load is 8 servers × 40 models (the 8-GPU box with
# 8 servers × 16 models is ~41k series).
load_targets() {
  local servers models port=20200
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
    port=$((20200 + i))
    "$work/benchtarget" --listen "127.0.0.1:$port" --vllm-models "$models" --seed "$i" >/dev/null &
    pids+=($!)
    list="$list,\"127.0.0.1:$port\""
  done
  targets=$list
}

write_configs() { # target list
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
  # Prometheus scrapes its own /metrics as tokenpath's built-in job does, and
  # evaluates the rules tokenpath embeds.
  cp "$work/tokenpath.yml" "$work/prometheus.yml"
  cat >>"$work/prometheus.yml" <<YML
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:20090"]
rule_files: ["$work/rules/*.yml"]
YML
}

start_impl() { # impl, data dir
  case $1 in
    tokenpath) "$work/tokenpath" --config.file="$work/tokenpath.yml" --web.listen-address=127.0.0.1:20090 \
      --storage.tsdb.path="$2" --log.level=warn --web.enable-pprof >"$work/$1.log" 2>&1 & ;;
    prometheus3) "$PROM3" --config.file="$work/prometheus.yml" --web.listen-address=127.0.0.1:20090 \
      --storage.tsdb.path="$2" --log.level=warn >"$work/$1.log" 2>&1 & ;;
    prometheus2) "$PROM2" --config.file="$work/prometheus.yml" --web.listen-address=127.0.0.1:20090 \
      --storage.tsdb.path="$2" --log.level=warn >"$work/$1.log" 2>&1 & ;;
  esac
}

stop() { # pid: SIGTERM, then wait until it is gone (bounded)
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

# run_one LOAD IMPL [profile]: one measured run; prints one result line.
run_one() {
  local load=$1 impl=$2 profile=${3:-}
  rm -rf "$work/data"
  local pid ready
  start_impl "$impl" "$work/data"
  pid=$!
  pids+=("$pid")
  ready=$(wait_ready http://127.0.0.1:20090 "$pid" 60)
  sleep "$WARMUP"
  if [ -n "$profile" ]; then
    mkdir -p "$profile"
    curl -fs "http://127.0.0.1:20090/debug/pprof/profile?seconds=30" -o "$profile/cpu-$load.pprof"
    curl -fs "http://127.0.0.1:20090/debug/pprof/heap" -o "$profile/heap-$load.pprof"
    cp "$work/tokenpath" "$profile/tokenpath"
    stop "$pid"
    return
  fi
  local t0 c0 t1 c1
  t0=$(date +%s.%N); c0=$(cpu_ticks "$pid")
  : >"$work/rss"
  for _ in $(seq 1 "$MEASURE"); do rss_kib "$pid" >>"$work/rss"; sleep 1; done
  t1=$(date +%s.%N); c1=$(cpu_ticks "$pid")
  local samples rss rssmax cpu q
  # Scraped samples per second over the window (every job is scraped once a second).
  samples=$(curl -fsG http://127.0.0.1:20090/api/v1/query --data-urlencode 'query=sum(avg_over_time(scrape_samples_scraped[30s]))' | sed -E 's/.*"value":\[[^,]*,"([^"]*)".*/\1/')
  rss=$(median <"$work/rss")
  rssmax=$(sort -n "$work/rss" | tail -1)
  cpu=$(echo "scale=3; ($c1 - $c0) / $clk / (($t1 - $t0) / 60)" | bc)
  # Every dashboard panel over the last minute, five times each: the sum of
  # the panels' median times (the process is still scraping).
  q=$("$work/benchquery" --url http://127.0.0.1:20090 --range 1m --repeat 5 | awk '$1=="sum_of_medians" {print $2}')
  printf 'load=%-5s impl=%-11s samples_s=%-7.0f rss_median_MiB=%-7.1f rss_max_MiB=%-7.1f cpu_s_per_min=%-7s panels_ms=%-7s ready_s=%.2f\n' \
    "$load" "$impl" "$samples" "$(echo "$rss/1024" | bc -l)" "$(echo "$rssmax/1024" | bc -l)" "$cpu" "$q" "$ready" | tee -a "$work/results"
  stop "$pid"
}

# ratios LOAD FIELD: tokenpath / Prometheus 3 for each adjacent pair of the
# A B B A sequence, as "median (min–max)".
ratios() {
  grep "^load=$1 " "$work/results" | grep -E 'impl=(tokenpath|prometheus3) ' |
    sed -E "s/.*impl=([a-z0-9]+) .*$2=([0-9.]+).*/\1 \2/" |
    awk 'NR%2==1 {i=$1; v=$2; next} { if (i=="tokenpath") r=v/$2; else r=$2/v; print r }' |
    sort -g | awk '{a[NR]=$1} END {m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); printf "%.2f (%.2f–%.2f, %d pairs)", m, a[1], a[NR], NR}'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); tokenpath $(git rev-parse --short HEAD); $("$PROM3" --version 2>&1 | head -1); ${PROM2:+$("$PROM2" --version 2>&1 | head -1)}"
echo "# warmup ${WARMUP}s, measure ${MEASURE}s, rounds $ROUNDS, loads: $LOADS; $(ls "$work/rules" | wc -l) rule files"
echo "# binary sizes (MiB): tokenpath $(du -m "$work/tokenpath" | cut -f1) (make build), prometheus3 $(du -mL "$PROM3" | cut -f1) (stripped)${PROM2:+, prometheus2 $(du -mL "$PROM2" | cut -f1)}"
for load in $LOADS; do
  load_targets "$load"
  write_configs "$targets"
  for _ in $(seq 1 "$ROUNDS"); do
    for impl in tokenpath prometheus3 prometheus3 tokenpath; do run_one "$load" "$impl"; done
  done
  [ -n "$PROM2" ] && run_one "$load" prometheus2
  if [ -n "${PROFILE_DIR:-}" ] && [ "$load" = 20k ]; then run_one "$load" tokenpath "$PROFILE_DIR"; fi
  for f in rss_median_MiB rss_max_MiB cpu_s_per_min panels_ms; do
    echo "ratio load=$load $f tokenpath/prometheus3 = $(ratios "$load" "$f")"
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done
