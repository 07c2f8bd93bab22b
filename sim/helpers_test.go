package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness is a running simulator behind a test server on in-memory pipes, so that a test
// may run it in a synctest bubble, where the engine's clock and the client's are the
// bubble's fake clock: timings are exact, whatever the machine's load.
type harness struct {
	sim *Simulator
	srv *httptest.Server
}

// start runs a simulator built by New(o) until the test ends. setup runs before Run (for
// SetLoad(0), which Options cannot express).
func start(t *testing.T, o Options, setup func(*Simulator)) *harness {
	t.Helper()
	s, err := New(o)
	require.NoError(t, err)
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	pipe := testbin.NewPipeListener()
	srv := httptest.NewUnstartedServer(s.Handler())
	require.NoError(t, srv.Listener.Close()) // the loopback one it made
	srv.Listener = pipe
	srv.Start()
	srv.Client().Transport = pipe.Transport()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		srv.Close()
	})
	return &harness{sim: s, srv: srv}
}

func (h *harness) post(t *testing.T, path string, body any) *http.Response {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := h.srv.Client().Post(h.srv.URL+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func (h *harness) postJSON(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	resp := h.post(t, path, body)
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// scrape fetches /metrics and parses it with Prometheus' own text parser.
func (h *harness) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := h.srv.Client().Get(h.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
	return parseText(t, resp.Body)
}

func parseText(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(r)
	require.NoError(t, err)
	return fams
}

// histSumCount returns the sum and count of a histogram family with a single series.
func histSumCount(t *testing.T, fams map[string]*dto.MetricFamily, name string) (float64, uint64) {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "family %s missing", name)
	require.Len(t, f.GetMetric(), 1, name)
	h := f.GetMetric()[0].GetHistogram()
	return h.GetSampleSum(), h.GetSampleCount()
}

func gaugeValue(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "family %s missing", name)
	require.Len(t, f.GetMetric(), 1, name)
	return f.GetMetric()[0].GetGauge().GetValue()
}

// streamResult is what a plain streaming client sees.
type streamResult struct {
	headers    time.Duration // request sent → response headers
	firstToken time.Duration // request sent → first chunk with content
	chunks     []map[string]any
	contents   []string
	tokenTimes []time.Duration // request sent → each chunk with content
	done       bool
	usage      map[string]any
}

// streamRequest sends a streaming request and reads the SSE answer to the end.
func (h *harness) streamRequest(t *testing.T, path string, body map[string]any) streamResult {
	t.Helper()
	res, err := h.stream(t.Context(), path, body)
	require.NoError(t, err)
	return res
}

// stream is streamRequest without assertions, for client goroutines.
func (h *harness) stream(ctx context.Context, path string, body map[string]any) (streamResult, error) {
	var res streamResult
	body["stream"] = true
	b, err := json.Marshal(body)
	if err != nil {
		return res, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	res.headers = time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		return res, fmt.Errorf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			return res, fmt.Errorf("line %q is not an SSE data line", line)
		}
		if res.done {
			return res, fmt.Errorf("data after [DONE]: %q", line)
		}
		if data == "[DONE]" {
			res.done = true
			continue
		}
		var chunk map[string]any
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return res, fmt.Errorf("chunk %q: %w", data, err)
		}
		res.chunks = append(res.chunks, chunk)
		if u, ok := chunk["usage"].(map[string]any); ok {
			res.usage = u
		}
		choices, _ := chunk["choices"].([]any)
		for _, c := range choices {
			m, _ := c.(map[string]any)
			text := contentOf(m)
			if text == "" {
				continue
			}
			at := time.Since(t0)
			if len(res.contents) == 0 {
				res.firstToken = at
			}
			res.contents = append(res.contents, text)
			res.tokenTimes = append(res.tokenTimes, at)
		}
	}
	return res, sc.Err()
}

func contentOf(choice map[string]any) string {
	if text, ok := choice["text"].(string); ok {
		return text
	}
	if delta, ok := choice["delta"].(map[string]any); ok {
		s, _ := delta["content"].(string)
		return s
	}
	return ""
}

func near(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}
