package sim

import (
	"fmt"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// shape is what a scenario is checked on: the numbers the diagnosis reads,
// from one scrape of a vLLM simulator's cumulative histograms.
type shape struct {
	TTFTp99, ITLp50, ITLp99  float64
	TTFTMean, QueueMean      float64
	Waiting, KV, Preemptions float64
	PromptTokens, Generated  float64
}

func (s shape) String() string {
	return fmt.Sprintf("ttft p99 %.3fs mean %.3fs, queue mean %.3fs, itl p50 %.4fs p99 %.4fs, waiting %g, kv %.2f, preemptions %g, prompt/gen %g/%g",
		s.TTFTp99, s.TTFTMean, s.QueueMean, s.ITLp50, s.ITLp99, s.Waiting, s.KV, s.Preemptions, s.PromptTokens, s.Generated)
}

// quantile interpolates within the histogram's buckets as histogram_quantile does.
func quantile(t *testing.T, fams map[string]*dto.MetricFamily, name string, q float64) float64 {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "no %s", name)
	h := fam.GetMetric()[0].GetHistogram()
	total := float64(h.GetSampleCount())
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	prevLe, prevCum := 0.0, 0.0
	for _, b := range h.GetBucket() {
		cum := float64(b.GetCumulativeCount())
		if cum >= rank {
			if cum == prevCum {
				return b.GetUpperBound()
			}
			return prevLe + (b.GetUpperBound()-prevLe)*(rank-prevCum)/(cum-prevCum)
		}
		prevLe, prevCum = b.GetUpperBound(), cum
	}
	return prevLe
}

func familyTotal(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "no %s", name)
	v := 0.0
	for _, m := range fam.GetMetric() {
		v += m.GetCounter().GetValue()
	}
	return v
}

func shapeOf(t *testing.T, fams map[string]*dto.MetricFamily) shape {
	t.Helper()
	mean := func(name string) float64 {
		sum, count := histSumCount(t, fams, name)
		return sum / float64(count)
	}
	return shape{
		TTFTp99:      quantile(t, fams, "vllm:time_to_first_token_seconds", 0.99),
		TTFTMean:     mean("vllm:time_to_first_token_seconds"),
		QueueMean:    mean("vllm:request_queue_time_seconds"),
		ITLp50:       quantile(t, fams, "vllm:inter_token_latency_seconds", 0.5),
		ITLp99:       quantile(t, fams, "vllm:inter_token_latency_seconds", 0.99),
		Waiting:      gaugeValue(t, fams, "vllm:num_requests_waiting"),
		KV:           gaugeValue(t, fams, "vllm:kv_cache_usage_perc"),
		Preemptions:  familyTotal(t, fams, "vllm:num_preemptions_total"),
		PromptTokens: familyTotal(t, fams, "vllm:prompt_tokens_total"),
		Generated:    familyTotal(t, fams, "vllm:generation_tokens_total"),
	}
}
