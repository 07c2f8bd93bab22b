package export

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	v1Model = "meta-llama/Llama-3.1-8B-Instruct"
	v0Model = "facebook/opt-125m"
)

// checkVLLM compares the vLLM endpoint with hand-written queries of the raw
// series and with numbers read off the fixtures.
func checkVLLM(t *testing.T, env *exportTestEnv, h http.Handler) {
	status, body := scrape(t, h, PathVLLM)
	require.Equal(t, http.StatusOK, status)
	exp := parseExposition(t, body)
	v1 := map[string]string{"model": v1Model, "endpoint": env.v1}
	v0 := map[string]string{"model": v0Model, "endpoint": env.v0}
	with := func(base map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for bk, bv := range base {
			out[bk] = bv
		}
		return out
	}

	tests := []struct {
		name   string
		labels map[string]string
		query  string  // Hand-written query of the raw series.
		want   float64 // The fixture's number.
	}{
		// V1, two engines summed.
		{"vllm_tokens_generated_total", v1, fmt.Sprintf(`sum(vllm:generation_tokens_total{instance=%q})`, env.v1), 20411 + 19873},
		{"vllm_prompt_tokens_total", v1, fmt.Sprintf(`sum(vllm:prompt_tokens_total{instance=%q})`, env.v1), 51234 + 48770},
		{"vllm_requests_total", with(v1, "status", "stop"), fmt.Sprintf(`sum(vllm:request_success_total{instance=%q,finished_reason="stop"})`, env.v1), 112 + 120},
		{"vllm_requests_total", with(v1, "status", "abort"), fmt.Sprintf(`sum(vllm:request_success_total{instance=%q,finished_reason="abort"})`, env.v1), 2},
		{"vllm_requests_running", v1, fmt.Sprintf(`sum(vllm:num_requests_running{instance=%q})`, env.v1), 12},
		{"vllm_batch_size", v1, fmt.Sprintf(`sum(vllm:num_requests_running{instance=%q})`, env.v1), 12},
		{"vllm_requests_waiting", v1, fmt.Sprintf(`sum(vllm:num_requests_waiting{instance=%q})`, env.v1), 3},
		{"vllm_queue_length", v1, fmt.Sprintf(`sum(vllm:num_requests_waiting{instance=%q})`, env.v1), 3},
		{"vllm_requests_in_progress", v1, fmt.Sprintf(`sum({__name__=~"vllm:num_requests_(running|waiting)",instance=%q})`, env.v1), 15},
		{"vllm_kv_cache_usage_ratio", v1, fmt.Sprintf(`max(vllm:kv_cache_usage_perc{instance=%q})`, env.v1), 0.61},
		{"vllm_num_preempted_total", v1, fmt.Sprintf(`sum(vllm:num_preemptions_total{instance=%q})`, env.v1), 4},
		{"vllm_speculative_accepted_total", v1, fmt.Sprintf(`sum(vllm:spec_decode_num_accepted_tokens_total{instance=%q})`, env.v1), 1980 + 1901},
		{"vllm_speculative_rejected_total", v1, fmt.Sprintf(`sum(vllm:spec_decode_num_draft_tokens_total{instance=%q}) - sum(vllm:spec_decode_num_accepted_tokens_total{instance=%q})`, env.v1, env.v1), 2700 + 2640 - 1980 - 1901},
		// The V1 ITL histogram, not the deprecated one shown next to it.
		{"vllm_itl_seconds_count", v1, fmt.Sprintf(`sum(vllm:inter_token_latency_seconds_count{instance=%q})`, env.v1), 300 + 280},
		{"vllm_ttft_seconds_count", v1, fmt.Sprintf(`sum(vllm:time_to_first_token_seconds_count{instance=%q})`, env.v1), 152 + 157},
		{"vllm_time_per_token_seconds_count", v1, fmt.Sprintf(`sum(vllm:request_time_per_output_token_seconds_count{instance=%q})`, env.v1), 152 + 157},
		// V0: the old names.
		{"vllm_tokens_generated_total", v0, fmt.Sprintf(`vllm:generation_tokens_total{instance=%q}`, env.v0), 7},
		{"vllm_requests_total", with(v0, "status", "length"), fmt.Sprintf(`vllm:request_success_total{instance=%q}`, env.v0), 1},
		{"vllm_kv_cache_usage_ratio", v0, fmt.Sprintf(`vllm:gpu_cache_usage_perc{instance=%q}`, env.v0), 0},
		{"vllm_itl_seconds_count", v0, fmt.Sprintf(`vllm:time_per_output_token_seconds_count{instance=%q}`, env.v0), 6},
		{"vllm_itl_seconds_sum", v0, fmt.Sprintf(`vllm:time_per_output_token_seconds_sum{instance=%q}`, env.v0), 0.19016313552856445},
		{"vllm_ttft_seconds_count", v0, fmt.Sprintf(`vllm:time_to_first_token_seconds_count{instance=%q}`, env.v0), 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s%v", tt.name, tt.labels), func(t *testing.T) {
			got, ok := exp.find(t, tt.name, tt.labels)
			require.True(t, ok, "%s%v not exported", tt.name, tt.labels)
			require.InDelta(t, tt.want, got, 1e-9)
			require.InDelta(t, queryOne(t, env.api, tt.query), got, 1e-9)
		})
	}

	histograms := []struct {
		name   string
		labels map[string]string
		query  string
	}{
		{"vllm_ttft_seconds", v1, fmt.Sprintf(`sum by (le) (vllm:time_to_first_token_seconds_bucket{instance=%q})`, env.v1)},
		{"vllm_itl_seconds", v1, fmt.Sprintf(`sum by (le) (vllm:inter_token_latency_seconds_bucket{instance=%q})`, env.v1)},
		{"vllm_e2e_request_latency_seconds", v1, fmt.Sprintf(`sum by (le) (vllm:e2e_request_latency_seconds_bucket{instance=%q})`, env.v1)},
		{"vllm_queue_time_seconds", v1, fmt.Sprintf(`sum by (le) (vllm:request_queue_time_seconds_bucket{instance=%q})`, env.v1)},
		{"vllm_itl_seconds", v0, fmt.Sprintf(`sum by (le) (vllm:time_per_output_token_seconds_bucket{instance=%q})`, env.v0)},
		{"vllm_ttft_seconds", v0, fmt.Sprintf(`sum by (le) (vllm:time_to_first_token_seconds_bucket{instance=%q})`, env.v0)},
	}
	for _, tt := range histograms {
		t.Run(fmt.Sprintf("%s%v buckets", tt.name, tt.labels), func(t *testing.T) {
			want := queryBuckets(t, env.api, tt.query)
			got := exp.bucketsOf(tt.name, tt.labels)
			require.Equal(t, want, got)
		})
	}

	// The deprecated histogram the V1 fixture also shows has other counts: the
	// exported one must not be it.
	deprecated := queryOne(t, env.api, fmt.Sprintf(`sum(vllm:time_per_output_token_seconds_count{instance=%q})`, env.v1))
	got, _ := exp.find(t, "vllm_itl_seconds_count", v1)
	require.NotEqual(t, deprecated, got)
}
