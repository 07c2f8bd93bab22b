package web

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKindMismatch(t *testing.T) {
	cases := []struct{ job, server, want string }{
		{"vllm", "vllm", ""},
		{"vllm", "", ""}, // not detected yet: nothing to compare
		{"tgi", "vllm", "configured as tgi, but it exposes vllm metrics"},
		{"sglang", "other", "configured as sglang, but it exposes no metrics of a known inference server"},
		{"my-llm", "vllm", ""}, // a custom job says nothing about the server
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, kindMismatch(tc.job, tc.server), "%s/%s", tc.job, tc.server)
	}
}
