#!/usr/bin/env bash
# Start-up and recovery: tokenpath scrapes the benchmark box (go-nvml's
# simulated 8-GPU exporter and 8 simulated vLLM servers × MODELS models, 1 s
# scrape, its embedded rules) for RUN seconds, then stops (clean: SIGTERM,
# head written out as a checkpoint-less WAL + head chunks; or SIGKILL: WAL
# replay). Each stopped data directory is copied four times and opened by
# tokenpath, Prometheus 3, Prometheus 3, tokenpath (the same data, both
# orders): the time from exec to /-/ready answering 200. Everything on
# 127.0.0.1.
#
#   scripts/bench-startup.sh            # RUN=600 MODELS=16
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-600}
MODELS=${MODELS:-16}
PORT=${PORT:-20090}
TBASE=${TBASE:-20200} # the targets listen on TBASE … TBASE+8
. scripts/bench-common.sh
bench_build benchtarget

"$work/tokenpath" export gpu --simulate --listen 127.0.0.1:$TBASE >/dev/null 2>&1 & pids+=($!)
targets="\"127.0.0.1:$TBASE\""
for i in $(seq 1 8); do
  "$work/benchtarget" --listen "127.0.0.1:$((TBASE + i))" --vllm-models "$MODELS" --seed "$i" >/dev/null & pids+=($!)
  targets="$targets,\"127.0.0.1:$((TBASE + i))\""
done
write_bench_configs "$targets"

ready_time() { # impl, data dir: seconds from exec to ready (nothing if it died)
  start_server "$1" "$PORT" "$2"
  wait_ready "http://127.0.0.1:$PORT" "$pid" || true
  stop_server "$pid"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; tokenpath $(git rev-parse --short HEAD); $("$PROM3" --version 2>&1 | head -1); load: 8 GPUs + 8 servers × $MODELS models, ${RUN}s of scraping before the stop"
for how in TERM KILL; do
  rm -rf "$work/data"
  start_server tokenpath "$PORT" "$work/data"
  sleep "$RUN"
  samples=$(curl -fsG http://127.0.0.1:$PORT/api/v1/query --data-urlencode 'query=sum(avg_over_time(scrape_samples_scraped[30s]))' | sed -E 's/.*"value":\[[^,]*,"([^"]*)".*/\1/')
  stop_server "$pid" "$how"
  echo "## after SIG$how: samples/s $samples, WAL $(du -sh "$work/data/wal" | cut -f1), head chunks $(du -sh "$work/data/chunks_head" 2>/dev/null | cut -f1)"
  for impl in tokenpath prometheus3 prometheus3 tokenpath; do
    rm -rf "$work/copy"
    cp -r "$work/data" "$work/copy"
    printf '%s ready_s=%s\n' "$impl" "$(ready_time "$impl" "$work/copy")"
  done
done
