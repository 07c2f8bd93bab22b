package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/regexp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
	"github.com/ritwikareddykancharla/token-path-observability/storage"
)

type testServer struct {
	*Server
	reg   *prometheus.Registry
	store *storage.Storage
	logs  *testbin.LogBuffer
}

// newTestServer builds a Server on a real TSDB and PromQL engine; edit
// changes its options first.
func newTestServer(t testing.TB, edit func(*Options)) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := &testbin.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store := storage.New(storage.Options{Path: t.TempDir(), Registerer: reg, Logger: logger})
	require.NoError(t, store.Open())
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	o := Options{
		Logger:   logger,
		Registry: reg,
		API: APIOptions{
			Engine: promql.NewEngine(promql.EngineOpts{
				MaxSamples: 50000000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute,
			}),
			Storage:     store.Fanout(),
			Exemplar:    store.Exemplars(),
			Receiver:    store.Local(),
			ExternalURL: &url.URL{Scheme: "http", Host: "localhost:9090"},
		},
	}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	require.NoError(t, err)
	s.SetReady(true)
	return &testServer{Server: s, reg: reg, store: store, logs: logs}
}

func (s *testServer) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, r)
	return rec
}

func (s *testServer) appendSeries(t testing.TB, name string, n int, start time.Time) {
	t.Helper()
	app := s.store.Local().AppenderV2(context.Background())
	ls := labels.FromStrings("__name__", name)
	for i := range n {
		_, err := app.Append(0, ls, 0, start.Add(time.Duration(i)*time.Second).UnixMilli(), float64(i), nil, nil, promstorage.AOptions{})
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
}

type apiError struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
}

// TestQueryMaxLength: an over-long query or match[] is refused with
// Prometheus' bad_data error before it reaches the parser, on every
// endpoint that parses one, GET and POST, and /federate.
func TestQueryMaxLength(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.API.MaxQueryLength = 1000 })
	long := "up" + strings.Repeat("+1", 600) // 1202 bytes
	short := "up" + strings.Repeat("+1", 100)
	for _, tc := range []struct {
		name, method, path, param, value string
		wantRefused                      bool
	}{
		{"query GET", http.MethodGet, "/api/v1/query", "query", long, true},
		{"query POST", http.MethodPost, "/api/v1/query", "query", long, true},
		{"query_range", http.MethodGet, "/api/v1/query_range", "query", long, true},
		{"parse_query", http.MethodPost, "/api/v1/parse_query", "query", long, true},
		{"format_query", http.MethodGet, "/api/v1/format_query", "query", long, true},
		{"series", http.MethodGet, "/api/v1/series", "match[]", "{__name__=~\"" + strings.Repeat("a|", 600) + "b\"}", true},
		{"federate", http.MethodGet, "/federate", "match[]", "{__name__=~\"" + strings.Repeat("a|", 600) + "b\"}", true},
		{"short query", http.MethodGet, "/api/v1/query", "query", short, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{tc.param: {tc.value}}
			if tc.path == "/api/v1/query_range" {
				form.Set("start", "0")
				form.Set("end", "60")
				form.Set("step", "15")
			}
			var req *http.Request
			if tc.method == http.MethodGet {
				req = httptest.NewRequest(tc.method, tc.path+"?"+form.Encode(), http.NoBody)
			} else {
				req = httptest.NewRequest(tc.method, tc.path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := s.do(req)
			if !tc.wantRefused {
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				return
			}
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			var e apiError
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
			require.Equal(t, apiError{
				Status: "error", ErrorType: "bad_data",
				Error: fmt.Sprintf("%s is %d bytes long, over the limit of 1000 bytes (--query.max-length)", tc.param, len(tc.value)),
			}, e)
		})
	}
}

// remoteRead sends a samples-type remote read of name over [start, end].
func remoteRead(t *testing.T, s *testServer, name string, start, end time.Time) *httptest.ResponseRecorder {
	t.Helper()
	rr := &prompb.ReadRequest{Queries: []*prompb.Query{{
		StartTimestampMs: start.UnixMilli(), EndTimestampMs: end.UnixMilli(),
		Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: name}},
	}}}
	raw, err := rr.Marshal()
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/read", bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	return s.do(req)
}

// TestRemoteRead: off unless enabled; when on, it keeps the sample limit
// that /api/v1/query keeps (issue 15 item 5: 0 used to mean unlimited).
func TestRemoteRead(t *testing.T) {
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	t.Run("off by default", func(t *testing.T) {
		s := newTestServer(t, nil)
		s.appendSeries(t, "rr_metric", 10, start)
		rec := remoteRead(t, s, "rr_metric", start, start.Add(time.Hour))
		require.Equal(t, http.StatusNotFound, rec.Code)
		require.Contains(t, rec.Body.String(), "--web.enable-remote-read")
	})
	t.Run("on, under the sample limit", func(t *testing.T) {
		s := newTestServer(t, func(o *Options) {
			o.API.EnableRemoteRead = true
			o.API.RemoteReadSampleLimit = 100
		})
		s.appendSeries(t, "rr_metric", 1000, start)
		rec := remoteRead(t, s, "rr_metric", start, start.Add(50*time.Second))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		raw, err := snappy.Decode(nil, rec.Body.Bytes())
		require.NoError(t, err)
		var resp prompb.ReadResponse
		require.NoError(t, resp.Unmarshal(raw))
		require.Len(t, resp.Results, 1)
		require.Len(t, resp.Results[0].Timeseries, 1)
		require.Len(t, resp.Results[0].Timeseries[0].Samples, 51)

		rec = remoteRead(t, s, "rr_metric", start, start.Add(time.Hour))
		require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), "exceeded sample limit (100)")
	})
}

// TestSameOriginForStateChanges: a page on another site cannot make a
// browser change state (reload, admin API, remote write), while tools that
// send no browser headers and same-origin pages can, and read-only API POSTs
// stay open to CORS as in Prometheus.
func TestSameOriginForStateChanges(t *testing.T) {
	var reloads int
	s := newTestServer(t, func(o *Options) {
		o.EnableLifecycle = true
		o.Reload = func() error { reloads++; return nil }
		o.API.EnableAdmin = true
		o.API.EnableRemoteWriteReceiver = true
	})
	s.appendSeries(t, "kept_metric", 3, time.Now().Add(-time.Minute))
	post := func(path string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://localhost:9090"+path, strings.NewReader(""))
		req.Header.Set("Content-Type", "text/plain")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		return s.do(req)
	}
	crossSite := []map[string]string{
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "same-site"},
	}
	for _, path := range []string{"/-/reload", "/api/v1/admin/tsdb/delete_series?match[]=kept_metric", "/api/v1/admin/tsdb/snapshot", "/api/v1/write"} {
		for _, hdr := range crossSite {
			rec := post(path, hdr)
			require.Equal(t, http.StatusForbidden, rec.Code, "%s %v: %s", path, hdr, rec.Body.String())
			require.Contains(t, rec.Body.String(), "cross-origin request detected")
		}
	}
	require.Zero(t, reloads)
	q := s.do(httptest.NewRequest(http.MethodGet, "/api/v1/query?query=count_over_time(kept_metric[5m])", http.NoBody))
	require.Contains(t, q.Body.String(), `"3"`, "the cross-site delete_series must not have run")

	for _, hdr := range []map[string]string{
		nil, // curl, Grafana's server-side proxy
		{"Origin": "http://localhost:9090"},
		{"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost:9090"},
	} {
		rec := post("/-/reload", hdr)
		require.Equal(t, http.StatusOK, rec.Code, "%v: %s", hdr, rec.Body.String())
	}
	require.Equal(t, 3, reloads)

	// The origin of --web.external-url is trusted: a reverse proxy may
	// rewrite Host.
	rec := post("/-/reload", map[string]string{"Origin": "http://localhost:9090", "Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, 4, reloads)
	proxied := httptest.NewRequest(http.MethodPost, "http://10.0.0.5:9090/-/reload", http.NoBody)
	proxied.Header.Set("Origin", "http://localhost:9090")
	require.Equal(t, http.StatusOK, s.do(proxied).Code)
	require.Equal(t, 5, reloads)

	// A read-only POST from another site works, with Prometheus' CORS answer.
	req := httptest.NewRequest(http.MethodPost, "http://localhost:9090/api/v1/query", strings.NewReader("query=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://grafana.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = s.do(req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	// Prometheus answers "*" for its default of every origin.
	require.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
}

// TestCORSOrigin: --web.cors.origin restricts which origins may read the
// API's answers; the default, as in Prometheus, is every origin.
func TestCORSOrigin(t *testing.T) {
	s := newTestServer(t, func(o *Options) {
		o.API.CORSOrigin = regexp.MustCompile(`^(?:https://grafana\.example)$`)
	})
	for origin, want := range map[string]string{
		"https://grafana.example": "https://grafana.example",
		"https://evil.example":    "",
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/query?query=1", http.NoBody)
		req.Header.Set("Origin", origin)
		rec := s.do(req)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, want, rec.Header().Get("Access-Control-Allow-Origin"), origin)
	}
}

// TestReadyCheck: while the storage cannot write, /-/ready is 503 and says
// why, and queries keep being answered.
func TestReadyCheck(t *testing.T) {
	var fail error
	s := newTestServer(t, func(o *Options) { o.ReadyCheck = func() error { return fail } })
	ready := func() *httptest.ResponseRecorder {
		return s.do(httptest.NewRequest(http.MethodGet, "/-/ready", http.NoBody))
	}
	require.Equal(t, http.StatusOK, ready().Code)
	fail = errors.New("storage: writes have been failing: write to WAL: no space left on device")
	rec := ready()
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "tokenpath is not ready: storage: writes have been failing: write to WAL: no space left on device\n", rec.Body.String())
	q := s.do(httptest.NewRequest(http.MethodGet, "/api/v1/query?query=1", http.NoBody))
	require.Equal(t, http.StatusOK, q.Code, q.Body.String())
	fail = nil
	require.Equal(t, http.StatusOK, ready().Code)
}

// TestPprofOnlyWithFlag: Go's profiler is not served unless asked for.
func TestPprofOnlyWithFlag(t *testing.T) {
	off := newTestServer(t, nil)
	rec := off.do(httptest.NewRequest(http.MethodGet, "/debug/pprof/", http.NoBody))
	require.Equal(t, http.StatusNotFound, rec.Code)
	rec = off.do(httptest.NewRequest(http.MethodGet, "/debug/pprof/heap", http.NoBody))
	require.Equal(t, http.StatusNotFound, rec.Code)

	on := newTestServer(t, func(o *Options) { o.EnablePprof = true })
	rec = on.do(httptest.NewRequest(http.MethodGet, "/debug/pprof/", http.NoBody))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "goroutine")
}

// TestRemoteWriteContentTypes: an unsupported Content-Type is 415 whatever
// the body; an undecodable or oversized body is refused with the reason.
func TestRemoteWriteContentTypes(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.API.EnableRemoteWriteReceiver = true })
	wr := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "pushed"}},
		Samples: []prompb.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}},
	}}}
	valid, err := wr.Marshal()
	require.NoError(t, err)
	write := func(ct string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
		req.Header.Set("Content-Encoding", "snappy")
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		return s.do(req)
	}
	for _, ct := range []string{"application/json", "text/plain", "application/x-www-form-urlencoded", "application/x-protobuf;proto=nope.Request", "application/x-protobuf;x"} {
		for _, body := range [][]byte{snappy.Encode(nil, valid), []byte(`{"not":"protobuf"}`)} {
			rec := write(ct, body)
			require.Equal(t, http.StatusUnsupportedMediaType, rec.Code, "%s: %s", ct, rec.Body.String())
		}
	}
	rec := write("application/x-protobuf", []byte("not snappy at all"))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "corrupt input")
	rec = write("application/x-protobuf", snappy.Encode(nil, []byte("\xff\xff\xff not protobuf")))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "proto")
	rec = write("application/x-protobuf", make([]byte, 32<<20+1))
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	require.Contains(t, rec.Body.String(), "request body exceeds the 33554432 bytes limit")
	rec = write("application/x-protobuf", snappy.Encode(nil, valid))
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
}

// TestRejectedRemoteWritesLogOnce: a client sending garbage over and over
// gets one ERROR line per 10 s, not one per request; the rest are counted,
// and the rejections themselves are in prometheus_http_requests_total.
func TestRejectedRemoteWritesLogOnce(t *testing.T) {
	s := newTestServer(t, func(o *Options) { o.API.EnableRemoteWriteReceiver = true })
	const n = 50
	for range n {
		// Valid snappy around bytes that are not protobuf: Prometheus' handler
		// logs an ERROR for each.
		req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(snappy.Encode(nil, []byte("\xff\xff\xff garbage"))))
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		require.Equal(t, http.StatusBadRequest, s.do(req).Code)
	}
	logs := s.logs.String()
	require.Equal(t, 1, strings.Count(logs, "level=ERROR"), logs)
	require.NoError(t, testutil.GatherAndCompare(s.reg, strings.NewReader(fmt.Sprintf(`
# HELP tokenpath_log_lines_suppressed_total Log lines held back by rate limiting (repeats of one message within 10s).
# TYPE tokenpath_log_lines_suppressed_total counter
tokenpath_log_lines_suppressed_total{component="api"} %d
`, n-1)), "tokenpath_log_lines_suppressed_total"))
	mfs, err := s.reg.Gather()
	require.NoError(t, err)
	var rejected float64
	for _, mf := range mfs {
		if mf.GetName() != "prometheus_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			lbl := map[string]string{}
			for _, l := range m.GetLabel() {
				lbl[l.GetName()] = l.GetValue()
			}
			if lbl["handler"] == "/api/v1/write" && lbl["code"] == "400" {
				rejected = m.GetCounter().GetValue()
			}
		}
	}
	require.Equal(t, float64(n), rejected)
}

// TestRateLimitedHandler: the first line of a message passes, repeats
// within the interval are held back and counted, and the next one after it
// says how many were held.
func TestRateLimitedHandler(t *testing.T) {
	var out bytes.Buffer
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
	h := newRateLimitedHandler(slog.NewTextHandler(&out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}), time.Minute, counter)
	now := time.Unix(0, 0)
	h.state.now = func() time.Time { return now }
	logger := slog.New(h).With("component", "api")
	for i := range 5 {
		logger.Error("Error decoding", "n", i)
		logger.Warn("Other message", "n", i)
	}
	now = now.Add(time.Minute)
	logger.Error("Error decoding", "n", 5)
	require.Equal(t, `level=ERROR msg="Error decoding" component=api n=0
level=WARN msg="Other message" component=api n=0
level=ERROR msg="Error decoding" component=api n=5 suppressed_since_last=4
`, out.String())
	require.Equal(t, 8.0, testutil.ToFloat64(counter))
}

// TestSelfScrapeServesLoopbackOnly: the self-scrape endpoint, which has no
// auth, listens on 127.0.0.1 and refuses a request from any other host.
func TestSelfScrapeServesLoopbackOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "self_test_total"}))
	self, err := NewSelfScrape(reg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- self.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	host, _, err := net.SplitHostPort(self.Addr().String())
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)

	resp, err := http.Get("http://" + self.Addr().String() + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "self_test_total 0")

	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", http.NoBody)
	req.RemoteAddr = "192.0.2.7:40000"
	self.srv.Handler.ServeHTTP(rec, req)
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.NotContains(t, rec.Body.String(), "self_test_total")
}

// TestQueryGate: requests that parse PromQL hold one of the
// --query.max-concurrency slots; with every slot taken, the next waits at
// most the query timeout and gets Prometheus' timeout error, while other
// endpoints (status, live notifications) are not held.
func TestQueryGate(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/query" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	h := newQueryGate(1, 50*time.Millisecond).wrap(next)
	first := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/query?query=up", http.NoBody))
		first <- rec.Code
	}()
	<-entered

	for _, path := range []string{"/api/v1/query_range?query=up", "/api/v1/series?match[]=up", "/api/v1/label/job/values", "/federate?match[]=up"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, http.NoBody))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, path)
		var e apiError
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
		require.Equal(t, "timeout", e.ErrorType)
		require.Contains(t, e.Error, "waiting for one of the 1 query slots (--query.max-concurrency)")
	}
	for _, path := range []string{"/api/v1/status/buildinfo", "/api/v1/notifications/live", "/api/v1/targets"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, http.NoBody))
		require.Equal(t, http.StatusOK, rec.Code, path)
	}
	close(release)
	require.Equal(t, http.StatusOK, <-first)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/query_range?query=up", http.NoBody))
	require.Equal(t, http.StatusOK, rec.Code, "the slot is free again")
}
