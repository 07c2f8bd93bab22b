#!/usr/bin/env bash
# The trend of the per-second RSS series that bench-vs-prometheus.sh keeps
# with RSS_SERIES_DIR: for each file, the median RSS of every 5-minute block
# and the least-squares slope over the whole window, in MiB.
#
#   scripts/bench-rss-trend.sh DIR/*.kib
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 FILE.kib..." >&2; exit 2; }
for f in "$@"; do
  awk -v name="$(basename "$f" .kib)" '
    function median(lo, hi,   i, j, m, x, a) {
      m = 0
      for (i = lo; i <= hi; i++) { # insertion sort: mawk has no asort
        x = v[i]
        for (j = m; j > 0 && a[j] > x; j--) a[j + 1] = a[j]
        a[j + 1] = x
        m++
      }
      return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    { v[NR] = $1 / 1024; sx += NR; sy += v[NR]; sxy += NR * v[NR]; sxx += NR * NR }
    END {
      n = NR
      printf "%s: %d s;", name, n
      for (b = 0; b * 300 < n; b++) {
        hi = (b + 1) * 300 < n ? (b + 1) * 300 : n
        printf " %d–%d min %.1f;", b * 5, (b + 1) * 5, median(b * 300 + 1, hi)
      }
      printf " slope %.2f MiB/min\n", (n > 1 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) * 60 : 0)
    }' "$f"
done
