package probe

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestTiming streams with known timing — headers at once, a role-only chunk,
// the first token after 200 ms, then one token every 20 ms, 10 in all — and
// checks the probe's TTFT, TPOT, gaps and end-to-end latency. The server and
// the probe run in a synctest bubble over an in-memory connection, so time
// is the bubble's fake clock: the numbers are exact, not within a tolerance
// that a loaded machine could exceed.
func TestTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			first  = 200 * time.Millisecond
			step   = 20 * time.Millisecond
			tokens = 10
		)
		s := &server{released: make(chan struct{})}
		handler := wrapHandler(s, func(w http.ResponseWriter, _ *http.Request) {
			sse := startSSE(w)
			sse.role()
			time.Sleep(first)
			for i := range tokens {
				if i > 0 {
					time.Sleep(step)
				}
				sse.content(fmt.Sprintf(" %d", i+1))
			}
			sse.finish(tokens)
		})
		listener := testbin.NewPipeListener()
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: time.Second}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(listener) }()
		defer func() {
			close(s.released)
			require.NoError(t, srv.Close())
			require.ErrorIs(t, <-served, http.ErrServerClosed)
		}()

		client := &http.Client{Transport: listener.Transport()}
		const endpoint = "http://127.0.0.1:8000"
		h := newHarness(t, Options{Client: client})
		require.NoError(t, h.m.ApplyConfig([]Config{cfg(endpoint, func(c *Config) { c.Server = "vllm" })}))
		stop := h.run(t)
		h.waitProbes(t, 1)
		stop()
		require.Equal(t, map[string]float64{"ok/200": 1}, h.outcomes(t))

		e2e := first + (tokens-1)*step
		require.Equal(t, first.Seconds(), h.value(t, "tokenpath_probe_last_ttft_seconds"), "TTFT")
		require.InDelta(t, step.Seconds(), h.value(t, "tokenpath_probe_last_tpot_seconds"), 1e-12, "TPOT")
		require.Equal(t, e2e.Seconds(), h.value(t, "tokenpath_probe_last_e2e_seconds"), "end to end")
		// The role-only chunk came at once.
		require.Zero(t, h.histogram(t, "tokenpath_probe_time_to_first_chunk_seconds").GetSampleSum())

		gaps := h.histogram(t, "tokenpath_probe_inter_chunk_seconds")
		require.Equal(t, uint64(tokens-1), gaps.GetSampleCount())
		require.InDelta(t, ((tokens - 1) * step).Seconds(), gaps.GetSampleSum(), 1e-12, "gaps")
		require.Equal(t, float64(tokens), h.value(t, "tokenpath_probe_output_tokens_total"))
		require.Equal(t, float64(tokens), h.value(t, "tokenpath_probe_last_output_tokens"))
		require.Equal(t, float64(tokens), h.value(t, "tokenpath_probe_chunks_total"))

		// Native and classic buckets on the same histogram.
		ttftH := h.histogram(t, "tokenpath_probe_ttft_seconds")
		require.Len(t, ttftH.GetBucket(), len(LatencyBuckets()), "classic buckets")
		require.NotZero(t, ttftH.GetSchema(), "native schema")
		require.NotEmpty(t, ttftH.GetPositiveSpan(), "native spans")

		l := labelMap(h.family(t, "tokenpath_probe_ttft_seconds")[0])
		require.Equal(t, map[string]string{"target": endpoint, "model": "test-model", "api": "chat", "target_server": "vllm"}, l)
	})
}
