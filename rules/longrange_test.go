package rules

import (
	"testing"
	"time"
)

// longRangeLoad is a vLLM TTFT histogram (bounds 0.1 s, 1 s, +Inf) that
// changes pace at 300 s: every 15 s until then 3 requests at or below
// 0.1 s, 3 more at or below 1 s and none above (d1 = 3, 6, 6 cumulative);
// after it none at or below 0.1 s, 12 at or below 1 s and 3 above
// (d2 = 0, 12, 15 cumulative).
const longRangeLoad = `load 15s
  vllm:time_to_first_token_seconds_bucket{instance="a:8000", job="vllm", model_name="m", le="0.1"} 0+3x20 60x19
  vllm:time_to_first_token_seconds_bucket{instance="a:8000", job="vllm", model_name="m", le="1"} 0+6x20 132+12x19
  vllm:time_to_first_token_seconds_bucket{instance="a:8000", job="vllm", model_name="m", le="+Inf"} 0+6x20 135+15x19
  vllm:time_to_first_token_seconds_count{instance="a:8000", job="vllm", model_name="m"} 0+6x20 135+15x19
  vllm:time_to_first_token_seconds_sum{instance="a:8000", job="vllm", model_name="m"} 0+1x20 23+3x19
`

// TestLongRangeSeriesAggregateTheMinuteSeries checks, with numbers worked by
// hand, that the 5 m bucket rates are the mean of the 1 m ones over the last
// 5 minutes and that the 5 m percentiles are read from them.
//
// A 1 m rate at t reads the four samples in (t−60 s, t], whose 45 s of
// increase Prometheus extrapolates to the minute: d/15 per second inside a
// phase, (2·d1+d2)/45 at 315 s and (d1+2·d2)/45 at 330 s across the change.
// At 600 s the 5 m window (300 s, 600 s] holds the 1 m rates of 315 s … 600 s,
// twenty of them, eighteen inside the second phase:
//
//	mean = ((2·d1+d2)/45 + (d1+2·d2)/45 + 18·d2/15) / 20 = (d1 + 19·d2) / 300
//
// le=0.1: (3+0)/300 = 0.01; le=1: (6+228)/300 = 0.78; +Inf: (6+285)/300 = 0.97.
// p50: rank 0.485 lies in (0.1, 1]: 0.1 + 0.9·(0.485−0.01)/(0.78−0.01);
// p90 and p99 (ranks 0.873, 0.9603) lie above 0.78, in +Inf: the last finite
// bound, 1.
func TestLongRangeSeriesAggregateTheMinuteSeries(t *testing.T) {
	h := newRuleHarness(t, DefaultThresholds(), longRangeLoad)
	h.evalUntil(10 * time.Minute)

	row := []string{"instance", "a:8000", "job", "vllm", "model", "m", "server", "vllm"}
	bucket := func(le string) string { return lbl(append([]string{"le", le}, row...)...) }
	quantile := func(q string) string { return lbl(append([]string{"quantile", q}, row...)...) }

	// The 1 m rates at 600 s, inside the second phase: d2/15.
	requireSeries(t, h, "tokenpath:ttft_seconds_bucket:rate1m", map[string]float64{
		bucket("0.1"): 0, bucket("1"): 0.8, bucket("+Inf"): 1,
	})
	requireSeries(t, h, "tokenpath:ttft_seconds_bucket:rate5m", map[string]float64{
		bucket("0.1"): 0.01, bucket("1"): 0.78, bucket("+Inf"): 0.97,
	})
	requireSeries(t, h, "tokenpath:ttft_seconds:histogram_quantile_rate5m", map[string]float64{
		quantile("0.5"):  0.1 + 0.9*(0.485-0.01)/(0.78-0.01),
		quantile("0.9"):  1,
		quantile("0.99"): 1,
	})
	// A quantity the server does not report has no long-range series either.
	requireSeries(t, h, "tokenpath:queue_seconds_bucket:rate5m", map[string]float64{})
	requireSeries(t, h, "tokenpath:queue_seconds:histogram_quantile_rate5m", map[string]float64{})
}
