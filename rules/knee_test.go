package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// kneeSegment is a stretch of a row's history: minutes at one KV usage and
// one p99 TTFT.
type kneeSegment struct {
	minutes int
	kv      float64
	ttftP99 float64
}

// kneeRow is a vLLM row at gpu-a:8000 with the history segs (15 s samples,
// one more sample of the last segment at its end, so that the harness's
// last evaluation reads it); kv < 0 leaves the KV series out (TGI).
func kneeRow(server string, segs ...kneeSegment) string {
	l := fmt.Sprintf(`server=%q, model="m", instance="gpu-a:8000", job=%q`, server, server)
	series := func(v func(kneeSegment) float64) string {
		var parts []string
		for i, s := range segs {
			n := s.minutes*4 - 1
			if i == len(segs)-1 {
				n++
			}
			parts = append(parts, fmt.Sprintf("%gx%d", v(s), n))
		}
		return strings.Join(parts, " ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  tokenpath:requests_running{%s} %s\n", l, series(func(kneeSegment) float64 { return 8 }))
	quantile := "tokenpath:ttft_seconds:histogram_quantile"
	if server == "tgi" {
		quantile = "tokenpath:queue_seconds:histogram_quantile"
	}
	fmt.Fprintf(&b, "  %s{%s, quantile=\"0.99\"} %s\n", quantile, l, series(func(s kneeSegment) float64 { return s.ttftP99 }))
	if segs[0].kv >= 0 {
		fmt.Fprintf(&b, "  tokenpath:kv_cache_usage:ratio{%s} %s\n", l, series(func(s kneeSegment) float64 { return s.kv }))
	}
	return b.String()
}

// TestKVCacheKnee estimates the knee from an hour of history with
// hand-worked bands. The subquery [1h:1m] evaluated at 60m reads the
// minutes 1..60 (its range is open at the start): a segment from minute a
// to b contributes the minutes a..b-1 (at minute b the next segment's value
// holds), the last one a..60.
func TestKVCacheKnee(t *testing.T) {
	hour := Thresholds{DiagnosisKneeWindow: time.Hour}
	row := lbl("server", "vllm", "model", "m", "instance", "gpu-a:8000", "job", "vllm")
	band := func(b string) string {
		return lbl("server", "vllm", "model", "m", "instance", "gpu-a:8000", "job", "vllm", "band", b)
	}
	// The reference history: 20 minutes quiet (minutes 1-19 in band 0), a
	// 5-minute burst at 93% (minutes 20-24: 5 < 10 minutes, not enough to
	// count), 15 minutes at 72% (25-39), 15 at 86% (40-54) where the tail
	// triples, and now 82% (55-60: 6 minutes, not counted either).
	history := func(kneeTail float64) []kneeSegment {
		return []kneeSegment{{20, 0.30, 1.0}, {5, 0.93, 8.0}, {15, 0.72, 1.2}, {15, 0.86, kneeTail}, {5, 0.82, 1.5}}
	}
	cases := []struct {
		name       string
		thresholds Thresholds
		server     string
		segs       []kneeSegment
		bands      map[string]float64
		baseline   float64 // 0: absent
		knee       float64 // 0: absent
		headroom   float64
		alert      bool
	}{
		{
			name:   "the tail triples from the 85% band: knee 0.85, 82% now is 3 points below",
			server: "vllm", segs: history(3.0),
			bands:    map[string]float64{band("0"): 1.0, band("0.7"): 1.2, band("0.85"): 3.0},
			baseline: 1.0, knee: 0.85, headroom: 0.85 - 0.82, alert: true,
		},
		{
			name:   "a tail of exactly the factor times the baseline is no knee",
			server: "vllm", segs: history(2.0),
			bands:    map[string]float64{band("0"): 1.0, band("0.7"): 1.2, band("0.85"): 2.0},
			baseline: 1.0,
		},
		{
			name:       "a lower factor moves the knee down to 70%, which 82% is past",
			thresholds: Thresholds{DiagnosisKneeFactor: 1.1},
			server:     "vllm", segs: history(3.0),
			bands:    map[string]float64{band("0"): 1.0, band("0.7"): 1.2, band("0.85"): 3.0},
			baseline: 1.0, knee: 0.7, headroom: 0.7 - 0.82, alert: true,
		},
		{
			name:   "never below 50%: the lowest band with ten minutes is the baseline",
			server: "vllm",
			segs:   []kneeSegment{{20, 0.62, 1.0}, {5, 0.93, 8.0}, {15, 0.72, 1.2}, {15, 0.86, 3.0}, {5, 0.82, 1.5}},
			bands:  map[string]float64{band("0.6"): 1.0, band("0.7"): 1.2, band("0.85"): 3.0},
			// 0.85 - 0.82
			baseline: 1.0, knee: 0.85, headroom: 0.85 - 0.82, alert: true,
		},
		{
			name:   "far below the knee: a knee, no alert",
			server: "vllm",
			segs:   []kneeSegment{{20, 0.30, 1.0}, {5, 0.93, 8.0}, {15, 0.72, 1.2}, {15, 0.86, 3.0}, {5, 0.40, 1.0}},
			bands:  map[string]float64{band("0"): 1.0, band("0.7"): 1.2, band("0.85"): 3.0},
			// 0.85 - 0.40
			baseline: 1.0, knee: 0.85, headroom: 0.85 - 0.40,
		},
		{
			name:   "TGI has no KV cache: no bands, no knee",
			server: "tgi",
			segs:   []kneeSegment{{20, -1, 1.0}, {40, -1, 3.0}},
			bands:  map[string]float64{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th := tc.thresholds
			th.DiagnosisKneeWindow = hour.DiagnosisKneeWindow
			h := newRuleHarness(t, th, "load 15s\n"+kneeRow(tc.server, tc.segs...))
			h.EvalUntil(time.Hour)
			requireSeries(t, h, "tokenpath:kv_cache_band_ttft_tail:seconds", tc.bands)
			want := func(v float64) map[string]float64 {
				if v == 0 {
					return map[string]float64{}
				}
				return map[string]float64{row: v}
			}
			requireSeries(t, h, "tokenpath:kv_cache_knee_baseline:seconds", want(tc.baseline))
			requireSeries(t, h, "tokenpath:kv_cache_knee:ratio", want(tc.knee))
			requireSeries(t, h, "tokenpath:kv_cache_headroom:ratio", want(tc.headroom))
			active := h.Alerts("KVCacheNearKnee")
			if !tc.alert {
				require.Empty(t, active)
				return
			}
			a, ok := active[row]
			require.True(t, ok, "want %s, have %v", row, keysOf(active))
			require.Equal(t, "firing", a.State.String())
			require.Equal(t, RunbookBase+"kv_cache_pressure", a.Annotations.Get("runbook_url"))
			where := "near"
			if tc.headroom < 0 {
				where = "past"
			}
			require.Equal(t, "KV cache of m on vllm gpu-a:8000 is "+where+" the usage where its p99 TTFT climbs", a.Annotations.Get("summary"))
		})
	}
}

// TestKVCacheNearKneeAnnotations reads the alert's text: the row, the
// usage, the knee, the headroom and the baseline it was measured against.
func TestKVCacheNearKneeAnnotations(t *testing.T) {
	h := newRuleHarness(t, Thresholds{DiagnosisKneeWindow: time.Hour},
		"load 15s\n"+kneeRow("vllm", kneeSegment{20, 0.30, 1.0}, kneeSegment{5, 0.93, 8.0}, kneeSegment{15, 0.72, 1.2}, kneeSegment{15, 0.86, 3.0}, kneeSegment{5, 0.82, 1.5}))
	// The knee exists from minute 49 (ten minutes of the 85% band, 40-49);
	// the headroom is under 5 points from then on: pending at 49, firing
	// from 51 (`for` 2m).
	h.EvalUntil(50 * time.Minute)
	row := lbl("server", "vllm", "model", "m", "instance", "gpu-a:8000", "job", "vllm")
	require.Equal(t, "pending", h.Alerts("KVCacheNearKnee")[row].State.String())
	h.EvalUntil(time.Hour)
	a := h.Alerts("KVCacheNearKnee")[row]
	require.NotNil(t, a)
	require.Equal(t, "firing", a.State.String())
	require.Equal(t, "warning", a.Labels.Get("severity"))
	require.Equal(t, "KV cache of m on vllm gpu-a:8000 is near the usage where its p99 TTFT climbs", a.Annotations.Get("summary"))
	d := a.Annotations.Get("description")
	require.Contains(t, d, "KV cache 82%, knee ≈ 85% (headroom 3%, warning under 5% for 2m) on vllm at gpu-a:8000 (job vllm, model m).")
	require.Contains(t, d, "Over the last 1h, p99 TTFT from that band on was 2× or more its low-usage baseline of 1s.")
	require.NotContains(t, d, "error expanding")
}
