package slo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBucketWarningsByKind: every warning RuleFiles gives lands under the
// kind it is about, and only there.
func TestBucketWarningsByKind(t *testing.T) {
	tests := []struct {
		name    string
		objs    []Objective
		buckets map[string][]float64
		// want is kind → substrings, one per warning of that kind.
		want map[string][]string
	}{
		{
			name: "defaults: only SGLang's TTFT buckets lack 5 s",
			objs: DefaultObjectives(0, 0),
			want: map[string][]string{"sglang": {"sglang's ttft histogram (between 4 and 6)"}},
		},
		{
			name: "3 s TTFT: vLLM and SGLang, each its own",
			objs: DefaultObjectives(3*time.Second, 0),
			want: map[string][]string{
				"vllm":   {"vllm's ttft histogram (between 2.5 and 5)"},
				"sglang": {"sglang's ttft histogram (between 2 and 4)"},
			},
		},
		{
			name: "a probe threshold off the probe's buckets",
			objs: []Objective{{Indicator: IndicatorTTFT, Threshold: 1234 * time.Millisecond, Target: 0.99, Source: SourceProbe}},
			want: map[string][]string{ProbeKind: {"probe's tokenpath_probe_ttft_seconds buckets"}},
		},
		{
			name:    "a server's own buckets replace the defaults",
			objs:    DefaultObjectives(0, 0),
			buckets: map[string][]float64{"sglang:ttft": {1, 5, 10}, "vllm:ttft": {1, 2, 10}},
			want:    map[string][]string{"vllm": {"vllm's ttft histogram (between 2 and 10)"}},
		},
		{name: "no objectives, no warnings", want: map[string][]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BucketWarnings(tc.objs, tc.buckets, Options{})
			require.NoError(t, err)
			require.Len(t, got, len(tc.want), "%q", got)
			total := 0
			for kind, subs := range tc.want {
				require.Lenf(t, got[kind], len(subs), "warnings of %s: %q", kind, got[kind])
				for i, s := range subs {
					require.Contains(t, got[kind][i], s)
				}
				total += len(subs)
			}
			// Nothing is lost or doubled against RuleFiles' own list.
			_, all, err := RuleFiles(tc.objs, tc.buckets)
			require.NoError(t, err)
			require.Len(t, all, total)
		})
	}
}
