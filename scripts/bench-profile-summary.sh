#!/usr/bin/env bash
# Summarises the profiles bench-vs-prometheus.sh writes with PROFILE_DIR (for
# each LOAD-IMPL: .heap.pb.gz, .cpu.pb.gz, .metrics.txt, .status.txt, .smaps.txt)
# side by side, one column per program:
#   - RSS split: anonymous against file-backed, and how much of it is the
#     mapped executable;
#   - Go runtime figures from /metrics (go_memstats_*, go_gc_*);
#   - heap in use (inuse_space) and allocated since start (alloc_space) by
#     component;
#   - CPU by component.
# Each heap or CPU sample is put in the first component whose pattern matches
# any frame of its stack (patterns in order, leaf frames first), so the
# components add up to the profile's total.
#
#   scripts/bench-profile-summary.sh DIR [LOAD]
set -euo pipefail
dir=$1
load=${2:-}
cd "$(dirname "$0")/.."

# classify KIND FILE: "component<TAB>bytes-or-ns" per component.
classify() {
  local index
  case $1 in heap) index=inuse_space ;; alloc) index=alloc_space ;; cpu) index=cpu ;; esac
  go tool pprof -traces -sample_index="$index" "$2" 2>/dev/null | awk -v kind="${1/alloc/heap}" '
    function unit(v,   n, u) {
      n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
      if (u == "kB") n *= 1024; else if (u == "MB") n *= 1048576; else if (u == "GB") n *= 1073741824
      else if (u == "ms") n *= 1e6; else if (u == "s") n *= 1e9; else if (u == "us") n *= 1e3
      return n
    }
    BEGIN {
      if (kind == "heap") {
        n = split("profiling (pprof buffers)|runtime/pprof\\." \
          ";head: memSeries and the series hash map|tsdb\\.newMemSeries|[Ss]tripeSeries" \
          ";head: in-memory chunks|chunkenc\\.|cutNewHeadChunk|memSeries\\)\\.append" \
          ";head: postings index|MemPostings|tsdb/index\\." \
          ";head chunk file write buffer|ChunkDiskMapper" \
          ";WAL|tsdb/wlog\\.|tsdb/record\\.|headAppender[A-Za-z]*\\)\\.log|\\(\\*Head\\)\\.Init" \
          ";exemplar storage|[Ee]xemplar" \
          ";series labels built by scrape|model/labels\\..*prometheus/scrape\\." \
          ";series labels built by rules|model/labels\\..*prometheus/rules\\." \
          ";scrape cache|scrapeCache" \
          ";scrape loops and buffers|prometheus/prometheus/scrape\\." \
          ";rule evaluation (PromQL, rule state)|prometheus/prometheus/rules\\.|prometheus/prometheus/promql" \
          ";TSDB, other|prometheus/prometheus/tsdb" \
          ";remote write, fanout|storage/remote|storage\\.\\(\\*fanout" \
          ";tokenpath GPU collector (go-nvml)|go-nvml|token-path-observability/gpu" \
          ";tokenpath own (web UI, probes, SLOs, server)|token-path-observability" \
          ";HTTP server, API|web/api|net/http|labstack/echo" \
          ";client_golang registries|client_golang" \
          ";package init (static tables)|\\.init(\\.|$| )|runtime\\.doInit", rules, ";")
      } else {
        n = split("garbage collector|runtime\\.gcBgMarkWorker|runtime\\.bgsweep|runtime\\.bgscavenge|runtime\\.gcAssistAlloc|runtime\\.gcStart" \
          ";scrape (parse, append, commit)|prometheus/prometheus/scrape\\." \
          ";rule evaluation|prometheus/prometheus/rules\\." \
          ";TSDB background (head GC, compaction, WAL)|prometheus/prometheus/tsdb" \
          ";tokenpath GPU collector (go-nvml)|go-nvml|token-path-observability/gpu" \
          ";tokenpath own|token-path-observability" \
          ";HTTP server (self-scrape, API, pprof)|net/http|labstack/echo|web/api" \
          ";runtime scheduler, syscalls|runtime\\.(mcall|schedule|findRunnable|park_m|goexit|mstart)|syscall\\.", rules, ";")
      }
      for (i = 1; i <= n; i++) { split(rules[i], p, "|"); name[i] = p[1]; pat[i] = substr(rules[i], length(p[1]) + 2) }
    }
    function flush(   i) {
      if (stack == "") return
      for (i = 1; i <= n; i++) if (stack ~ pat[i]) { sum[name[i]] += val; total += val; stack = ""; return }
      sum["other"] += val; total += val; stack = ""
    }
    /^-+\+-+/ { flush(); next }
    /^ +[0-9.]+[a-zA-Z]* +[^ ]/ && stack == "" { val = unit($1); stack = " " $2; next }
    /^ +[^ ]/ && stack != "" { stack = stack " " $1; next }
    END {
      flush()
      for (i = 1; i <= n; i++) printf "%s\t%.0f\n", name[i], sum[name[i]]
      printf "other\t%.0f\n", sum["other"]
      printf "total\t%.0f\n", total
    }'
}

metric() { awk -v m="$1" '$1 == m {printf "%.0f", $2}' "$2"; }
kib() { awk -v k="$1:" '$1 == k {print $2}' "$2"; }
# exe_rss SMAPS: KiB of the executable's own mappings that are resident.
exe_rss() {
  awk 'NR == 1 {exe = $6} /^[0-9a-f]+-[0-9a-f]+ / {cur = $6} /^Rss:/ && cur == exe {s += $2} END {print s + 0}' "$1"
}
mib() { awk -v v="$1" -v d="$2" 'BEGIN {printf "%.1f", v / d}'; }

runs=()
for f in "$dir"/${load:-*}-*.status.txt; do runs+=("${f%.status.txt}"); done
printf '| |'; for r in "${runs[@]}"; do printf ' %s |' "$(basename "$r")"; done; echo
printf '|---|'; for _ in "${runs[@]}"; do printf -- '---|'; done; echo
row() { local label=$1; shift; printf '| %s |' "$label"; for v in "$@"; do printf ' %s |' "$v"; done; echo; }

vals=(); for r in "${runs[@]}"; do vals+=("$(mib "$(kib VmRSS "$r.status.txt")" 1024)"); done; row "VmRSS (MiB)" "${vals[@]}"
vals=(); for r in "${runs[@]}"; do vals+=("$(mib "$(kib RssAnon "$r.status.txt")" 1024)"); done; row "of which anonymous (MiB)" "${vals[@]}"
vals=(); for r in "${runs[@]}"; do vals+=("$(mib "$(kib RssFile "$r.status.txt")" 1024)"); done; row "of which file-backed (MiB)" "${vals[@]}"
vals=(); for r in "${runs[@]}"; do vals+=("$(mib "$(exe_rss "$r.smaps.txt")" 1024)"); done; row "of which the mapped executable (MiB)" "${vals[@]}"
for m in heap_inuse heap_idle heap_released stack_inuse sys next_gc; do
  vals=(); for r in "${runs[@]}"; do vals+=("$(mib "$(metric "go_memstats_${m}_bytes" "$r.metrics.txt")" 1048576)"); done
  row "go_memstats_${m}_bytes (MiB)" "${vals[@]}"
done
vals=(); for r in "${runs[@]}"; do vals+=("$(metric go_gc_duration_seconds_count "$r.metrics.txt")"); done; row "GC cycles since start" "${vals[@]}"
vals=(); for r in "${runs[@]}"; do vals+=("$(metric go_gc_gogc_percent "$r.metrics.txt")"); done; row "GOGC" "${vals[@]}"
vals=(); for r in "${runs[@]}"; do vals+=("$(metric go_goroutines "$r.metrics.txt")"); done; row "goroutines" "${vals[@]}"
vals=(); for r in "${runs[@]}"; do vals+=("$(metric prometheus_tsdb_head_series "$r.metrics.txt")"); done; row "head series" "${vals[@]}"

for kind in heap alloc cpu; do
  declare -A table=()
  names=()
  for i in "${!runs[@]}"; do
    while IFS=$'\t' read -r name v; do
      [ -n "${table[$name,0]+x}${table[$name,1]+x}${table[$name,2]+x}${table[$name,3]+x}" ] || names+=("$name")
      table[$name,$i]=$v
    done < <(classify "$kind" "${runs[$i]}.${kind/alloc/heap}.pb.gz")
  done
  echo
  case $kind in
    heap) echo "heap in use by component (MiB, sampled, as of the last GC)" ;;
    alloc) echo "allocated since start by component (MiB, sampled)" ;;
    cpu) echo "CPU by component (s in the 30 s profile)" ;;
  esac
  for name in "${names[@]}"; do
    vals=()
    for i in "${!runs[@]}"; do
      if [ "$kind" != cpu ]; then vals+=("$(mib "${table[$name,$i]:-0}" 1048576)"); else vals+=("$(mib "${table[$name,$i]:-0}" 1e9)"); fi
    done
    row "$name" "${vals[@]}"
  done
  unset table
done
