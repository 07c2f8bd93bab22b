package export

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkTGI compares the TGI endpoint with hand-written queries of TGI's
// router series and with numbers read off the fixture.
func checkTGI(t *testing.T, env *exportTestEnv, h http.Handler) {
	status, body := scrape(t, h, PathTGI)
	require.Equal(t, http.StatusOK, status)
	exp := parseExposition(t, body)
	// The model comes from the scrape configuration's target label.
	base := map[string]string{"model": "bigscience/bloom-560m", "endpoint": env.tgi}
	with := func(k, v string) map[string]string {
		out := map[string]string{k: v}
		for bk, bv := range base {
			out[bk] = bv
		}
		return out
	}
	sel := fmt.Sprintf(`{instance=%q}`, env.tgi)
	tests := []struct {
		name   string
		labels map[string]string
		query  string
		want   float64
	}{
		{"tgi_requests_total", with("status", "success"), "tgi_request_success" + sel, 221},
		{"tgi_requests_total", with("status", "validation"), fmt.Sprintf(`tgi_request_failure{instance=%q,err="validation"}`, env.tgi), 7},
		{"tgi_requests_total", with("status", "overloaded"), fmt.Sprintf(`tgi_request_failure{instance=%q,err="overloaded"}`, env.tgi), 3},
		{"tgi_validation_errors_total", base, fmt.Sprintf(`tgi_request_failure{instance=%q,err="validation"}`, env.tgi), 7},
		{"tgi_inferencer_errors_total", base, fmt.Sprintf(`tgi_request_failure{instance=%q,err="generation"}`, env.tgi), 2},
		{"tgi_batch_size", base, "tgi_batch_current_size" + sel, 9},
		{"tgi_requests_running", base, "tgi_batch_current_size" + sel, 9},
		{"tgi_queue_length", base, "tgi_queue_size" + sel, 4},
		{"tgi_requests_waiting", base, "tgi_queue_size" + sel, 4},
		{"tgi_requests_in_progress", base, fmt.Sprintf(`sum({__name__=~"tgi_batch_current_size|tgi_queue_size",instance=%q})`, env.tgi), 13},
		{"tgi_time_per_token_seconds_count", base, "tgi_request_mean_time_per_token_duration_count" + sel, 221},
		{"tgi_request_duration_seconds_count", base, "tgi_request_duration_count" + sel, 221},
		{"tgi_queue_duration_seconds_count", base, "tgi_request_queue_duration_count" + sel, 221},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s%v", tt.name, tt.labels), func(t *testing.T) {
			got, ok := exp.find(t, tt.name, tt.labels)
			require.True(t, ok, "%s%v not exported", tt.name, tt.labels)
			require.InDelta(t, tt.want, got, 1e-9)
			require.InDelta(t, queryOne(t, env.api, tt.query), got, 1e-9)
		})
	}
	// Token counters come from histogram sums, which the fixture does not
	// state as one number: compare with the query only.
	for name, q := range map[string]string{
		"tgi_tokens_generated_total": "tgi_request_generated_tokens_sum" + sel,
		"tgi_decode_tokens_total":    "tgi_request_generated_tokens_sum" + sel,
		"tgi_prefill_tokens_total":   "tgi_request_input_length_sum" + sel,
	} {
		got, ok := exp.find(t, name, base)
		require.True(t, ok, name)
		want := queryOne(t, env.api, q)
		require.Positive(t, want)
		require.InDelta(t, want, got, 1e-9, name)
	}
	for name, q := range map[string]string{
		"tgi_time_per_token_seconds":   "tgi_request_mean_time_per_token_duration_bucket" + sel,
		"tgi_request_duration_seconds": "tgi_request_duration_bucket" + sel,
		"tgi_queue_duration_seconds":   "tgi_request_queue_duration_bucket" + sel,
	} {
		want := queryBuckets(t, env.api, q)
		require.Len(t, want, 36, "TGI's 35 duration buckets and +Inf")
		require.Equal(t, want, exp.bucketsOf(name, base), name)
	}
	// TGI measures neither TTFT nor ITL; the seed's names for them are not made up.
	for _, name := range []string{"tgi_ttft_seconds_count", "tgi_itl_seconds_count"} {
		_, ok := exp.find(t, name, nil)
		require.False(t, ok, name)
	}
}
