package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// windowStats are the numbers the diagnosis rules read, over the last minute of a virtual
// run, computed from the vLLM exposition the way PromQL would (histogram deltas, linear
// interpolation inside a bucket).
type windowStats struct {
	ttftP99, itlP50, itlP99, queueShare, promptShare, kv float64
	waiting                                              float64
	computeShare                                         float64 // Activity.ComputeBusy / Busy
	busy                                                 float64
}

type histSnap struct {
	bounds []float64
	counts []float64 // cumulative
	sum    float64
	count  float64
}

func snapHist(fams []*dto.MetricFamily, name string) histSnap {
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		var s histSnap
		for _, b := range h.GetBucket() {
			s.bounds = append(s.bounds, b.GetUpperBound())
			s.counts = append(s.counts, float64(b.GetCumulativeCount()))
		}
		s.sum, s.count = h.GetSampleSum(), float64(h.GetSampleCount())
		return s
	}
	return histSnap{}
}

func (a histSnap) minus(b histSnap) histSnap {
	out := histSnap{bounds: a.bounds, sum: a.sum - b.sum, count: a.count - b.count}
	for i := range a.counts {
		prev := 0.0
		if i < len(b.counts) {
			prev = b.counts[i]
		}
		out.counts = append(out.counts, a.counts[i]-prev)
	}
	return out
}

// quantile interpolates inside the bucket, as histogram_quantile does.
func (a histSnap) quantile(q float64) float64 {
	if a.count == 0 {
		return math.NaN()
	}
	rank := q * a.count
	lower, below := 0.0, 0.0
	for i, c := range a.counts {
		if c >= rank {
			return lower + (a.bounds[i]-lower)*(rank-below)/(c-below)
		}
		lower, below = a.bounds[i], c
	}
	return lower
}

func snapCounter(fams []*dto.MetricFamily, name string) float64 {
	for _, f := range fams {
		if f.GetName() == name {
			v := 0.0
			for _, m := range f.GetMetric() {
				v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
			return v
		}
	}
	return 0
}

// runScenarioVirtually runs a vLLM simulator in scenario name for d of virtual time and
// returns the last minute's numbers.
func runScenarioVirtually(t *testing.T, name string, d time.Duration) windowStats {
	t.Helper()
	s, err := New(Options{Engine: EngineVLLM, Seed: 1, Scenario: name})
	require.NoError(t, err)
	from := time.Unix(1_700_000_000, 0)
	var older, newer []*dto.MetricFamily
	var act Activity
	err = s.RunVirtual(context.Background(), from, from.Add(d), time.Minute, func(_ time.Time, reg prometheus.Gatherer) error {
		if reg == nil {
			return nil
		}
		fams, err := reg.Gather()
		if err != nil {
			return err
		}
		older, newer = newer, fams
		act = s.Activity()
		return nil
	})
	require.NoError(t, err)
	require.NotNil(t, older)
	ttft := snapHist(newer, "vllm:time_to_first_token_seconds").minus(snapHist(older, "vllm:time_to_first_token_seconds"))
	itl := snapHist(newer, "vllm:inter_token_latency_seconds").minus(snapHist(older, "vllm:inter_token_latency_seconds"))
	queue := snapHist(newer, "vllm:request_queue_time_seconds").minus(snapHist(older, "vllm:request_queue_time_seconds"))
	prompt := snapCounter(newer, "vllm:prompt_tokens_total") - snapCounter(older, "vllm:prompt_tokens_total")
	gen := snapCounter(newer, "vllm:generation_tokens_total") - snapCounter(older, "vllm:generation_tokens_total")
	return windowStats{
		ttftP99: ttft.quantile(0.99), itlP50: itl.quantile(0.5), itlP99: itl.quantile(0.99),
		queueShare:  (queue.sum / queue.count) / (ttft.sum / ttft.count),
		promptShare: prompt / (prompt + gen),
		kv:          snapCounter(newer, "vllm:kv_cache_usage_perc"),
		waiting:     snapCounter(newer, "vllm:num_requests_waiting"),
		busy:        act.Busy, computeShare: act.ComputeBusy / act.Busy,
	}
}

// TestGPUScenarios checks, on a virtual clock, that the two GPU scenarios produce the
// shapes their causes need and none of the earlier causes' (rules/README.md, "Diagnosis"):
// a p99 ITL over the 100 ms objective that is not a spike over p50 (no
// prefill_interference), a p99 TTFT under 5 s (no queue_saturation), KV under 90% (no
// kv_cache_pressure) — and the engine's time split between bandwidth-bound decode and
// compute-bound prefill that the demo's GPUs turn into DRAM and SM activity.
func TestGPUScenarios(t *testing.T) {
	for _, tc := range []struct {
		scenario       string
		computeAtLeast float64
		computeAtMost  float64
	}{
		{"memory_bandwidth_bound", 0, 0.15},
		{"compute_bound", 0.8, 1},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			// Long enough for two turns of the 4-minute arrival cycle's peak.
			for _, d := range []time.Duration{4 * time.Minute, 6 * time.Minute, 9 * time.Minute} {
				st := runScenarioVirtually(t, tc.scenario, d)
				t.Logf("%s after %v: %+v", tc.scenario, d, st)
				require.Greater(t, st.itlP99, 0.1, "p99 ITL above the objective")
				require.Less(t, st.itlP99/st.itlP50, 4.0, "p99 ITL is no spike over p50")
				require.Less(t, st.ttftP99, 5.0, "p99 TTFT under the objective")
				require.Less(t, st.kv, 0.9, "KV cache")
				require.Greater(t, st.busy, 0.8, "the engine steps most of the time")
				require.GreaterOrEqual(t, st.computeShare, tc.computeAtLeast)
				require.LessOrEqual(t, st.computeShare, tc.computeAtMost)
			}
		})
	}
}
