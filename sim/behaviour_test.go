package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestClientTTFTMatchesHistogram checks that a plain HTTP client timing the SSE content chunks
// sees what the simulator's own histograms report for the same requests: TTFT (first chunk),
// inter-token latency (gaps between chunks) and end-to-end latency (last chunk). Each engine
// runs in a synctest bubble (see harness), so the two agree exactly, not within a tolerance
// that a loaded machine could exceed.
func TestClientTTFTMatchesHistogram(t *testing.T) {
	t.Parallel()
	tests := []struct {
		engine         Engine
		ttft, itl, e2e string
	}{
		{EngineVLLM, "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds"},
		{EngineSGLang, "sglang:time_to_first_token_seconds", "sglang:inter_token_latency_seconds", "sglang:e2e_request_latency_seconds"},
	}
	for _, tc := range tests {
		t.Run(string(tc.engine), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				// No synthetic traffic, so the histogram holds exactly the client's requests.
				h := start(t, Options{Engine: tc.engine, Seed: 11}, func(s *Simulator) { s.SetLoad(0) })
				before := h.scrape(t)
				sum0, count0 := histSumCount(t, before, tc.ttft)
				itlSum0, itlCount0 := histSumCount(t, before, tc.itl)
				e2eSum0, e2eCount0 := histSumCount(t, before, tc.e2e)

				// Twelve concurrent clients with prompts of 250–3000 tokens: prefills queue behind
				// one another in the 2048-token step budget, so TTFTs spread over ~0.05–1 s.
				const clients, perClient = 12, 3
				const maxTokens = 8
				var mu sync.Mutex
				var measured, gaps, totals []float64
				var errs []error
				var wg sync.WaitGroup
				for c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range perClient {
							prompt := strings.Repeat("tok ", 250*(1+(c*perClient+i)%12))
							res, err := h.stream(t.Context(), "/v1/completions", map[string]any{"prompt": prompt, "max_tokens": maxTokens, "ignore_eos": true})
							mu.Lock()
							if err != nil || len(res.tokenTimes) != maxTokens {
								errs = append(errs, fmt.Errorf("client %d request %d: %d tokens: %w", c, i, len(res.tokenTimes), err))
								mu.Unlock()
								return
							}
							measured = append(measured, res.firstToken.Seconds())
							for k := 1; k < len(res.tokenTimes); k++ {
								gaps = append(gaps, (res.tokenTimes[k] - res.tokenTimes[k-1]).Seconds())
							}
							totals = append(totals, res.tokenTimes[len(res.tokenTimes)-1].Seconds())
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				require.NoError(t, errors.Join(errs...))
				after := h.scrape(t)
				sum1, count1 := histSumCount(t, after, tc.ttft)
				itlSum1, itlCount1 := histSumCount(t, after, tc.itl)
				e2eSum1, e2eCount1 := histSumCount(t, after, tc.e2e)
				require.Equal(t, uint64(clients*perClient), count1-count0)
				require.Equal(t, uint64(clients*perClient), e2eCount1-e2eCount0)
				require.Equal(t, uint64(clients*perClient*(maxTokens-1)), itlCount1-itlCount0, "one ITL sample per later token")
				require.Len(t, gaps, clients*perClient*(maxTokens-1))

				clientMean, serverMean := mean(measured), (sum1-sum0)/float64(count1-count0)
				t.Logf("TTFT: client mean %.4fs, histogram mean %.4fs", clientMean, serverMean)
				require.Greater(t, serverMean, 0.05, "long prompts must give a visible prefill time")
				// On the bubble's clock HTTP, JSON and the pipe take no time, so the client sees
				// exactly what the histogram holds (up to float rounding of the sums).
				require.InDelta(t, serverMean, clientMean, 1e-9)

				clientE2E, serverE2E := mean(totals), (e2eSum1-e2eSum0)/float64(e2eCount1-e2eCount0)
				t.Logf("e2e: client mean %.4fs, histogram mean %.4fs", clientE2E, serverE2E)
				require.InDelta(t, serverE2E, clientE2E, 1e-9)

				clientITL, serverITL := mean(gaps), (itlSum1-itlSum0)/float64(itlCount1-itlCount0)
				t.Logf("ITL: client mean %.4fs, histogram mean %.4fs", clientITL, serverITL)
				require.Greater(t, serverITL, 0.005, "a decode step takes at least the fixed step cost")
				require.InDelta(t, serverITL, clientITL, 1e-9)
			})
		})
	}
}

// TestLoadSpike raises the load multiplier far above the engine's capacity and checks that
// requests queue: the waiting gauge grows and TTFT rises from milliseconds to seconds. It runs
// in a synctest bubble: its waits pass on the fake clock, as fast as the engine computes.
func TestLoadSpike(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := start(t, Options{Engine: EngineVLLM, Seed: 3}, nil)
		const ttft = "vllm:time_to_first_token_seconds"
		require.Eventually(t, func() bool { _, n := histSumCount(t, h.scrape(t), ttft); return n >= 5 }, 15*time.Second, 50*time.Millisecond)
		baseSum, baseCount := histSumCount(t, h.scrape(t), ttft)
		baseMean := baseSum / float64(baseCount)

		h.sim.SetLoad(25)
		fams := h.scrape(t)
		require.Eventually(t, func() bool {
			fams = h.scrape(t)
			return gaugeValue(t, fams, "vllm:num_requests_waiting") >= 60
		}, 20*time.Second, 100*time.Millisecond)
		// Requests admitted from now on have waited behind a queue of 60 or more.
		before := fams["vllm:time_to_first_token_seconds"].GetMetric()[0].GetHistogram()
		time.Sleep(3 * time.Second)
		fams = h.scrape(t)
		after := fams["vllm:time_to_first_token_seconds"].GetMetric()[0].GetHistogram()
		n := after.GetSampleCount() - before.GetSampleCount()
		require.Positive(t, n, "the engine keeps admitting requests while overloaded")
		spikeMean := (after.GetSampleSum() - before.GetSampleSum()) / float64(n)
		// p99 from the bucket increases, the way histogram_quantile picks its bucket.
		var p99Bucket float64
		for i, b := range after.GetBucket() {
			if float64(b.GetCumulativeCount()-before.GetBucket()[i].GetCumulativeCount()) >= 0.99*float64(n) {
				p99Bucket = b.GetUpperBound()
				break
			}
		}
		t.Logf("TTFT mean %.3fs at load 1, %.3fs during the spike (p99 bucket le=%v); waiting %v, KV usage %v",
			baseMean, spikeMean, p99Bucket, gaugeValue(t, fams, "vllm:num_requests_waiting"),
			gaugeValue(t, fams, "vllm:kv_cache_usage_perc"))
		require.Greater(t, spikeMean, 10*baseMean)
		require.Greater(t, spikeMean, 1.0)
		require.GreaterOrEqual(t, p99Bucket, 2.5, "p99 TTFT above one second")
		require.Greater(t, gaugeValue(t, fams, "vllm:kv_cache_usage_perc"), 0.6, "a saturated engine fills its KV cache")
		a := h.sim.Activity()
		require.Greater(t, a.Waiting, 30)
		require.Greater(t, a.Busy, 0.5)
		require.Greater(t, a.TokensPerSecond, 100.0)
	})
}

// TestFrontDelay checks that the front delay holds back the response start but stays out of
// the server's TTFT histogram. Each case runs in a synctest bubble (see harness).
func TestFrontDelay(t *testing.T) {
	t.Parallel()
	const ttft = "vllm:time_to_first_token_seconds"
	tests := []struct {
		name  string
		set   string        // POST /sim/front_delay?d=
		delay time.Duration // the front delay then in force
	}{
		{name: "from options", delay: 600 * time.Millisecond},
		{name: "set over HTTP", set: "900ms", delay: 900 * time.Millisecond},
		{name: "removed", set: "0s", delay: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := start(t, Options{Engine: EngineVLLM, Seed: 4, FrontDelay: 600 * time.Millisecond}, func(s *Simulator) { s.SetLoad(0) })
				if tc.set != "" {
					resp, err := h.srv.Client().Post(h.srv.URL+"/sim/front_delay?d="+tc.set, "", nil)
					require.NoError(t, err)
					require.NoError(t, resp.Body.Close())
					require.Equal(t, http.StatusOK, resp.StatusCode)
				}
				sum0, n0 := histSumCount(t, h.scrape(t), ttft)
				res := h.streamRequest(t, "/v1/completions", map[string]any{"prompt": "hello", "max_tokens": 3, "ignore_eos": true})
				sum1, n1 := histSumCount(t, h.scrape(t), ttft)
				require.Equal(t, n0+1, n1)
				server := time.Duration((sum1 - sum0) * float64(time.Second))
				t.Logf("headers after %v, first token after %v, server TTFT %v", res.headers, res.firstToken, server)
				// The bubble's clock makes these exact: the response starts after the delay, and
				// the first token comes the server's TTFT later.
				require.Equal(t, tc.delay, res.headers)
				require.InDelta(t, (tc.delay + server).Seconds(), res.firstToken.Seconds(), 1e-9)
				require.Less(t, server, 200*time.Millisecond, "the server's TTFT must not include the front delay")
			})
		})
	}
}

// TestDeterministicWorkload checks that one seed gives one synthetic request sequence, whatever
// the simulator instance, and that another seed gives another.
func TestDeterministicWorkload(t *testing.T) {
	t.Parallel()
	type arrival struct {
		offset            time.Duration
		prompt, maxTokens int
		target            int
		reason            string
	}
	gen := func(seed int64, load float64) []arrival {
		s, err := New(Options{Engine: EngineTGI, Seed: seed, Load: load})
		require.NoError(t, err)
		c := s.core
		c.start = time.Unix(1_700_000_000, 0)
		c.arrivals(c.start, c.start.Add(4*time.Minute)) // one full load cycle
		var out []arrival
		for _, r := range c.waiting {
			require.True(t, r.synthetic)
			out = append(out, arrival{r.arrival.Sub(c.start), r.prompt, r.maxTokens, r.target, r.reason})
		}
		return out
	}
	a, b, other := gen(42, 1), gen(42, 1), gen(43, 1)
	require.Equal(t, a, b)
	require.NotEqual(t, a[:10], other[:10])
	// Poisson counts: the mean over a whole cycle is the base rate (2/s), so about 480
	// arrivals; 5 standard deviations is ±110.
	require.InDelta(t, 480, len(a), 110)
	for _, x := range a {
		require.GreaterOrEqual(t, x.prompt, minPromptLen)
		require.LessOrEqual(t, x.prompt, 4096)
		require.LessOrEqual(t, x.target, x.maxTokens)
		require.Equal(t, x.target == x.maxTokens, x.reason == reasonLength)
	}
	// Four times the load, about four times the arrivals; the lengths come in the same order.
	four := gen(42, 4)
	require.InDelta(t, 4*480, len(four), 250)
	for i := range 50 {
		require.Equal(t, a[i].prompt, four[i].prompt)
		require.Equal(t, a[i].target, four[i].target)
	}
}

func TestLoadCycle(t *testing.T) {
	t.Parallel()
	s, err := New(Options{ArrivalRate: 2, Load: 3})
	require.NoError(t, err)
	c := s.core
	c.start = time.Unix(0, 0)
	period := c.prof.cyclePeriod
	tests := []struct {
		at   time.Duration
		want float64
	}{
		{0, 6},
		{period / 4, 9},
		{period / 2, 6},
		{3 * period / 4, 3},
	}
	for _, tc := range tests {
		require.InDelta(t, tc.want, c.rateAt(c.start.Add(tc.at)), 1e-9, "at %v", tc.at)
	}
	s.SetLoad(0)
	require.Zero(t, c.rateAt(c.start.Add(period/4)))
}

// newTestCore builds an engine without jitter whose steps are driven by the test.
func newTestCore(t *testing.T, prof profile) (*core, *vllmV1) {
	t.Helper()
	prof.jitter = 0
	s, err := newSimulator(Options{Engine: EngineVLLM, Model: "m", ArrivalRate: 1, Load: 1, Logger: slog.New(slog.DiscardHandler)}, prof)
	require.NoError(t, err)
	s.core.setLoad(0)
	return s.core, s.core.expo.(*vllmV1)
}

// step runs one engine step at now with the modelled duration and returns the plan.
func step(c *core, now time.Time) ([]planEntry, time.Duration, *stepResult) {
	plan, res := c.schedule(now)
	if len(plan) == 0 {
		return nil, 0, res
	}
	d := c.stepDuration(plan, res)
	res.start, res.end = now, now.Add(d)
	deliver(c.complete(plan, res))
	c.expo.step(res)
	c.expo.state(c.state())
	return plan, d, res
}

func addRequest(c *core, at time.Time, prompt, target int) *request {
	r := &request{id: c.nextID.Add(1), arrival: at, prompt: prompt, maxTokens: target, target: target, reason: reasonLength}
	c.enqueue(r)
	r.eligible = at
	return r
}

func TestSchedulerPrefillIsChunkedAndGrowsWithPrompt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prompt    int
		wantSteps int // steps until the first token, with a 2048-token budget
	}{
		{100, 1},
		{2048, 1},
		{2049, 2},
		{5000, 3},
	}
	var prevTTFT time.Duration
	for _, tc := range tests {
		c, _ := newTestCore(t, defaultProfile())
		now := time.Unix(100, 0)
		r := addRequest(c, now, tc.prompt, 2)
		steps := 0
		for r.firstTok.IsZero() && steps < 10 {
			_, d, _ := step(c, now)
			now = now.Add(d)
			steps++
		}
		require.Equal(t, tc.wantSteps, steps, "prompt %d", tc.prompt)
		ttft := r.firstTok.Sub(r.arrival)
		require.Greater(t, ttft, prevTTFT, "prefill time must grow with the prompt")
		prevTTFT = ttft
	}
}

func TestSchedulerDecodeStepGrowsWithBatch(t *testing.T) {
	t.Parallel()
	var prev time.Duration
	for _, batch := range []int{1, 8, 32, 64} {
		c, v := newTestCore(t, defaultProfile())
		now := time.Unix(100, 0)
		for range batch {
			addRequest(c, now, 16, 50)
		}
		_, d, _ := step(c, now) // prefill step for everyone
		now = now.Add(d)
		plan, d, res := step(c, now) // first decode step
		require.Len(t, plan, batch)
		require.Equal(t, batch, res.decodeTokens)
		require.Zero(t, res.prefillTokens)
		require.Greater(t, d, prev, "batch %d", batch)
		prev = d
		require.InDelta(t, float64(batch*2), counterValue(t, v.generationTokens), 0)
	}
}

func TestSchedulerQueuesWhenKVCacheIsFull(t *testing.T) {
	t.Parallel()
	prof := defaultProfile()
	prof.numBlocks = 64 // 1024 tokens
	c, v := newTestCore(t, prof)
	now := time.Unix(100, 0)
	a := addRequest(c, now, 600, 100)
	b := addRequest(c, now, 600, 100) // does not fit next to a
	_, d, _ := step(c, now)
	require.Equal(t, []*request{a}, c.running)
	require.Equal(t, []*request{b}, c.waiting)
	require.InDelta(t, float64(ceilDiv(600, 16))/64, c.state().kvUsage(), 1e-9)
	now = stepUntil(t, c, now.Add(d), func() bool { return a.done })
	// b waited for a to finish; its queue time is a's whole life.
	stepUntil(t, c, now, func() bool { return !b.firstTok.IsZero() })
	require.GreaterOrEqual(t, b.scheduled, a.lastTok)
	require.Zero(t, counterValue(t, v.preemptions))
}

func TestSchedulerPreemptsWhenDecodeOverflowsCache(t *testing.T) {
	t.Parallel()
	prof := defaultProfile()
	prof.numBlocks = 64 // 1024 tokens
	c, v := newTestCore(t, prof)
	now := time.Unix(100, 0)
	// Both prompts fit (2 × 400 tokens = 50 blocks), but their outputs cannot both grow to 300.
	a := addRequest(c, now, 400, 300)
	b := addRequest(c, now, 400, 300)
	preempted := false
	for range 2000 {
		if a.done && b.done {
			break
		}
		_, d, _ := step(c, now)
		now = now.Add(d)
		if !preempted && counterValue(t, v.preemptions) > 0 {
			preempted = true
			// The newest running request goes back to the front of the queue and loses its KV.
			require.Equal(t, []*request{a}, c.running)
			require.Equal(t, []*request{b}, c.waiting)
			require.Zero(t, b.computed)
			require.Zero(t, b.blocks)
			require.Positive(t, b.generated)
		}
		require.GreaterOrEqual(t, c.freeBlocks, 0)
		require.LessOrEqual(t, c.freeBlocks, prof.numBlocks)
	}
	require.True(t, preempted)
	require.True(t, a.done && b.done)
	require.Equal(t, 300, b.generated)
	require.Equal(t, prof.numBlocks, c.freeBlocks, "every block is returned")
	// b's time out of the cache shows up in its inter-token gaps, not in its queue time.
	require.Equal(t, b.scheduled, b.arrival)
}

// stepUntil runs engine steps from now until done holds (at most 10000 steps)
// and returns the time after the last one.
func stepUntil(t *testing.T, c *core, now time.Time, done func() bool) time.Time {
	t.Helper()
	for range 10000 {
		if done() {
			return now
		}
		_, d, _ := step(c, now)
		now = now.Add(d)
	}
	t.Fatal("not done after 10000 engine steps")
	return now
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

// TestRunStopsEverything cancels Run while a stream is in flight: the stream ends, Run
// returns, new requests are refused, and goleak (TestMain) finds no goroutine left behind.
func TestRunStopsEverything(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Engine: EngineVLLM, Seed: 9, Load: 2})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	h := &harness{sim: s, srv: srv}

	body, err := json.Marshal(map[string]any{"prompt": "go on", "max_tokens": 4000, "ignore_eos": true, "stream": true})
	require.NoError(t, err)
	resp, err := h.srv.Client().Post(h.srv.URL+"/v1/completions", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "data: {"), line)

	cancel()
	require.NoError(t, <-done)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Contains(t, string(rest), "shutting down")
	require.NotContains(t, string(rest), "[DONE]")
	require.Zero(t, s.Activity())

	code, out := h.postJSON(t, "/v1/completions", map[string]any{"prompt": "x", "max_tokens": 1})
	require.Equal(t, http.StatusServiceUnavailable, code, out)
	require.Error(t, s.Run(context.Background()), "a simulator runs once")
}

func TestListenAndServe(t *testing.T) {
	t.Parallel()
	var logs testbin.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ListenAndServe(ctx, Options{Engine: EngineLlamaCPP, Seed: 1, Logger: logger}, "127.0.0.1:0")
	}()
	var addr string
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "Simulator listening" {
				require.Equal(t, "sim", rec["component"])
				addr, _ = rec["address"].(string)
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	require.True(t, strings.HasPrefix(addr, "127.0.0.1:"), addr)

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/health")
	require.NoError(t, err)
	var health map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&health))
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "ok", health["status"])
	resp, err = client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	fams := parseText(t, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Contains(t, fams, "llamacpp:tokens_predicted_total")
	client.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return after cancel")
	}
	require.Contains(t, logs.String(), "Simulator stopped")
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// TestClientDisconnectAborts checks that a client that goes away mid-stream aborts its
// request: the engine frees its KV blocks and the exposition counts the abort.
func TestClientDisconnectAborts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		engine Engine
		series string // the counter that counts the abort
		label  string
		value  string
	}{
		{EngineVLLM, "vllm:request_success_total", "finished_reason", "abort"},
		{EngineTGI, "tgi_request_failure", "err", "dropped"},
		{EngineSGLang, "sglang:num_aborted_requests_total", "", ""},
	}
	for _, tc := range tests {
		t.Run(string(tc.engine), func(t *testing.T) {
			t.Parallel()
			h := start(t, Options{Engine: tc.engine, Seed: 8}, func(s *Simulator) { s.SetLoad(0) })
			ctx, cancel := context.WithCancel(t.Context())
			body, err := json.Marshal(map[string]any{"prompt": "tell a long story", "max_tokens": 4000, "ignore_eos": true, "stream": true})
			require.NoError(t, err)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+"/v1/completions", bytes.NewReader(body))
			require.NoError(t, err)
			resp, err := h.srv.Client().Do(req)
			require.NoError(t, err)
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(line, "data: {"), line)
			require.Equal(t, 1, h.sim.Activity().Running)
			cancel()
			_ = resp.Body.Close()

			require.Eventually(t, func() bool {
				f, ok := h.scrape(t)[tc.series]
				if !ok {
					return false
				}
				for _, m := range f.GetMetric() {
					if tc.label == "" || labelValue(m, tc.label) == tc.value {
						return m.GetCounter().GetValue() == 1
					}
				}
				return false
			}, 5*time.Second, 20*time.Millisecond)
			require.Eventually(t, func() bool { a := h.sim.Activity(); return a.Running == 0 && a.KVCacheUsage == 0 }, 5*time.Second, 20*time.Millisecond)
		})
	}
}

// TestSyntheticClientsGiveUp checks the synthetic clients' timeout: a synthetic request still
// queued after a minute is aborted; HTTP requests and scheduled requests are not.
func TestSyntheticClientsGiveUp(t *testing.T) {
	t.Parallel()
	c, v := newTestCore(t, defaultProfile())
	t0 := time.Unix(100, 0)
	c.addSynthetic(t0, spec{prompt: 100, maxTokens: 10, natural: 5})
	queued := c.waiting[0]
	httpReq := addRequest(c, t0, 100, 10)
	c.addSynthetic(t0, spec{prompt: 100, maxTokens: 10, natural: 5})
	scheduled := c.waiting[2]
	scheduled.scheduled = t0

	c.reap(t0.Add(59 * time.Second))
	require.Len(t, c.waiting, 3)
	c.reap(t0.Add(61 * time.Second))
	require.Equal(t, []*request{httpReq, scheduled}, c.waiting)
	require.True(t, queued.done)
	var m dto.Metric
	require.NoError(t, v.success.WithLabelValues(reasonAbort).Write(&m))
	require.InDelta(t, 1, m.GetCounter().GetValue(), 0)
}
