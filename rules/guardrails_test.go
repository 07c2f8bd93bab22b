package rules

import (
	"testing"
	"time"
)

// TestHistogramQuantileClamped: 10 observations/s, 5 within 1 s, 9 within
// 5 s, 1 above. p50's rank 5 falls in the first bucket and p90's rank 9
// exactly fills the last finite one: values (0). p99's rank 9.9 falls in
// +Inf, where histogram_quantile answers the last finite bound, 5 s: a
// floor (1). An idle row (no observations) has no flag at all.
func TestHistogramQuantileClamped(t *testing.T) {
	load := `load 15s
  tokenpath:ttft_seconds_bucket:rate1m{server="vllm", model="m", instance="gpu-a:8000", job="vllm", le="1"} 5x20
  tokenpath:ttft_seconds_bucket:rate1m{server="vllm", model="m", instance="gpu-a:8000", job="vllm", le="5"} 9x20
  tokenpath:ttft_seconds_bucket:rate1m{server="vllm", model="m", instance="gpu-a:8000", job="vllm", le="+Inf"} 10x20
  tokenpath:ttft_seconds_bucket:rate1m{server="vllm", model="m", instance="gpu-b:8000", job="vllm", le="1"} 0x20
  tokenpath:ttft_seconds_bucket:rate1m{server="vllm", model="m", instance="gpu-b:8000", job="vllm", le="5"} 0x20
  tokenpath:ttft_seconds_bucket:rate1m{server="vllm", model="m", instance="gpu-b:8000", job="vllm", le="+Inf"} 0x20
`
	h := newRuleHarness(t, Thresholds{}, load)
	h.EvalUntil(time.Minute)
	row := func(q string) string {
		return lbl("server", "vllm", "model", "m", "instance", "gpu-a:8000", "job", "vllm", "quantity", "ttft", "quantile", q)
	}
	requireSeries(t, h, "tokenpath:histogram_quantile_clamped", map[string]float64{row("0.5"): 0, row("0.9"): 0, row("0.99"): 1})
	requireSeries(t, h, `tokenpath:ttft_seconds:histogram_quantile{quantile="0.99"}`, map[string]float64{
		lbl("server", "vllm", "model", "m", "instance", "gpu-a:8000", "job", "vllm", "quantile", "0.99"): 5,
	})
}
