package web

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// diagExposition is fullExposition with the series of a diagnosed row, as
// the diagnosis, lifecycle, KV-knee, energy and GPU-mapping rules record
// them (rules/README.md): the vLLM row is kv_cache_pressure, its numbers
// do not add up, GPU 1 serves it; the TGI server is remote and its TPOT
// p99 lies past its histogram's last finite bucket (100 ms). The vLLM ITL
// histogram has empty buckets up to 16 min, which the heatmap must not show.
func diagExposition(load float64) string {
	var b strings.Builder
	b.WriteString(fullExposition(load))
	vllm := `server="vllm",model="llama-3-8b",instance="127.0.0.1:8000",job="vllm"`
	tgi := `server="tgi",model="",instance="127.0.0.1:8080",job="tgi"`
	fmt.Fprintf(&b, "tokenpath:diagnosis{%s,cause=\"kv_cache_pressure\"} 1\n", vllm)
	fmt.Fprintf(&b, "tokenpath:diagnosis{%s,cause=\"none\"} 0\n", vllm)
	fmt.Fprintf(&b, "tokenpath:diagnosis_tail:ratio{%s} 1.8\n", vllm)
	fmt.Fprintf(&b, "tokenpath:diagnosis_queue_share:ratio{%s} 0.6\n", vllm)
	for phase, v := range map[string]float64{"front": 0.05, "queue": 0.3, "prefill": 0.15, "decode": 2.5} {
		fmt.Fprintf(&b, "tokenpath:lifecycle:seconds{%s,phase=%q} %g\n", vllm, phase, v)
	}
	fmt.Fprintf(&b, "tokenpath:lifecycle_consistency:ratio{%s} 1.4\n", vllm)
	fmt.Fprintf(&b, "tokenpath:lifecycle_inconsistent{%s} 1\n", vllm)
	fmt.Fprintf(&b, "tokenpath:kv_cache_knee:ratio{%s} 0.92\n", vllm)
	fmt.Fprintf(&b, "tokenpath:kv_cache_headroom:ratio{%s} 0.5\n", vllm)
	// Energy of the host: no server or model of a row (server="" keeps the
	// fixture's target label server="vllm" off under honor_labels).
	b.WriteString(`tokenpath:energy_per_token:joules{server=""} 0.35` + "\n")
	b.WriteString(`tokenpath:tokens_per_joule{server=""} 2.86` + "\n")
	// A row's own figures, where the rules have them, win over the host's.
	fmt.Fprintf(&b, "tokenpath:energy_per_token:joules{%s} 1.2\n", tgi)
	fmt.Fprintf(&b, "tokenpath:tokens_per_joule{%s} 0.833\n", tgi)
	b.WriteString(`tokenpath:inference_target_gpu{server="",job="vllm",instance="127.0.0.1:8000",gpu="1",uuid="GPU-bbbb"} 1` + "\n")
	for _, st := range []string{"mapped", "remote", "no_gpu_process", "unknown"} {
		fmt.Fprintf(&b, "tokenpath_inference_target_gpu_mapping{server=\"\",job=\"vllm\",instance=\"127.0.0.1:8000\",state=%q} %d\n", st, map[bool]int{true: 1}[st == "mapped"])
		fmt.Fprintf(&b, "tokenpath_inference_target_gpu_mapping{server=\"\",job=\"tgi\",instance=\"127.0.0.1:8080\",state=%q} %d\n", st, map[bool]int{true: 1}[st == "remote"])
	}
	for _, bk := range []struct {
		le   string
		rate float64
	}{{"0.01", 1}, {"0.05", 2}, {"0.1", 3}, {"+Inf", 10}} {
		fmt.Fprintf(&b, "tokenpath:itl_seconds_bucket:rate1m{%s,measure=\"tpot\",le=%q} %g\n", tgi, bk.le, bk.rate)
	}
	for _, le := range []string{"0.5", "1", "960"} {
		fmt.Fprintf(&b, "tokenpath:itl_seconds_bucket:rate1m{%s,le=%q} %g\n", vllm, le, 450*(0.2+load))
	}
	return b.String()
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestTokenPathRowDetail reads the diagnosed rows through a real Prometheus.
func TestTokenPathRowDetail(t *testing.T) {
	f := startPrometheus(t, diagExposition, "", 0)
	ui := newUI(t, f.API)
	rec, doc := get(t, ui, "/")
	require.Equal(t, 200, rec.Code)
	require.Empty(t, doc.Find(`[data-testid="page-error"]`).Text())
	rows := doc.Find(`[data-testid="server-row"]`)
	require.Equal(t, 2, rows.Length())
	tgi, vllm := rows.Eq(0), rows.Eq(1)
	text := func(s *goquery.Selection, testid string) string {
		return squash(s.Find(`[data-testid="` + testid + `"]`).First().Text())
	}

	require.Equal(t, "kv_cache_pressure", vllm.Find(`[data-testid="row-diagnosis"]`).AttrOr("data-cause", ""))
	require.Equal(t, "tail 1.8× objective · queue 60% of TTFT", text(vllm, "row-diagnosis-numbers"))
	require.NotEmpty(t, text(vllm, "row-diagnosis-explanation"))

	require.Equal(t, "50 ms", text(vllm, "wf-front-value"))
	require.Equal(t, "300 ms", text(vllm, "wf-queue-value"))
	require.Equal(t, "150 ms", text(vllm, "wf-prefill-value"))
	require.Equal(t, "2.5 s", text(vllm, "wf-decode-value"))
	require.Equal(t, "⚠ e2e is 140% of queue + prefill + decode", text(vllm, "lifecycle-inconsistent"))

	require.Equal(t, "KV 42%, knee ≈ 92%", text(vllm, "kv-knee"))
	require.Equal(t, "headroom 50%", text(vllm, "kv-headroom"))

	require.Equal(t, "350 mJ/token", text(vllm, "energy-per-token"))
	require.Equal(t, "2.86 tokens/s per W", text(vllm, "tokens-per-watt"))
	require.Equal(t, "host", text(vllm, "energy-scope"), "the host's figures: no per-row series")

	require.Equal(t, "GPU 1", text(vllm, "row-gpus"))
	items := vllm.Find(`[data-testid="gpu-summary-item"]`)
	require.Equal(t, 1, items.Length(), "only the mapped GPU")
	require.Equal(t, "1", items.AttrOr("data-gpu", ""))
	require.Equal(t, "idle", text(items, "gpu-summary-state"))
	require.Equal(t, "70.8 GiB / 74.5 GiB", text(items, "gpu-summary-vram"))
	require.Equal(t, "SM 35%", text(items, "gpu-summary-sm"))
	require.Equal(t, "512 W", text(items, "gpu-summary-power"))

	require.Equal(t, "1.2 J/token", text(tgi, "energy-per-token"))
	require.Equal(t, "0.833 tokens/s per W", text(tgi, "tokens-per-watt"))
	require.Equal(t, 0, tgi.Find(`[data-testid="energy-scope"]`).Length(), "the row's own figures")
	require.Equal(t, "unknown (remote)", text(tgi, "row-gpus"))
	require.Equal(t, 0, tgi.Find(`[data-testid="gpu-summary"]`).Length())
	require.Equal(t, "≥ 100 ms", text(tgi, "itl-p99"), "TPOT p99 (120 ms) is past the last finite bucket")
	require.Equal(t, 1, tgi.Find(`[data-testid="itl"] [data-testid="guard-bucket"]`).Length())
	require.Equal(t, "60 ms", text(vllm, "itl-p99"), "vLLM's last finite ITL bucket is 960 s")
	require.Contains(t, tgi.Find(`[data-testid="ttft"] [data-testid="guard-ttft"]`).AttrOr("title", ""), "estimate")

	// Data began seconds ago: the page opens on 5 minutes, and links
	// leave the range out so each page picks its own.
	require.Equal(t, "5m", doc.Find(`[data-testid="range"] option[selected]`).AttrOr("value", ""))
	require.NotContains(t, doc.Find(`[data-testid="nav-GPU"]`).AttrOr("href", ""), "range=")
	_, doc = get(t, ui, "/?range=1h")
	require.Equal(t, "1h", doc.Find(`[data-testid="range"] option[selected]`).AttrOr("value", ""))
	require.Contains(t, doc.Find(`[data-testid="nav-GPU"]`).AttrOr("href", ""), "range=1h", "a range the user chose stays, the default one too")
}

// TestDefaultRangeFitsHistory: 20 minutes of history ending 6 minutes ago
// open on 30 minutes; a day of it on the one-hour cap.
func TestDefaultRangeFitsHistory(t *testing.T) {
	for _, tc := range []struct {
		history time.Duration
		want    string
	}{{20 * time.Minute, "30m"}, {25 * time.Hour, "1h"}} {
		t.Run(tc.want, func(t *testing.T) {
			f := startPrometheus(t, fullExposition, "", tc.history)
			_, doc := get(t, newUI(t, f.API), "/latency")
			require.Equal(t, tc.want, doc.Find(`[data-testid="range"] option[selected]`).AttrOr("value", ""))
		})
	}
}

// TestBrowserRowDetail: in Chromium, the diagnosis and the knee estimate
// render with numbers, chart legends show values without hovering, and the
// ITL heatmap's y-axis stops at its populated buckets.
func TestBrowserRowDetail(t *testing.T) {
	testbin.RequirePeer(t, "chromium", "chromium")
	f := startPrometheus(t, diagExposition, "", 20*time.Minute)
	base := serveUI(t, f)
	b := newBrowser(t)
	b.recordCSPViolations(t)
	b.open(t, base+"/")
	hasNumber := regexp.MustCompile(`\d`)

	require.Equal(t, "30m", eval[string](t, b, `document.querySelector('select[name="range"]').value`), "the default range fits 26 min of data")
	diag := eval[string](t, b, `document.querySelector('[data-testid="row-diagnosis"]').innerText`)
	require.Contains(t, diag, "kv_cache_pressure")
	require.Regexp(t, hasNumber, diag)
	// The cause is a coloured badge, not plain text.
	badge := eval[string](t, b, `getComputedStyle(document.querySelector('[data-testid="row-diagnosis"] .diagnosis-cause')).backgroundColor`)
	require.NotEqual(t, "rgba(0, 0, 0, 0)", badge)
	require.Equal(t, "KV 42%, knee ≈ 92%", eval[string](t, b, `document.querySelector('[data-testid="kv-knee"]').innerText.trim()`))
	labels := eval[[]string](t, b, `[...document.querySelectorAll('[data-testid="waterfall"] .wf-label')].map(e => e.innerText)`)
	require.Equal(t, []string{"front of engine", "queue", "prefill", "decode"}, labels)
	barWidth := eval[float64](t, b, `document.querySelector('[data-testid="wf-decode"] .wf-bar').getBoundingClientRect().width`)
	require.Greater(t, barWidth, 10.0, "the decode bar is drawn")

	// Legends: every series shows a value without hovering; no colour repeats.
	legends := eval[map[string][]string](t, b, `Object.fromEntries([...document.querySelectorAll('[data-chart]')]
	  .filter(e => e.querySelector('.u-legend'))
	  .map(e => [JSON.parse(e.dataset.chart).id, [...e.querySelectorAll('.u-legend .u-series')].slice(1).map(s => s.querySelector('.u-value').innerText)]))`)
	require.NotEmpty(t, legends)
	for id, vals := range legends {
		require.NotEmpty(t, vals, id)
		for _, v := range vals {
			require.Regexp(t, hasNumber, v, "chart %s legend %q", id, vals)
		}
	}
	dup := eval[[]string](t, b, `[...document.querySelectorAll('[data-chart]')].filter(e => {
	  const cs = [...e.querySelectorAll('.u-legend .u-series')].slice(1).map(s => getComputedStyle(s.querySelector('.u-marker')).borderColor);
	  return new Set(cs).size !== cs.length;
	}).map(e => JSON.parse(e.dataset.chart).id)`)
	require.Empty(t, dup, "charts with a repeated colour")

	// The ITL heatmap has buckets up to 16 min and +Inf; only up to 100 ms hold tokens.
	heat := eval[map[string]string](t, b, `(() => { const e = document.querySelector('[data-testid="chart-itl_heatmap"]'); return {top: e.dataset.yTop, bottom: e.dataset.yBottom, buckets: e.dataset.buckets}; })()`)
	require.Equal(t, "8", heat["buckets"])
	require.Equal(t, "100 ms", heat["top"])
	require.Equal(t, "0", heat["bottom"])
	// The axis is drawn on the canvas: its scale is the span of buckets 0–3.
	scale := eval[[]float64](t, b, `(() => { const y = window.tokenpath.charts.itl_heatmap.plot.scales.y; return [y.min, y.max]; })()`)
	require.Equal(t, []float64{0, 4}, scale)
	require.Empty(t, b.takeErrors())
	b.screenshot(t, artifactsDir(t), "fixture-row-detail", false)
}
