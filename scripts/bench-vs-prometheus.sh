#!/usr/bin/env bash
# Side-by-side: tokenpath and Prometheus (Debian package) scraping the same
# targets at a 1 s interval, about 1,000 and about 20,000 samples per second.
# Prints steady-state RSS (median of 1 s samples) and CPU seconds per minute
# for each, cold start to ready, and binary sizes. Everything on 127.0.0.1.
#
#   scripts/bench-vs-prometheus.sh [warmup_seconds] [measure_seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
WARMUP=${1:-60}
MEASURE=${2:-120}
PROM=${PROM:-$(command -v prometheus)}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

export CGO_CFLAGS=-Wno-deprecated-declarations
go build -o "$work/tokenpath" ./cmd/tokenpath
go build -o "$work/benchtarget" ./scripts/benchtarget

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

wait_ready() { # url, pid
  local start=$(date +%s.%N)
  for _ in $(seq 1 600); do
    if curl -fs "$1/-/ready" >/dev/null 2>&1; then
      echo "$(date +%s.%N) - $start" | bc
      return 0
    fi
    kill -0 "$2" 2>/dev/null || { echo "process $2 died" >&2; return 1; }
    sleep 0.05
  done
  echo "not ready" >&2; return 1
}

run_case() { # name, series per target, targets
  local name=$1 series=$2 ntargets=$3 targets=""
  for i in $(seq 1 "$ntargets"); do
    port=$((20100 + i))
    "$work/benchtarget" --listen "127.0.0.1:$port" --series "$series" >/dev/null &
    pids+=($!)
    targets="$targets\"127.0.0.1:$port\","
  done
  cat >"$work/bench.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: bench
    static_configs:
      - targets: [${targets%,}]
YML
  # Prometheus scrapes its own /metrics too, as tokenpath's built-in job does,
  # so both store their own metrics on top of the same load.
  cp "$work/bench.yml" "$work/bench-prometheus.yml"
  cat >>"$work/bench-prometheus.yml" <<YML
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:20090"]
YML
  for impl in tokenpath prometheus; do
    rm -rf "$work/data-$impl"
    if [ "$impl" = tokenpath ]; then
      "$work/tokenpath" --config.file="$work/bench.yml" --web.listen-address=127.0.0.1:20090 \
        --storage.tsdb.path="$work/data-$impl" --no-rules.defaults --log.level=warn &
    else
      "$PROM" --config.file="$work/bench-prometheus.yml" --web.listen-address=127.0.0.1:20090 \
        --storage.tsdb.path="$work/data-$impl" --log.level=warn &
    fi
    local pid=$!
    pids+=($pid)
    local ready
    ready=$(wait_ready http://127.0.0.1:20090 "$pid")
    sleep "$WARMUP"
    local t0 c0
    t0=$(date +%s.%N); c0=$(cpu_ticks "$pid")
    : >"$work/rss"
    for _ in $(seq 1 "$MEASURE"); do rss_kib "$pid" >>"$work/rss"; sleep 1; done
    local t1 c1 samples
    t1=$(date +%s.%N); c1=$(cpu_ticks "$pid")
    # Samples per second: every job is scraped once a second.
    samples=$(curl -fsG http://127.0.0.1:20090/api/v1/query --data-urlencode 'query=sum(avg_over_time(scrape_samples_scraped[30s]))' | sed -E 's/.*"value":\[[^,]*,"([^"]*)".*/\1/')
    local rss cpu
    rss=$(median <"$work/rss")
    cpu=$(echo "scale=3; ($c1 - $c0) / $clk / (($t1 - $t0) / 60)" | bc)
    printf '%-10s %-11s samples/s=%-8.0f rss_median_MiB=%-7.1f cpu_s_per_min=%-7s ready_s=%.2f\n' \
      "$name" "$impl" "$samples" "$(echo "$rss/1024" | bc -l)" "$cpu" "$ready"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pids=()
}

echo "# $(date -u +%F) $(nproc) cores; tokenpath $(git rev-parse --short HEAD); $("$PROM" --version 2>&1 | head -1)"
echo "# binary sizes: tokenpath $(du -m "$work/tokenpath" | cut -f1) MiB, prometheus $(du -mL "$PROM" | cut -f1) MiB"
run_case "1k/s" 1000 1
run_case "20k/s" 5000 4
