#!/usr/bin/env bash
# Soak: tokenpath --demo plus a target of ~15k series and 500 churning series
# (new ones every minute), scraped every second (~20k samples/s), for
# DURATION seconds, killed with SIGKILL at random moments and restarted on the
# same data directory. Every SAMPLE seconds it records RSS, goroutines, open
# file descriptors, head series and the ingestion rate. It fails when
#   - goroutines or open fds in the last quarter of the run exceed those of the
#     second quarter by more than 25% (+10): growth that does not level off;
#   - median RSS in the last quarter exceeds the second quarter's by 50%;
#   - a restart after SIGKILL lost a sample that a query had returned before
#     the kill (count_over_time of one series, evaluated at the same instant,
#     must not drop).
# Head series are recorded but not judged: churned series stay in the head
# until its next compaction (every 2 h of data), so they grow within an hour
# by design.
#
#   scripts/soak.sh [DURATION_s=3600] [OUT=artifacts/soak]
#   SAMPLE=10 KILL_MIN=600 KILL_MAX=1200 SERIES=15000 CHURN=500 scripts/soak.sh
#
# Writes OUT/samples.csv, OUT/kills.csv, OUT/soak.png (gnuplot) and
# OUT/summary.md. Everything listens on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-3600}
OUT=${2:-artifacts/soak}
SAMPLE=${SAMPLE:-10}
KILL_MIN=${KILL_MIN:-600}
KILL_MAX=${KILL_MAX:-1200}
SERIES=${SERIES:-15000}
CHURN=${CHURN:-500}

for tool in curl gnuplot python3; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is missing: apt-get install -y curl gnuplot-nox python3" >&2; exit 1; }
done

mkdir -p "$OUT"
work=$(mktemp -d)
tp_pid=""
bt_pid=""
cleanup() {
  [ -n "$tp_pid" ] && kill "$tp_pid" 2>/dev/null || true
  [ -n "$bt_pid" ] && kill "$bt_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

export CGO_CFLAGS=-Wno-deprecated-declarations
go build -o "$work/tokenpath" ./cmd/tokenpath
go build -o "$work/benchtarget" ./scripts/benchtarget

bt_port=$(free_port)
"$work/benchtarget" --listen "127.0.0.1:$bt_port" --series "$SERIES" --churn "$CHURN" --churn-every 1m >"$work/benchtarget.log" 2>&1 &
bt_pid=$!

tp_port=$(free_port)
url="http://127.0.0.1:$tp_port"
cat >"$work/tokenpath.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 5s
scrape_configs:
  - job_name: soak
    static_configs:
      - targets: ["127.0.0.1:$bt_port"]
EOF

start_tokenpath() {
  "$work/tokenpath" --demo --config.file="$work/tokenpath.yml" \
    --web.listen-address="127.0.0.1:$tp_port" --storage.tsdb.path="$work/data" \
    --log.level=warn >>"$OUT/tokenpath.log" 2>&1 &
  tp_pid=$!
  for _ in $(seq 1 1200); do
    curl -fs "$url/-/ready" >/dev/null 2>&1 && return 0
    kill -0 "$tp_pid" 2>/dev/null || { echo "soak: tokenpath exited; see $OUT/tokenpath.log" >&2; return 1; }
    sleep 0.1
  done
  echo "soak: tokenpath not ready after 120 s" >&2
  return 1
}

# metric NAME: the value of one unlabelled series on tokenpath's /metrics.
metric() { curl -fs "$url/metrics" | awk -v n="$1" '$1 == n {print $2; exit}'; }
# instant QUERY TIME: the first value of an instant query, or "".
instant() {
  curl -fs --get "$url/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}

: >"$OUT/tokenpath.log"
echo "elapsed_s,pid,rss_mib,goroutines,open_fds,head_series,samples_per_s" >"$OUT/samples.csv"
echo "elapsed_s,eval_time,count_before,count_after,restart_to_ready_s" >"$OUT/kills.csv"
start_tokenpath
t0=$(date +%s)
next_kill=$((t0 + KILL_MIN + RANDOM % (KILL_MAX - KILL_MIN + 1)))
marker='count_over_time(bench_value{series="0"}[3h])'
failed=0

while :; do
  now=$(date +%s)
  elapsed=$((now - t0))
  [ "$elapsed" -ge "$DURATION" ] && break
  if [ "$now" -ge "$next_kill" ]; then
    eval_at=$((now - 5))
    before=$(instant "$marker" "$eval_at")
    kill -9 "$tp_pid"
    wait "$tp_pid" 2>/dev/null || true
    r0=$(date +%s.%N)
    start_tokenpath
    ready=$(python3 -c "import time; print(round(time.time() - $r0, 2))")
    after=$(instant "$marker" "$eval_at")
    echo "$elapsed,$eval_at,$before,$after,$ready" >>"$OUT/kills.csv"
    if [ -z "$after" ] || ! python3 -c "import sys; sys.exit(0 if float('$after') >= float('${before:-0}') else 1)"; then
      echo "soak: samples lost across SIGKILL at ${elapsed}s: $before before, ${after:-none} after" >&2
      failed=1
    fi
    next_kill=$(( $(date +%s) + KILL_MIN + RANDOM % (KILL_MAX - KILL_MIN + 1) ))
  fi
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$tp_pid/status" 2>/dev/null || echo "")
  fds=$(ls "/proc/$tp_pid/fd" 2>/dev/null | wc -l)
  gor=$(metric go_goroutines || echo "")
  head=$(metric prometheus_tsdb_head_series || echo "")
  rate=$(instant 'rate(prometheus_tsdb_head_samples_appended_total[1m])' "$now" 2>/dev/null || echo "")
  echo "$elapsed,$tp_pid,$rss,$gor,$fds,$head,$rate" >>"$OUT/samples.csv"
  sleep "$SAMPLE"
done

# Judge growth: the last quarter against the second quarter of the run.
python3 - "$OUT" "$DURATION" <<'PY' || failed=1
import csv, statistics, sys
out, duration = sys.argv[1], float(sys.argv[2])
rows = [r for r in csv.DictReader(open(f"{out}/samples.csv")) if all(r[k] for k in ("rss_mib", "goroutines", "open_fds"))]
q2 = [r for r in rows if duration * 0.25 <= float(r["elapsed_s"]) < duration * 0.5]
q4 = [r for r in rows if float(r["elapsed_s"]) >= duration * 0.75]
if not q2 or not q4:
    print("soak: too few samples to judge growth"); sys.exit(1)
col = lambda rs, k: [float(r[k]) for r in rs]
ok = True
lines = []
for k in ("goroutines", "open_fds"):
    a, b = max(col(q2, k)), max(col(q4, k))
    good = b <= a * 1.25 + 10
    ok &= good
    lines.append(f"| {k} (max) | {a:.0f} | {b:.0f} | {'levels off' if good else 'GROWS'} |")
a, b = statistics.median(col(q2, "rss_mib")), statistics.median(col(q4, "rss_mib"))
# RSS follows the TSDB head, which grows with every new series and sample
# until its first compaction (2 h of data, at 3 h of head) and only then
# frees what it wrote to a block. A process that lived less than that cannot
# show memory levelling off: its growth rate is reported, not judged.
segments = {}
for r in rows:
    segments.setdefault(r["pid"], []).append((float(r["elapsed_s"]), float(r["rss_mib"])))
longest = max((seg[-1][0] - seg[0][0] for seg in segments.values()), default=0)
slopes = []
for seg in segments.values():
    half = [p for p in seg if p[0] >= (seg[0][0] + seg[-1][0]) / 2]
    if len(half) >= 2 and half[-1][0] > half[0][0]:
        slopes.append((half[-1][1] - half[0][1]) / ((half[-1][0] - half[0][0]) / 60))
slope = f"{statistics.median(slopes):.1f} MiB/min in the second half of each process' life" if slopes else "n/a"
if longest >= 3 * 3600:
    good = b <= a * 1.5
    ok &= good
    verdict = "levels off" if good else "GROWS"
else:
    verdict = f"not judged: longest process life {longest/60:.0f} min < 3 h (no head compaction); grows {slope}"
lines.append(f"| RSS MiB (median) | {a:.1f} | {b:.1f} | {verdict} |")
hs = [r for r in rows if r["head_series"]]
a = max(col([r for r in hs if r in q2], "head_series") or [0]); b = max(col([r for r in hs if r in q4], "head_series") or [0])
lines.append(f"| head series (max) | {a:.0f} | {b:.0f} | not judged (churn stays in the head until compaction) |")
rates = [float(r["samples_per_s"]) for r in rows if r["samples_per_s"]]
with open(f"{out}/summary.md", "w") as f:
    f.write(f"Soak of {duration/60:.0f} min, one sample every few seconds ({len(rows)} samples); ingestion median {statistics.median(rates) if rates else 0:.0f} samples/s.\n\n")
    f.write("| quantity | 2nd quarter | last quarter | verdict |\n|---|---|---|---|\n")
    f.write("\n".join(lines) + "\n\n")
    kills = list(csv.DictReader(open(f"{out}/kills.csv")))
    f.write(f"SIGKILL restarts: {len(kills)}; samples counted before/after each: " +
            ", ".join(f"{k['count_before']}→{k['count_after']} (ready in {k['restart_to_ready_s']} s)" for k in kills) + "\n")
print(open(f"{out}/summary.md").read())
sys.exit(0 if ok else 1)
PY

kill_lines=$(awk -F, 'NR > 1 {printf "set arrow from %f, graph 0 to %f, graph 1 nohead lc rgb \"#c0392b\" dt 2\n", $1/60, $1/60}' "$OUT/kills.csv")
gnuplot <<EOF
set terminal pngcairo size 1200,900 font ",10"
set output "$OUT/soak.png"
set datafile separator ","
set key off
set xlabel "minutes (dashed: SIGKILL and restart)"
set multiplot layout 2,2 title "tokenpath soak: --demo + $SERIES series + $CHURN churning/min, 1 s scrape"
$kill_lines
set title "RSS (MiB)"
plot "$OUT/samples.csv" every ::1 using (\$1/60):3 with lines lw 2
set title "goroutines"
plot "$OUT/samples.csv" every ::1 using (\$1/60):4 with lines lw 2
set title "open file descriptors"
plot "$OUT/samples.csv" every ::1 using (\$1/60):5 with lines lw 2
set title "head series"
plot "$OUT/samples.csv" every ::1 using (\$1/60):6 with lines lw 2
unset multiplot
EOF

if [ "$failed" -ne 0 ]; then
  echo "soak: FAILED (see $OUT/summary.md)" >&2
  exit 1
fi
echo "soak: passed; $OUT/summary.md, $OUT/soak.png"
