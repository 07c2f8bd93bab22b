package main

import (
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
	"github.com/ritwikareddykancharla/token-path-observability/rules/slo"
)

// TestSLOWarningsOnlyForKindsSeen: a kind's warnings are logged once, when
// it first appears, never for kinds that do not; a kind seen before the
// warnings are known is logged when they are.
func TestSLOWarningsOnlyForKindsSeen(t *testing.T) {
	byKind, err := slo.BucketWarnings(slo.DefaultObjectives(0, 0), nil, slo.Options{})
	require.NoError(t, err)
	require.Contains(t, byKind, "sglang", "the default objectives warn about SGLang's TTFT buckets")

	logs := &testbin.LogBuffer{}
	w := newSLOWarnings(slog.New(slog.NewTextHandler(logs, nil)))
	w.kindSeen("vllm") // before set: remembered
	w.set(byKind)
	require.Empty(t, logs.String(), "vLLM's buckets hold the default thresholds")
	w.kindSeen("tgi")
	w.kindSeen("other")
	w.kindSeen(slo.ProbeKind)
	require.Empty(t, logs.String())

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { w.kindSeen("sglang") })
	}
	wg.Wait()
	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "SLO threshold between bucket boundaries"), out)
	require.Contains(t, out, "server=sglang")
	require.Contains(t, out, "component=slo")
	require.Contains(t, out, "sglang's ttft histogram (between 4 and 6)")

	// Seen before the warnings are known: logged when they are, once.
	logs2 := &testbin.LogBuffer{}
	w2 := newSLOWarnings(slog.New(slog.NewTextHandler(logs2, nil)))
	w2.kindSeen("sglang")
	require.Empty(t, logs2.String())
	w2.set(byKind)
	w2.kindSeen("sglang")
	require.Equal(t, 1, strings.Count(logs2.String(), "sglang's ttft histogram"), logs2.String())
}
