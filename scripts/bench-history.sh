#!/usr/bin/env bash
# A week of history: writes it with scripts/backfill (Prometheus' TSDB and
# rule groups: raw series of the benchmark box at a 15 s scrape plus
# tokenpath's recorded series), then opens a copy of the same data directory
# with tokenpath and with Prometheus 3 (loaded with tokenpath's exported
# rules) and times every dashboard panel's range query at 24 h and 7 d
# (scripts/benchquery: median and p95 per panel), in the order tokenpath,
# Prometheus 3, Prometheus 3, tokenpath. From 6 h on the heatmaps and
# percentile charts read the 5 m long-range series as the UI and dashboards
# do; the 7 d range is also timed on the 1 m series (long-range=false), the
# cost without them. On tokenpath's runs scripts/benchpaint then opens the
# built-in UI in chromium at 24 h and 7 d and reads the first chart painted.
# Everything on 127.0.0.1.
#
#   scripts/bench-history.sh
#
# Environment (the full box is SERVERS=8 MODELS=16 DURATION=168h EVAL=15s;
# smaller values scale it down, and the run prints what it used):
#   SERVERS=8 MODELS=16 DURATION=168h SCRAPE=15s EVAL=15s REPEAT=7
#   DATA=DIR   reuse a history written before (DIR/data, DIR/END: its end time);
#              when DIR/data does not exist, the history is written there and kept
#   PORT=20090 where the server under test listens
#   TOKENPATH=BIN  a tokenpath built before (default: make build)
#   PAINT_REPEAT=3 page loads per page and range for benchpaint (0: none)
#   BACKFILL_RULES='*.yml'  glob of the exported rule files the history is
#              written with; '[tgl]*.rules.yml' (token_path, gpu, longrange)
#              holds every series a panel reads, without the diagnosis
#              group's 6 h knee subqueries, which dominate a backfill
set -euo pipefail
cd "$(dirname "$0")/.."
SERVERS=${SERVERS:-8}
MODELS=${MODELS:-16}
DURATION=${DURATION:-168h}
SCRAPE=${SCRAPE:-15s}
EVAL=${EVAL:-15s}
REPEAT=${REPEAT:-7}
PORT=${PORT:-20090}
PAINT_REPEAT=${PAINT_REPEAT:-3}
BACKFILL_RULES=${BACKFILL_RULES:-*.yml}
. scripts/bench-common.sh
bench_build benchtarget benchquery backfill benchpaint

if [ -z "${DATA:-}" ] || [ ! -d "$DATA/data" ]; then
  # The series come from the live targets: one vLLM model and the GPU box,
  # after 30 s of simulated traffic.
  "$work/benchtarget" --listen 127.0.0.1:$((PORT+201)) --vllm-models 1 >/dev/null & pids+=($!)
  "$work/tokenpath" export gpu --simulate --listen 127.0.0.1:$((PORT+202)) >/dev/null 2>&1 & pids+=($!)
  sleep 30
  curl -fs 127.0.0.1:$((PORT+201))/metrics >"$work/vllm.txt"
  curl -fs 127.0.0.1:$((PORT+202))/metrics >"$work/gpu.txt"
  DATA=${DATA:-$work/history}
  date +%s >"$work/END"
  "$work/backfill" --out "$DATA/data" --vllm "$work/vllm.txt" --gpu "$work/gpu.txt" --servers "$SERVERS" --models "$MODELS" \
    --duration "$DURATION" --scrape-interval "$SCRAPE" --eval-interval "$EVAL" --end "$(cat "$work/END")" --rules "$work/rules/$BACKFILL_RULES"
  cp "$work/END" "$DATA/END"
fi
END=$(cat "$DATA/END")

cat >"$work/empty.yml" <<YML
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs: []
YML
cp "$work/empty.yml" "$work/prometheus.yml"
echo "rule_files: [\"$work/rules/*.yml\"]" >>"$work/prometheus.yml"

echo "# $(date -u +%FT%TZ) $(nproc) cores; tokenpath $(git rev-parse --short HEAD); $("$PROM3" --version 2>&1 | head -1)"
echo "# history: $(du -sh "$DATA/data" | cut -f1), servers=$SERVERS models=$MODELS duration=$DURATION scrape=$SCRAPE eval=$EVAL end=$END"
for impl in tokenpath prometheus3 prometheus3 tokenpath; do
  rm -rf "$work/copy"
  cp -r "$DATA/data" "$work/copy"
  if [ "$impl" = tokenpath ]; then
    "$work/tokenpath" --config.file="$work/empty.yml" --web.listen-address=127.0.0.1:$PORT --storage.tsdb.path="$work/copy" --log.level=warn &
  else
    "$PROM3" --config.file="$work/prometheus.yml" --web.listen-address=127.0.0.1:$PORT --storage.tsdb.path="$work/copy" --log.level=warn &
  fi
  pid=$!
  pids+=("$pid")
  wait_ready http://127.0.0.1:$PORT "$pid" >/dev/null
  sleep 20 # start-up compaction and the first rule evaluations
  for r in 24h 168h 168h-1m; do
    echo "## $impl range=$r"
    lr=true
    if [ "$r" = 168h-1m ]; then r=168h; lr=false; fi
    "$work/benchquery" --url http://127.0.0.1:$PORT --range "$r" --end "$END" --repeat "$REPEAT" --long-range=$lr
  done
  if [ "$impl" = tokenpath ] && [ "$PAINT_REPEAT" -gt 0 ]; then
    echo "## $impl first chart painted"
    "$work/benchpaint" --url http://127.0.0.1:$PORT --ranges 24h,7d --repeat "$PAINT_REPEAT"
  fi
  kill "$pid"
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
