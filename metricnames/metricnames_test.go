package metricnames

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// TestTableNames checks every name of the table: a valid legacy metric name
// (Prometheus 2.x, which loads the exported rule files, wants one), with the
// server's prefix, and used for one quantity of one server only, so that a
// rename is one edit.
func TestTableNames(t *testing.T) {
	prefix := map[Server]string{VLLM: "vllm:", TGI: "tgi_", SGLang: "sglang:", LlamaCpp: "llamacpp:"}
	require.Equal(t, []Server{LlamaCpp, SGLang, TGI, VLLM}, Servers())
	owner := map[string]string{}
	for _, s := range Servers() {
		require.NotEmpty(t, Quantities(s), s)
		for _, q := range Quantities(s) {
			names := Names(s, q)
			require.NotEmpty(t, names, "%s %s", s, q)
			for _, n := range names {
				require.True(t, model.LegacyValidation.IsValidMetricName(n), "%s %s: %q", s, q, n)
				require.True(t, strings.HasPrefix(n, prefix[s]), "%s %s: %q lacks the prefix %q", s, q, n, prefix[s])
				where := string(s) + " " + string(q)
				require.NotContains(t, owner, n, "%q is listed for %s and %s", n, owner[n], where)
				owner[n] = where
			}
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		server  Server
		q       Quantity
		want    []string
		wantErr string
	}{
		{"current then replaced", VLLM, ITL, []string{"vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"}, ""},
		{"one name", TGI, Queue, []string{"tgi_request_queue_duration"}, ""},
		{"unknown server", "triton", TTFT, nil, `unknown server kind "triton" (metricnames has [llamacpp sglang tgi vllm])`},
		{"quantity the server lacks", TGI, TTFT, nil, `server kind "tgi" reports no "ttft" in metricnames`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Lookup(tt.server, tt.q)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	require.Equal(t, "vllm:kv_cache_usage_perc", Current(VLLM, KVCacheUsage))
	require.PanicsWithValue(t, `metricnames: server kind "llamacpp" reports no "ttft" in metricnames`, func() { Current(LlamaCpp, TTFT) })

	// Callers get a copy: changing it leaves the table as it was.
	got := Names(VLLM, ITL)
	got[0] = "changed"
	require.Equal(t, "vllm:inter_token_latency_seconds", Current(VLLM, ITL))
}
