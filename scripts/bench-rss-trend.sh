#!/usr/bin/env bash
# The trend of the per-second RSS series that bench-vs-prometheus.sh keeps
# with RSS_SERIES_DIR: for each file, the median RSS of every 5-minute block
# and the least-squares slope over the whole window, in MiB.
#
#   scripts/bench-rss-trend.sh DIR/*.kib
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 FILE.kib..." >&2; exit 2; }
. "$(dirname "$0")/bench-common.sh" # median
for f in "$@"; do
  n=$(wc -l <"$f")
  line="$(basename "$f" .kib): $n s;"
  for ((b = 0; b * 300 < n; b++)); do
    mib=$(sed -n "$((b * 300 + 1)),$(((b + 1) * 300))p" "$f" | median | awk '{printf "%.1f", $1 / 1024}')
    line="$line $((b * 5))–$(((b + 1) * 5)) min $mib;"
  done
  slope=$(awk '{ y = $1 / 1024; sx += NR; sy += y; sxy += NR * y; sxx += NR * NR }
    END { printf "%.2f", (NR > 1 ? (NR * sxy - sx * sy) / (NR * sxx - sx * sx) * 60 : 0) }' "$f")
  echo "$line slope $slope MiB/min"
done
