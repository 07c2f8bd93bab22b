package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server is a real OpenAI-compatible test server whose handler misbehaves
// as a test asks. It counts connections so that a test can check that the
// prober leaves none open.
type server struct {
	*httptest.Server
	open atomic.Int64
	// requests are the decoded completion request bodies and headers.
	mu       sync.Mutex
	bodies   []map[string]any
	headers  []http.Header
	released chan struct{}
	// modelsFailures is how many GET /v1/models calls still answer 503.
	modelsFailures atomic.Int64
	// noModels makes GET /v1/models answer 404 (older TGI).
	noModels atomic.Bool
	// modelList, when set (before the server starts), writes the answer of
	// GET /v1/models.
	modelList func() string
}

// newServer starts the handler that mk builds behind /v1/chat/completions
// and /v1/completions (see wrapHandler).
func newServer(t *testing.T, mk func(s *server) http.HandlerFunc) *server {
	t.Helper()
	return newServerOn(t, mk, nil)
}

// newPipeServer is newServer on in-memory pipes, for a test in a synctest
// bubble (see testbin.PipeListener); the probe reaches it through client.
func newPipeServer(t *testing.T, mk func(s *server) http.HandlerFunc) (srv *server, client *http.Client) {
	t.Helper()
	pipe := testbin.NewPipeListener()
	return newServerOn(t, mk, pipe), &http.Client{Transport: pipe.Transport()}
}

// newServerOn is newServer listening on l (nil: a loopback port).
func newServerOn(t *testing.T, mk func(s *server) http.HandlerFunc, l net.Listener) *server {
	t.Helper()
	s := &server{released: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(wrapHandler(s, mk(s)))
	if l != nil {
		require.NoError(t, s.Listener.Close())
		s.Listener = l
	}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}
	s.Start()
	t.Cleanup(func() {
		close(s.released)
		s.Close()
	})
	return s
}

// requireNoConnections waits (boundedly) for the server to see every
// connection closed.
func (s *server) requireNoConnections(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return s.open.Load() == 0 }, 5*time.Second, 5*time.Millisecond,
		"connections still open: %d", s.open.Load())
}

// sse writes SSE events and flushes after each.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func startSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	f := w.(http.Flusher)
	f.Flush()
	return &sse{w: w, f: f}
}

func (s *sse) data(v string) {
	fmt.Fprintf(s.w, "data: %s\n\n", v)
	s.f.Flush()
}

func (s *sse) content(text string) {
	s.data(fmt.Sprintf(`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`, text))
}

func (s *sse) role() {
	s.data(`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`)
}

func (s *sse) finish(tokens int) {
	s.data(`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`)
	if tokens >= 0 {
		s.data(fmt.Sprintf(`{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":%d,"total_tokens":%d}}`, tokens, tokens+12))
	}
	s.data("[DONE]")
}

// harness runs a Manager with one probe of srv until it has finished want
// probes, then stops it.
type harness struct {
	reg *prometheus.Registry
	m   *Manager
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Registerer = reg
	m, err := NewManager(o)
	require.NoError(t, err)
	return &harness{reg: reg, m: m}
}

// run starts the manager and returns a stop function that cancels it and
// waits for Run to return; it is also registered with t.Cleanup.
func (h *harness) run(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// total is the number of finished probes of every outcome.
func (h *harness) total(t *testing.T) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "tokenpath_probe_requests_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func (h *harness) waitProbes(t *testing.T, n float64) {
	t.Helper()
	require.Eventually(t, func() bool { return h.total(t) >= n }, 20*time.Second, 5*time.Millisecond,
		"waiting for %v probes", n)
}

// outcomes returns outcome/code → count.
func (h *harness) outcomes(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range h.family(t, "tokenpath_probe_requests_total") {
		l := labelMap(m)
		out[l[LabelOutcome]+"/"+l[LabelCode]] += m.GetCounter().GetValue()
	}
	return out
}

func (h *harness) family(t *testing.T, name string) []*dto.Metric {
	t.Helper()
	mfs, err := h.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

// value returns the single gauge or counter of name, failing when absent.
func (h *harness) value(t *testing.T, name string) float64 {
	t.Helper()
	ms := h.family(t, name)
	require.Len(t, ms, 1, name)
	if g := ms[0].GetGauge(); g != nil {
		return g.GetValue()
	}
	return ms[0].GetCounter().GetValue()
}

// histogram returns the single histogram of name.
func (h *harness) histogram(t *testing.T, name string) *dto.Histogram {
	t.Helper()
	ms := h.family(t, name)
	require.Len(t, ms, 1, name)
	return ms[0].GetHistogram()
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func cfg(endpoint string, mod func(*Config)) Config {
	c := Config{
		Endpoint: endpoint, Model: "test-model", MaxTokens: 10,
		Interval: model.Duration(time.Hour), Timeout: model.Duration(2 * time.Second),
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

// TestOutcomes sends one probe to a server that misbehaves in one way and
// checks the outcome it is counted under, which series it fed, and that no
// connection or goroutine is left behind.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	tests := []outcomeCase{
		{
			name: "well-behaved stream",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.role()
					for i := range 3 {
						s.content(strconv.Itoa(i))
					}
					s.finish(3)
				}
			},
			want: "ok/200", complete: true, headers: true,
		},
		{
			name: "HTTP 500",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					http.Error(w, `{"error":"engine dead"}`, http.StatusInternalServerError)
				}
			},
			want: "http_error/500", headers: true,
		},
		{
			name: "headers, then the stream stalls past the timeout",
			handler: func(srv *server) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					s := startSSE(w)
					s.content("a")
					select {
					case <-r.Context().Done():
					case <-srv.released:
					}
				}
			},
			mod:  func(c *Config) { c.Timeout = model.Duration(300 * time.Millisecond) },
			want: "timeout/200", headers: true, maxDuration: 300 * time.Millisecond,
		},
		{
			name: "never sends headers",
			handler: func(srv *server) http.HandlerFunc {
				return func(_ http.ResponseWriter, r *http.Request) {
					select {
					case <-r.Context().Done():
					case <-srv.released:
					}
				}
			},
			mod:  func(c *Config) { c.Timeout = model.Duration(300 * time.Millisecond) },
			want: "timeout/", maxDuration: 300 * time.Millisecond,
		},
		{
			name: "tokens forever: the deadline covers the body",
			handler: func(srv *server) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					s := startSSE(w)
					tick := time.NewTicker(10 * time.Millisecond)
					defer tick.Stop()
					for range 10000 {
						select {
						case <-r.Context().Done():
							return
						case <-srv.released:
							return
						case <-tick.C:
							s.content("x")
						}
					}
				}
			},
			mod:  func(c *Config) { c.Timeout = model.Duration(300 * time.Millisecond) },
			want: "timeout/200", headers: true, maxDuration: 300 * time.Millisecond,
		},
		{
			name: "stream cut in the middle",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.role()
					s.content("a")
					s.content("b")
					// Drop the connection without ending the chunked body.
					conn, _, err := http.NewResponseController(w).Hijack()
					if err == nil {
						conn.Close()
					}
				}
			},
			want: "truncated/200", headers: true,
		},
		{
			name: "stream without usage",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.content("a")
					s.content("b")
					s.finish(-1)
				}
			},
			want: "no_usage/200", complete: true, headers: true,
		},
		{
			name: "a JSON body instead of SSE",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"choices":[{"message":{"content":"hi"}}],"usage":{"completion_tokens":1}}`)
				}
			},
			want: "malformed_stream/200", headers: true,
		},
		{
			name: "an SSE content type with a body that is not SSE",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "text/event-stream")
					fmt.Fprint(w, "<html>gateway says hello</html>\n")
				}
			},
			want: "malformed_stream/200", headers: true,
		},
		{
			name: "data that is not JSON",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.content("a")
					s.data("{not json")
				}
			},
			want: "malformed_stream/200", headers: true,
		},
		{
			name: "an error event in the stream",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.content("a")
					s.data(`{"error":{"object":"error","message":"out of KV cache","code":500}}`)
					s.data("[DONE]")
				}
			},
			want: "malformed_stream/200", headers: true,
		},
		{
			name: "a complete stream without a token",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.role()
					s.finish(0)
				}
			},
			want: "empty_response/200", headers: true,
		},
		{
			name: "TGI without /v1/models: the model TGI ignores",
			handler: func(srv *server) http.HandlerFunc {
				srv.noModels.Store(true)
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.content("a")
					s.content("b")
					s.finish(2)
				}
			},
			mod:  func(c *Config) { c.Model, c.Server = "", "tgi" },
			want: "ok/200", complete: true, headers: true, wantModel: TGIModel,
		},
		{
			name: "model discovery fails",
			handler: func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) { startSSE(w).finish(1) }
			},
			mod:  func(c *Config) { c.Model = ""; c.Endpoint += "/missing" },
			want: "discovery_error/",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.maxDuration > 0 {
				// The timeout cases measure how long the probe took: in a
				// synctest bubble, over in-memory pipes, that is the
				// bubble's fake clock, which no machine load can stretch.
				synctest.Test(t, func(t *testing.T) {
					srv, client := newPipeServer(t, tc.handler)
					checkOutcome(t, tc, srv, Options{Client: client})
				})
				return
			}
			checkOutcome(t, tc, newServer(t, tc.handler), Options{})
		})
	}
}

// outcomeCase is a server that misbehaves in one way, and what the probe
// must make of it.
type outcomeCase struct {
	name    string
	handler func(s *server) http.HandlerFunc
	mod     func(*Config)
	want    string
	// complete: latency histograms and last_* gauges written.
	complete bool
	// headers: a response (time to headers) arrived.
	headers bool
	// maxDuration bounds how long the probe may take (its timeout).
	maxDuration time.Duration
	// wantModel, when set, is the model the completion request named.
	wantModel string
}

// checkOutcome sends one probe to srv and checks tc's outcome and series.
func checkOutcome(t *testing.T, tc outcomeCase, srv *server, o Options) {
	t.Helper()
	h := newHarness(t, o)
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, tc.mod)}))
	began := time.Now()
	stop := h.run(t)
	h.waitProbes(t, 1)
	took := time.Since(began)
	stop()

	require.Equal(t, map[string]float64{tc.want: 1}, h.outcomes(t))
	if tc.wantModel != "" {
		srv.mu.Lock()
		require.Equal(t, tc.wantModel, srv.bodies[0]["model"])
		srv.mu.Unlock()
	}
	if tc.maxDuration > 0 {
		// The deadline is on the whole request. On the bubble's clock took
		// is exact but for waitProbes' 5 ms polling; the margin is the old
		// one, which a loaded machine could once exceed and now cannot.
		require.Less(t, took, tc.maxDuration+500*time.Millisecond)
		require.GreaterOrEqual(t, took, tc.maxDuration)
	}
	success := 0.0
	if tc.complete {
		success = 1
	}
	require.Equal(t, success, h.value(t, "tokenpath_probe_last_success"))
	for _, name := range []string{"tokenpath_probe_ttft_seconds", "tokenpath_probe_e2e_seconds", "tokenpath_probe_time_to_first_chunk_seconds"} {
		if tc.complete {
			require.Equal(t, uint64(1), h.histogram(t, name).GetSampleCount(), name)
		} else {
			require.Empty(t, h.family(t, name), name)
		}
	}
	if tc.want == "discovery_error/" {
		// No completion request was sent.
		require.Empty(t, h.family(t, "tokenpath_probe_schedule_delay_seconds"))
	} else {
		require.Equal(t, uint64(1), h.histogram(t, "tokenpath_probe_schedule_delay_seconds").GetSampleCount())
	}
	if tc.headers {
		require.Equal(t, uint64(1), h.histogram(t, "tokenpath_probe_time_to_headers_seconds").GetSampleCount())
	} else {
		require.Empty(t, h.family(t, "tokenpath_probe_time_to_headers_seconds"))
	}
	srv.requireNoConnections(t)
}

// wrapHandler keeps the /v1 routes of newServer and swaps the completion
// handler; /missing/v1/models answers 404 for the discovery case.
func wrapHandler(s *server, handler http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		if s.noModels.Load() {
			http.NotFound(w, nil)
			return
		}
		if s.modelsFailures.Add(-1) >= 0 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if s.modelList != nil {
			fmt.Fprint(w, s.modelList())
			return
		}
		fmt.Fprint(w, `{"object":"list","data":[{"id":"test-model","object":"model"}]}`)
	})
	complete := func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		handler(w, r)
	}
	mux.HandleFunc("POST /v1/chat/completions", complete)
	mux.HandleFunc("POST /v1/completions", complete)
	return mux
}

// TestRequest checks what a probe sends: the marker header and user, usage
// requested, the API key from a file or the environment, extra headers, the
// completions API, and a discovered model.
func TestRequest(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("file-secret\n"), 0o600))
	tests := []struct {
		name       string
		mod        func(*Config)
		wantAuth   string
		wantPath   string
		wantModel  string
		wantPrompt bool
	}{
		{name: "chat, key from a file", mod: func(c *Config) { c.APIKeyFile = keyFile }, wantAuth: "Bearer file-secret", wantModel: "test-model"},
		{name: "completions, key from the environment, discovered model", mod: func(c *Config) {
			c.API, c.APIKeyEnv, c.Model = APICompletions, "PROBE_KEY", ""
		}, wantAuth: "Bearer env-secret", wantModel: "test-model", wantPrompt: true},
		{name: "endpoint ending in /v1", mod: func(c *Config) { c.Endpoint += "/v1" }, wantModel: "test-model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(*server) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.data(`{"choices":[{"index":0,"text":"hi"}]}`)
					s.data(`{"choices":[{"index":0,"text":" there"}]}`)
					s.finish(2)
				}
			})
			h := newHarness(t, Options{Getenv: func(k string) string {
				if k == "PROBE_KEY" {
					return "env-secret"
				}
				return ""
			}})
			c := cfg(srv.URL, tc.mod)
			c.Headers = map[string]string{"X-Team": "infra"}
			require.NoError(t, h.m.ApplyConfig([]Config{c}))
			stop := h.run(t)
			h.waitProbes(t, 1)
			stop()
			require.Equal(t, map[string]float64{"ok/200": 1}, h.outcomes(t))

			srv.mu.Lock()
			defer srv.mu.Unlock()
			require.Len(t, srv.bodies, 1)
			body, hdr := srv.bodies[0], srv.headers[0]
			require.Equal(t, "1", hdr.Get(ProbeHeader))
			require.Equal(t, "infra", hdr.Get("X-Team"))
			require.Equal(t, tc.wantAuth, hdr.Get("Authorization"))
			require.Equal(t, ProbeUser, body["user"])
			require.Equal(t, true, body["stream"])
			require.Equal(t, map[string]any{"include_usage": true}, body["stream_options"])
			require.Equal(t, tc.wantModel, body["model"])
			require.EqualValues(t, 10, body["max_tokens"])
			_, hasPrompt := body["prompt"]
			_, hasMessages := body["messages"]
			require.Equal(t, tc.wantPrompt, hasPrompt)
			require.Equal(t, !tc.wantPrompt, hasMessages)
			require.Equal(t, tc.wantModel, labelMap(h.family(t, "tokenpath_probe_ttft_seconds")[0])["model"])
		})
	}
}

// TestSchedule holds the first probe in flight across several ticks: they
// are skipped and counted, never run concurrently, and the schedule resumes
// once the probe ends.
func TestSchedule(t *testing.T) {
	t.Parallel()
	var concurrent, maxConcurrent atomic.Int64
	srv := newServer(t, func(*server) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			n := concurrent.Add(1)
			defer concurrent.Add(-1)
			for {
				m := maxConcurrent.Load()
				if n <= m || maxConcurrent.CompareAndSwap(m, n) {
					break
				}
			}
			s := startSSE(w)
			s.content("a")
			s.content("b")
			s.finish(2)
		}
	})
	release := make(chan struct{})
	var probes atomic.Int64
	h := newHarness(t, Options{afterProbe: func() {
		if probes.Add(1) == 1 {
			<-release
		}
	}})
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, func(c *Config) {
		c.Interval = model.Duration(50 * time.Millisecond)
		c.Timeout = model.Duration(50 * time.Millisecond)
	})}))
	stop := h.run(t)
	require.Eventually(t, func() bool {
		ms := h.family(t, "tokenpath_probe_skipped_total")
		return len(ms) == 1 && ms[0].GetCounter().GetValue() >= 3
	}, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 1.0, h.total(t), "no probe while the first is in flight")
	close(release)
	h.waitProbes(t, 4)
	stop()
	require.Equal(t, int64(1), maxConcurrent.Load())
	sd := h.histogram(t, "tokenpath_probe_schedule_delay_seconds")
	require.GreaterOrEqual(t, sd.GetSampleCount(), uint64(4))
	// Skipped ticks are not fired late (that would be a delay of 150 ms or
	// more): every delay is within 100 ms.
	found := false
	for _, b := range sd.GetBucket() {
		if b.GetUpperBound() == 0.1 {
			found = true
			require.Equal(t, sd.GetSampleCount(), b.GetCumulativeCount())
		}
	}
	require.True(t, found, "no 0.1 s bucket")
	srv.requireNoConnections(t)
}

// TestApplyConfig rejects bad configurations with the field named and keeps
// the probes that run; a good one replaces them and deletes the old series.
func TestApplyConfig(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(*server) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			s := startSSE(w)
			s.content("a")
			s.content("b")
			s.finish(2)
		}
	})
	h := newHarness(t, Options{Getenv: func(string) string { return "" }})
	fast := func(c *Config) {
		c.Interval, c.Timeout = model.Duration(40*time.Millisecond), model.Duration(40*time.Millisecond)
	}
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, fast)}))
	stop := h.run(t)
	h.waitProbes(t, 1)

	bad := []struct {
		name  string
		mod   func(*Config)
		field string
	}{
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "probes[0].endpoint"},
		{"not http", func(c *Config) { c.Endpoint = "ftp://127.0.0.1" }, "probes[0].endpoint"},
		{"an API path", func(c *Config) { c.Endpoint += "/v1/chat/completions" }, "probes[0].endpoint"},
		{"bad api", func(c *Config) { c.API = "responses" }, "probes[0].api"},
		{"negative max_tokens", func(c *Config) { c.MaxTokens = -1 }, "probes[0].max_tokens"},
		{"timeout over interval", func(c *Config) { c.Timeout = model.Duration(2 * time.Hour) }, "probes[0].timeout"},
		{"negative interval", func(c *Config) { c.Interval = model.Duration(-time.Second) }, "probes[0].interval"},
		{"missing key file", func(c *Config) { c.APIKeyFile = filepath.Join(t.TempDir(), "none") }, "probes[0].api_key_file"},
		{"unset key variable", func(c *Config) { c.APIKeyEnv = "NOT_SET" }, "probes[0].api_key_env"},
		{"both key sources", func(c *Config) { c.APIKeyEnv, c.APIKeyFile = "A", "B" }, "probes[0].api_key_file"},
		{"bad header", func(c *Config) { c.Headers = map[string]string{"Bad Name": "x"} }, "probes[0].headers"},
		{"bad server", func(c *Config) { c.Server = "ollama" }, "probes[0].server"},
	}
	for _, tc := range bad {
		err := h.m.ApplyConfig([]Config{cfg(srv.URL, tc.mod)})
		require.ErrorContains(t, err, tc.field+":", tc.name)
	}
	err := h.m.ApplyConfig([]Config{cfg(srv.URL, nil), cfg(srv.URL, nil)})
	require.ErrorContains(t, err, "probes[1].endpoint")

	// The old probe still runs.
	before := h.total(t)
	h.waitProbes(t, before+2)

	// Replacing it with another model deletes the old series.
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, func(c *Config) { fast(c); c.Model = "other" })}))
	require.Eventually(t, func() bool {
		for _, m := range h.family(t, "tokenpath_probe_requests_total") {
			if labelMap(m)["model"] == "other" {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	stop()
	for _, m := range h.family(t, "tokenpath_probe_requests_total") {
		require.Equal(t, "other", labelMap(m)["model"])
	}
	require.Equal(t, 1.0, testutil.ToFloat64(h.m.metrics.lastSuccess.WithLabelValues(srv.URL, "other", "chat", "")))
	srv.requireNoConnections(t)
}

// TestConnectionRefused probes a port where nothing listens.
func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	h := newHarness(t, Options{})
	require.NoError(t, h.m.ApplyConfig([]Config{cfg("http://"+addr, nil)}))
	stop := h.run(t)
	h.waitProbes(t, 1)
	stop()
	require.Equal(t, map[string]float64{"connection_error/": 1}, h.outcomes(t))
}

// TestRegisterTwice names the conflict instead of panicking.
func TestRegisterTwice(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	_, err := NewManager(Options{Registerer: reg})
	require.NoError(t, err)
	_, err = NewManager(Options{Registerer: reg})
	require.ErrorContains(t, err, "registering the probe metrics")
	require.ErrorContains(t, err, "second probe manager")
}

// TestSecretsNotLogged: a server that echoes the request's credentials in
// its error body must not get them into tokenpath's log.
func TestSecretsNotLogged(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(*server) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, fmt.Sprintf("unauthorized: %s / %s", r.Header.Get("Authorization"), r.Header.Get("X-Api-Key")), http.StatusUnauthorized)
		}
	})
	var logs testbin.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, Options{Logger: logger, Getenv: func(string) string { return "env-secret-123" }})
	c := cfg(srv.URL, func(c *Config) { c.APIKeyEnv = "KEY" })
	c.Headers = map[string]string{"X-Api-Key": "header-secret-456"}
	require.NoError(t, h.m.ApplyConfig([]Config{c}))
	stop := h.run(t)
	h.waitProbes(t, 1)
	stop()
	require.Equal(t, map[string]float64{"http_error/401": 1}, h.outcomes(t))
	out := logs.String()
	require.Contains(t, out, "outcome=http_error")
	require.Contains(t, out, "component=probe")
	require.Contains(t, out, "unauthorized: Bearer <redacted> / <redacted>")
	require.NotContains(t, out, "env-secret-123")
	require.NotContains(t, out, "header-secret-456")
}

// TestReasoning: reasoning text counts for TTFT and the gaps; the first
// visible content comes later.
func TestReasoning(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(*server) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			s := startSSE(w)
			s.role()
			s.data(`{"choices":[{"index":0,"delta":{"reasoning_content":"Let me"}}]}`)
			s.data(`{"choices":[{"index":0,"delta":{"reasoning_content":" count."}}]}`)
			time.Sleep(100 * time.Millisecond)
			s.content("1")
			s.content(" 2")
			s.finish(4)
		}
	})
	h := newHarness(t, Options{})
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, nil)}))
	stop := h.run(t)
	h.waitProbes(t, 1)
	stop()
	require.Equal(t, map[string]float64{"ok/200": 1}, h.outcomes(t))
	ttft := h.histogram(t, "tokenpath_probe_ttft_seconds").GetSampleSum()
	content := h.histogram(t, "tokenpath_probe_time_to_first_content_seconds").GetSampleSum()
	// The server slept 100 ms between them; reads may shift either end a little.
	require.InDelta(t, 0.1, content-ttft, 0.03)
	require.Equal(t, uint64(3), h.histogram(t, "tokenpath_probe_inter_chunk_seconds").GetSampleCount())
	require.Equal(t, 4.0, h.value(t, "tokenpath_probe_chunks_total"))
}

// TestDiscoveryRecovers: while /v1/models fails, probes count as
// discovery_error under model=""; once it answers, the discovered model is
// probed and the last-value gauges of model="" are gone.
func TestDiscoveryRecovers(t *testing.T) {
	t.Parallel()
	srv := newServer(t, func(srv *server) http.HandlerFunc {
		srv.modelsFailures.Store(2)
		return func(w http.ResponseWriter, _ *http.Request) {
			s := startSSE(w)
			s.content("a")
			s.content("b")
			s.finish(2)
		}
	})
	h := newHarness(t, Options{})
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, func(c *Config) {
		c.Model = ""
		c.Interval, c.Timeout = model.Duration(30*time.Millisecond), model.Duration(30*time.Millisecond)
	})}))
	stop := h.run(t)
	require.Eventually(t, func() bool { return h.outcomes(t)["ok/200"] >= 1 }, 10*time.Second, 5*time.Millisecond)
	stop()
	got := h.outcomes(t)
	require.Equal(t, 2.0, got["discovery_error/"])
	last := h.family(t, "tokenpath_probe_last_success")
	require.Len(t, last, 1)
	require.Equal(t, "test-model", labelMap(last[0])["model"])
	require.Equal(t, 1.0, last[0].GetGauge().GetValue())
}

// TestQuietLog: at the default level a prober of a healthy server says
// nothing per probe; a target that starts failing is one warn line however
// long it fails, and its recovery one info line.
func TestQuietLog(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := newServer(t, func(*server) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			// Probes 1-2 succeed, 3-5 fail, later ones succeed again.
			if i := n.Add(1); i >= 3 && i <= 5 {
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return
			}
			s := startSSE(w)
			s.content("a")
			s.content("b")
			s.finish(2)
		}
	})
	var logs testbin.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := newHarness(t, Options{Logger: logger})
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, func(c *Config) {
		// Generous next to the local server's answer, so a loaded machine
		// cannot turn a success into a timeout and a third state change.
		c.Interval, c.Timeout = model.Duration(250*time.Millisecond), model.Duration(250*time.Millisecond)
	})}))
	stop := h.run(t)
	h.waitProbes(t, 8)
	stop()
	got := h.outcomes(t)
	require.Equal(t, 3.0, got["http_error/503"], "the server failed probes 3 to 5: %v", got)
	require.GreaterOrEqual(t, got["ok/200"], 5.0)

	var msgs []string
	for line := range strings.Lines(logs.String()) {
		msg := regexp.MustCompile(`msg="([^"]*)"`).FindStringSubmatch(line)
		require.NotNil(t, msg, line)
		msgs = append(msgs, msg[1])
		require.Contains(t, line, "component=probe")
	}
	require.Equal(t, []string{"Applied probe configuration", "Probe failing", "Probe recovered"}, msgs, logs.String())
	require.Contains(t, logs.String(), "level=WARN msg=\"Probe failing\"")
	require.Contains(t, logs.String(), "outcome=http_error code=503")
	require.Contains(t, logs.String(), "level=INFO msg=\"Probe recovered\"")
	require.Contains(t, logs.String(), "previous_outcome=http_error")
}
