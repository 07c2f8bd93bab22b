#!/usr/bin/env bash
# Remote write volume of one tokenpath under --demo: samples/s and bytes per
# sample sent, measured by tokenpath's own queue-manager metrics, with Debian's
# Prometheus (/usr/bin/prometheus) as the receiver on loopback.
# Usage: scripts/bench-remote-write.sh [warmup_s] [measure_s]
set -euo pipefail
cd "$(dirname "$0")/.."
warmup=${1:-120}
measure=${2:-120}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/tokenpath" ./cmd/tokenpath
printf 'global:\n  scrape_interval: 1m\n' >"$work/prometheus.yml"
/usr/bin/prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
  --web.listen-address=127.0.0.1:19190 --web.enable-remote-write-receiver >"$work/prom.log" 2>&1 &
pids+=($!)
cat >"$work/tokenpath.yml" <<YAML
global:
  scrape_interval: 15s        # the defaults of --demo without a file
  evaluation_interval: 15s
  external_labels: {host: bench-box}
remote_write:
  - url: http://127.0.0.1:19190/api/v1/write
YAML
"$work/tokenpath" --demo --config.file="$work/tokenpath.yml" --storage.tsdb.path="$work/tp" \
  --web.listen-address=127.0.0.1:19191 >"$work/tp.log" 2>&1 &
pids+=($!)
sleep "$warmup"
sleep "$measure"

q() { # q SERVER QUERY: the single value of an instant query
  curl -fsS "http://$1/api/v1/query" --data-urlencode "query=$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}
w="${measure}s"
tp=127.0.0.1:19191
samples=$(q $tp "sum(rate(prometheus_remote_storage_samples_total[$w]))")
histograms=$(q $tp "sum(rate(prometheus_remote_storage_histograms_total[$w]))")
bytes=$(q $tp "sum(rate(prometheus_remote_storage_bytes_total[$w]))")
echo "samples/s sent:          $samples"
echo "native histograms/s:     $histograms"
echo "bytes/s sent:            $bytes"
python3 -c "print('bytes per sample:       ', round($bytes / ($samples + $histograms), 2))"
echo "series at the receiver:  $(q 127.0.0.1:19190 'count({host="bench-box"})')"
echo "tokenpath:* series:      $(q 127.0.0.1:19190 'count({__name__=~"tokenpath:.+",host="bench-box"})')"
raw() { # raw SELECTOR: raw samples per second of SELECTOR at the receiver over the window
  curl -fsS "http://127.0.0.1:19190/api/v1/query" --data-urlencode "query=$1[$w]" |
    python3 -c "import json,sys; r=json.load(sys.stdin)['data']['result']; print(round(sum(len(s['values']) for s in r) / $measure, 1))"
}
echo "samples/s at receiver:   $(raw '{host="bench-box"}')"
echo "tokenpath:* samples/s:   $(raw '{__name__=~"tokenpath:.+",host="bench-box"}')"
echo "tokenpath RSS:           $(grep VmRSS /proc/"${pids[1]}"/status)"
