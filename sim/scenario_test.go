package sim

import (
	"encoding/json"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// scenarioRun is how long each scenario runs before its scrape: long enough
// for a queue to build (queue_saturation), the cache to fill (kv_cache_pressure)
// and enough long prefills to land in the ITL tail (prefill_interference).
const scenarioRun = 45 * time.Second

// TestScenarioShapes runs each scheduling scenario on a vLLM simulator and
// checks, on its own /metrics, the shape that makes the diagnosis name the
// intended cause (rules/README.md, "Diagnosis") and not the others. Each scenario runs in a
// synctest bubble, so its scenarioRun passes on the fake clock, in well under a second.
func TestScenarioShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		scenario string
		check    func(t *testing.T, s shape)
	}{
		{"steady", func(t *testing.T, s shape) {
			require.Less(t, s.TTFTp99, 5.0, "TTFT within its objective")
			require.Less(t, s.ITLp99, 0.1, "ITL within its objective")
			require.Zero(t, s.Preemptions)
		}},
		{"queue_saturation", func(t *testing.T, s shape) {
			require.Greater(t, s.TTFTp99, 5.0, "TTFT above its objective")
			require.GreaterOrEqual(t, s.QueueMean/s.TTFTMean, 0.5, "TTFT is mostly queue time")
			require.Positive(t, s.Waiting, "requests wait")
			require.Less(t, s.KV, 0.9, "the KV cache is not the limit")
			require.Zero(t, s.Preemptions)
		}},
		{"kv_cache_pressure", func(t *testing.T, s shape) {
			require.Greater(t, s.TTFTp99, 5.0, "TTFT above its objective")
			require.GreaterOrEqual(t, s.KV, 0.9, "the KV cache is full")
			require.Positive(t, s.Preemptions, "sequences are preempted")
			require.Positive(t, s.Waiting, "requests wait")
		}},
		{"prefill_interference", func(t *testing.T, s shape) {
			require.Greater(t, s.ITLp99, 0.1, "ITL above its objective")
			require.GreaterOrEqual(t, s.ITLp99/s.ITLp50, 4.0, "ITL spikes: most steps are fast")
			require.GreaterOrEqual(t, s.PromptTokens/(s.PromptTokens+s.Generated), 0.5, "prompt-heavy")
			require.Less(t, s.TTFTp99, 5.0, "no queue: TTFT within its objective")
			require.Less(t, s.KV, 0.9)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := start(t, Options{Engine: EngineVLLM, Seed: 1, Scenario: tc.scenario}, nil)
				time.Sleep(scenarioRun)
				s := shapeOf(t, h.scrape(t))
				t.Log(s)
				tc.check(t, s)
			})
		})
	}
}

// TestScenarioRestart restarts the engine (scenario engine_restart with a
// shorter period): /metrics answers 503 while the model loads, then every
// counter starts again from zero. On a synctest bubble's fake clock.
func TestScenarioRestart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{Engine: EngineVLLM, Seed: 1, Scenario: "engine_restart"}, func(s *Simulator) {
			sc, err := LookupScenario("engine_restart")
			require.NoError(t, err)
			sc.RestartEvery, sc.RestartLoading = 4*time.Second, 2*time.Second
			s.core.scenario.Store(&sc)
		})
		time.Sleep(3 * time.Second)
		before := familyTotal(t, h.scrape(t), "vllm:generation_tokens_total")
		require.Positive(t, before)
		var status int
		waitUntil(t, 5*time.Second, func() bool {
			resp, err := h.srv.Client().Get(h.srv.URL + "/metrics")
			require.NoError(t, err)
			_ = resp.Body.Close()
			status = resp.StatusCode
			return status == http.StatusServiceUnavailable
		})
		// Loaded again: counters from zero, so below what they had reached.
		waitUntil(t, 5*time.Second, func() bool {
			resp, err := h.srv.Client().Get(h.srv.URL + "/metrics")
			require.NoError(t, err)
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		after := familyTotal(t, h.scrape(t), "vllm:generation_tokens_total")
		require.Less(t, after, before, "a restarted engine counts from zero")
	})
}

// waitUntil polls cond every 50 ms for at most d.
func waitUntil(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for i := 0; i < 10000 && time.Now().Before(deadline); i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s", d)
}

// TestScenarioKnob switches scenarios over HTTP and rejects unknown names.
func TestScenarioKnob(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Engine: EngineVLLM, Seed: 1}, nil)
	cases := []struct {
		path   string
		status int
		check  func(t *testing.T, st simState)
	}{
		{"/sim/scenario?name=front_of_engine", http.StatusOK, func(t *testing.T, st simState) {
			require.Equal(t, "front_of_engine", st.Scenario)
			require.Equal(t, "3s", st.FrontDelay)
			require.Equal(t, 1.0, st.Multiplier)
		}},
		{"/sim/scenario?name=queue_saturation", http.StatusOK, func(t *testing.T, st simState) {
			require.Equal(t, "queue_saturation", st.Scenario)
			require.Equal(t, "0s", st.FrontDelay)
			require.Equal(t, 4.0, st.Multiplier)
		}},
		{"/sim/scenario?name=thundering_herd", http.StatusBadRequest, nil},
		{"/sim/scenario", http.StatusBadRequest, nil},
	}
	for _, tc := range cases {
		resp := h.post(t, tc.path, nil)
		require.Equal(t, tc.status, resp.StatusCode, tc.path)
		var st simState
		if tc.check != nil {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
			tc.check(t, st)
		}
		_ = resp.Body.Close()
	}
	// An unknown name leaves the scenario as it was.
	require.Equal(t, "queue_saturation", h.sim.Scenario())
	// A scenario in the options wins over the options' own load and delay.
	s, err := New(Options{Scenario: "front_of_engine", Load: 2})
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, s.FrontDelay())
	require.Equal(t, 1.0, s.Load())
	_, err = New(Options{Scenario: "nope"})
	require.ErrorContains(t, err, `unknown scenario "nope": want one of steady, queue_saturation`)
}
