#!/usr/bin/env bash
# A week of history: writes it with scripts/backfill (Prometheus' TSDB and
# rule groups: raw series of the benchmark box at a 15 s scrape plus
# tokenpath's recorded series), then opens a copy of the same data directory
# with tokenpath and with Prometheus 3 (loaded with tokenpath's exported
# rules) and times every dashboard panel's range query at 24 h and 7 d
# (scripts/benchquery: median and p95 per panel). By default both servers run
# at once, each on its own copy, and benchquery --against asks them in one
# loop, alternating which goes first, so the machine's load falls on both
# alike; SIDE_BY_SIDE=0 runs them one after the other instead, in the order
# tokenpath, Prometheus 3, Prometheus 3, tokenpath. From 6 h on the heatmaps and
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
#   PORT=20090 where the server under test listens (side by side: tokenpath
#              on PORT, Prometheus 3 on PORT+1)
#   SIDE_BY_SIDE=1  both at once, queries interleaved (0: one after the other)
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
SIDE_BY_SIDE=${SIDE_BY_SIDE:-1}
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
  wrote="written now: servers=$SERVERS models=$MODELS duration=$DURATION scrape=$SCRAPE eval=$EVAL rules=$BACKFILL_RULES"
fi
END=$(cat "$DATA/END")

cat >"$work/tokenpath.yml" <<YML
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs: []
YML
cp "$work/tokenpath.yml" "$work/prometheus.yml"
echo "rule_files: [\"$work/rules/*.yml\"]" >>"$work/prometheus.yml"

echo "# $(date -u +%FT%TZ) $(nproc) cores; tokenpath $(git rev-parse --short HEAD); $("$PROM3" --version 2>&1 | head -1)"
echo "# history: $(du -sh "$DATA/data" | cut -f1) in $DATA, end=$END; ${wrote:-reused: its parameters are those of the run that wrote it}"
# start IMPL PORT: opens a fresh copy of the history with IMPL on PORT and
# sets pid.
start() {
  rm -rf "$work/copy-$2"
  cp -r "$DATA/data" "$work/copy-$2"
  start_server "$1" "$2" "$work/copy-$2"
  wait_ready http://127.0.0.1:$2 "$pid" >/dev/null
}

# same_blocks DIR DIR: waits (at most 3 minutes) until both copies hold
# blocks of the same time ranges. The first commit after opening (a self-scrape, a rule's output,
# both at the present time) makes the head older than 1.5 block ranges and
# compacts it into one more block; until both programs have done so, one reads
# the history's last hours from a block and the other from its head, and that
# difference, not the program, would set the end of the range's cost.
same_blocks() {
  # A block's own range is the first minTime/maxTime of its meta.json (its
  # compaction parents' follow).
  block_ranges() {
    awk -F'[:,]' 'FNR == 1 {lo = ""; hi = ""}
      /"minTime"/ && lo == "" {lo = $2 + 0}
      /"maxTime"/ && hi == "" {hi = $2 + 0; printf "%.0f-%.0f\n", lo, hi}' "$1"/01*/meta.json | sort | tr '\n' ' '
  }
  local a b
  for _ in $(seq 1 36); do
    a=$(block_ranges "$1")
    b=$(block_ranges "$2")
    if [ "$a" = "$b" ]; then
      echo "# both copies hold blocks of the same time ranges ($(wc -w <<<"$a") blocks)"
      return 0
    fi
    sleep 5
  done
  echo "# the copies still hold different blocks after 3 minutes: $a | $b"
}

# query_ranges URL [--against URL]: every panel at 24 h and 7 d, and 7 d on
# the 1 m series (long-range=false).
query_ranges() {
  for r in 24h 168h 168h-1m; do
    echo "## range=$r"
    lr=true
    if [ "$r" = 168h-1m ]; then r=168h; lr=false; fi
    "$work/benchquery" --url "$@" --range "$r" --end "$END" --repeat "$REPEAT" --long-range=$lr
  done
}

paint() {
  if [ "$PAINT_REPEAT" -gt 0 ]; then
    echo "## tokenpath first chart painted"
    "$work/benchpaint" --url "$1" --ranges 24h,7d --repeat "$PAINT_REPEAT"
  fi
}

if [ "$SIDE_BY_SIDE" = 1 ]; then
  echo "# side by side: a = tokenpath on $PORT, b = Prometheus 3 on $((PORT+1)), each on its own copy"
  start tokenpath "$PORT"; tp=$pid
  start prometheus3 "$((PORT+1))"; p3=$pid
  sleep 20 # start-up compaction and the first rule evaluations
  same_blocks "$work/copy-$PORT" "$work/copy-$((PORT+1))"
  query_ranges http://127.0.0.1:$PORT --against http://127.0.0.1:$((PORT+1))
  stop_server "$p3"
  paint http://127.0.0.1:$PORT
  stop_server "$tp"
  exit 0
fi
for impl in tokenpath prometheus3 prometheus3 tokenpath; do
  echo "# $impl"
  start "$impl" "$PORT"
  sleep 20 # start-up compaction and the first rule evaluations
  query_ranges http://127.0.0.1:$PORT
  if [ "$impl" = tokenpath ]; then paint http://127.0.0.1:$PORT; fi
  stop_server "$pid"
done
