package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// lifecycleRow is a row's per-phase means as the token-path rules derive
// them: each quantity's _sum and _count 1m rates at 4 requests/s, the sum
// 4 × the mean. A negative mean leaves that quantity out.
type lifecycleRow struct {
	server                            string
	ttft, queue, prefill, decode, e2e float64
	// gap is the probes' mean TTFT − the server's; negative: no probe.
	gap float64
}

func (r lifecycleRow) load() string {
	l := fmt.Sprintf(`server=%q, model="m", instance="gpu-a:8000", job=%q`, r.server, r.server)
	var b strings.Builder
	fmt.Fprintf(&b, "  tokenpath:requests_running{%s} 8x%d\n", l, diagnosisSteps)
	for _, q := range []struct {
		name string
		mean float64
	}{{"ttft", r.ttft}, {"queue", r.queue}, {"prefill", r.prefill}, {"decode", r.decode}, {"e2e", r.e2e}} {
		if q.mean < 0 {
			continue
		}
		fmt.Fprintf(&b, "  tokenpath:%s_seconds_sum:rate1m{%s} %gx%d\n", q.name, l, 4*q.mean, diagnosisSteps)
		fmt.Fprintf(&b, "  tokenpath:%s_seconds_count:rate1m{%s} 4x%d\n", q.name, l, diagnosisSteps)
	}
	if r.gap >= 0 {
		fmt.Fprintf(&b, "  tokenpath:ttft_client_server_gap_seconds:mean_rate5m{instance=\"gpu-a:8000\", model=\"m\"} %gx%d\n", r.gap, diagnosisSteps)
	}
	return b.String()
}

// TestLifecycle: queue 1 s + prefill 1 s + decode 2 s = 4 s against e2e;
// TTFT 2.25 s, so 0.25 s in front of the engine unless a probe says
// otherwise. The tolerance is 0.2: inconsistent outside [0.8, 1.2].
func TestLifecycle(t *testing.T) {
	base := lifecycleRow{server: "vllm", ttft: 2.25, queue: 1, prefill: 1, decode: 2, e2e: 4.2, gap: -1}
	vary := func(f func(*lifecycleRow)) lifecycleRow {
		r := base
		f(&r)
		return r
	}
	row := func(server string, kv ...string) string {
		return lbl(append([]string{"server", server, "model", "m", "instance", "gpu-a:8000", "job", server}, kv...)...)
	}
	phases := func(server string, front, queue, prefill, decode float64) map[string]float64 {
		out := map[string]float64{}
		for _, p := range []struct {
			name string
			v    float64
		}{{"front", front}, {"queue", queue}, {"prefill", prefill}, {"decode", decode}} {
			if p.v >= 0 {
				out[row(server, "phase", p.name)] = p.v
			}
		}
		return out
	}
	cases := []struct {
		name        string
		thresholds  Thresholds
		row         lifecycleRow
		phases      map[string]float64
		consistency float64 // 0: absent
		mark        float64 // -1: absent
	}{
		{
			name: "phases add up: 4.2 / 4", row: base,
			phases:      phases("vllm", 0.25, 1, 1, 2),
			consistency: 1.05, mark: 0,
		},
		{
			name: "e2e 25% over the phases is inconsistent", row: vary(func(r *lifecycleRow) { r.e2e = 5 }),
			phases:      phases("vllm", 0.25, 1, 1, 2),
			consistency: 1.25, mark: 1,
		},
		{
			name: "exactly at the tolerance is consistent: 4.8 / 4 = 1.2", row: vary(func(r *lifecycleRow) { r.e2e = 4.8 }),
			phases:      phases("vllm", 0.25, 1, 1, 2),
			consistency: 1.2, mark: 0,
		},
		{
			name: "e2e shorter than its phases is inconsistent: 3 / 4", row: vary(func(r *lifecycleRow) { r.e2e = 3 }),
			phases:      phases("vllm", 0.25, 1, 1, 2),
			consistency: 0.75, mark: 1,
		},
		{
			name:       "a wider tolerance accepts 3 / 4",
			thresholds: Thresholds{DiagnosisLifecycleTolerance: 0.3},
			row:        vary(func(r *lifecycleRow) { r.e2e = 3 }),
			phases:     phases("vllm", 0.25, 1, 1, 2), consistency: 0.75, mark: 0,
		},
		{
			name: "a probe's gap is the front: 0.7 s, not 0.25", row: vary(func(r *lifecycleRow) { r.gap = 0.7 }),
			phases:      phases("vllm", 0.7, 1, 1, 2),
			consistency: 1.05, mark: 0,
		},
		{
			name: "TTFT below queue + prefill (mean arithmetic) clamps the front at 0", row: vary(func(r *lifecycleRow) { r.ttft = 1.8 }),
			phases:      phases("vllm", 0, 1, 1, 2),
			consistency: 1.05, mark: 0,
		},
		{
			name: "TGI: no decode histogram, no check; its TTFT is queue + prefill, no front",
			row:  lifecycleRow{server: "tgi", ttft: -1, queue: 1, prefill: 0.5, decode: -1, e2e: 6, gap: -1},
			// The TGI estimate of TTFT (queue + prefill) is the token-path rules' own.
			phases: phases("tgi", -1, 1, 0.5, -1),
			mark:   -1,
		},
		{
			name:   "SGLang: queue and e2e only",
			row:    lifecycleRow{server: "sglang", ttft: 2, queue: 1, prefill: -1, decode: -1, e2e: 6, gap: -1},
			phases: phases("sglang", -1, 1, -1, -1),
			mark:   -1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRuleHarness(t, tc.thresholds, "load 15s\n"+tc.row.load())
			h.EvalUntil(6 * time.Minute)
			requireSeries(t, h, "tokenpath:lifecycle:seconds", tc.phases)
			consistency, mark := map[string]float64{}, map[string]float64{}
			if tc.consistency != 0 {
				consistency[row(tc.row.server)] = tc.consistency
			}
			if tc.mark >= 0 {
				mark[row(tc.row.server)] = tc.mark
			}
			requireSeries(t, h, "tokenpath:lifecycle_consistency:ratio", consistency)
			requireSeries(t, h, "tokenpath:lifecycle_inconsistent", mark)
		})
	}
}
