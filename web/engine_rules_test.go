package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"
)

// TestAlertsPageOfAnEngine: behind `tokenpath fleet`, an engine whose rules
// and alerts APIs answer with a 4xx or something that is not the Prometheus
// API (VictoriaMetrics' 400 "unsupported path", a 404) gets a notice saying
// where rules live and what it answered, never an error banner; an engine
// that fails (5xx) is still an error; tokenpath's own API without rules is
// the plain empty state. The engine is the real Prometheus fixture, with
// the rules and alerts paths answered in front of it as each engine does.
func TestAlertsPageOfAnEngine(t *testing.T) {
	f := startPrometheus(t, twoHostsExposition, twoHostsRules, 0)
	target, err := url.Parse(f.URL)
	require.NoError(t, err)
	const vmUnsupported = `remoteAddr: "127.0.0.1:1"; requestURI: /api/v1/rules; unsupported path requested: "/api/v1/rules"`
	tests := []struct {
		name        string
		engine      string
		answer      func(w http.ResponseWriter) // for /api/v1/rules and /api/v1/alerts; nil passes on
		elsewhere   bool
		engineSaid  string
		pageError   string
		rules       int
		firingAlert bool
	}{
		{name: "prometheus with rules", engine: "http://central:9090", rules: 1, firingAlert: true},
		{name: "400 unsupported path", engine: "http://central:8428", answer: func(w http.ResponseWriter) {
			http.Error(w, vmUnsupported, http.StatusBadRequest)
		}, elsewhere: true, engineSaid: "client error: 400: " + vmUnsupported + "\n"},
		{name: "404", engine: "http://central:8428", answer: func(w http.ResponseWriter) {
			http.NotFound(w, nil)
		}, elsewhere: true, engineSaid: "client error: 404: 404 page not found\n"},
		{name: "not the Prometheus API", engine: "http://central:8428", answer: func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, "<html>login</html>")
		}, elsewhere: true, engineSaid: "bad_response: invalid character '<' looking for beginning of value"},
		{name: "an empty list", engine: "http://central:8428", answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"success","data":{"groups":[],"alerts":[]}}`)
		}, elsewhere: true},
		{name: "a failing engine stays an error", engine: "http://central:8428", answer: func(w http.ResponseWriter) {
			http.Error(w, "vmalert unreachable", http.StatusBadGateway)
		}, pageError: "server_error: server error: 502"},
		{name: "tokenpath's own API without rules", answer: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"status":"success","data":{"groups":[],"alerts":[]}}`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxy := httputil.NewSingleHostReverseProxy(target)
			engine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.answer != nil && (r.URL.Path == "/api/v1/rules" || r.URL.Path == "/api/v1/alerts") {
					tc.answer(w)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			t.Cleanup(engine.Close)
			c, err := promapi.NewClient(promapi.Config{Address: engine.URL})
			require.NoError(t, err)
			ui, err := New(Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), API: promv1.NewAPI(c), Engine: tc.engine})
			require.NoError(t, err)

			rec, doc := get(t, ui, "/alerts")
			require.Equal(t, http.StatusOK, rec.Code)
			notice := doc.Find(`[data-testid="rules-elsewhere"]`)
			require.Equal(t, tc.elsewhere, notice.Length() == 1)
			if tc.elsewhere {
				require.Contains(t, notice.Text(), "rules are evaluated by vmalert or your ruler")
				require.Equal(t, tc.engine, notice.Find(`[data-testid="rules-engine"]`).Text())
				require.Equal(t, tc.engineSaid, notice.Find(`[data-testid="engine-answer"]`).Text())
			}
			banner := doc.Find(`[data-testid="page-error"]`).Text()
			if tc.pageError == "" {
				require.Empty(t, banner)
			} else {
				require.Contains(t, banner, tc.pageError)
			}
			require.Equal(t, tc.rules, doc.Find(`[data-testid="rule-row"]`).Length())
			require.Equal(t, tc.firingAlert, doc.Find(`[data-testid="alert-row"][data-alert="HighTTFT"]`).Length() == 1)

			// The token-path page reads the alerts too: an engine without
			// them is no error there either.
			_, tp := get(t, ui, "/")
			if tc.pageError == "" {
				require.Empty(t, tp.Find(`[data-testid="page-error"]`).Text())
			}
		})
	}
}

func TestEngineLacks(t *testing.T) {
	fleet, local := &UI{engine: "http://central:8428"}, &UI{}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&promv1.Error{Type: promv1.ErrClient, Msg: "client error: 404"}, true},
		{&promv1.Error{Type: promv1.ErrBadData, Msg: "unknown endpoint"}, true},
		{&promv1.Error{Type: promv1.ErrBadResponse, Msg: "invalid character"}, true},
		{&promv1.Error{Type: promv1.ErrServer, Msg: "server error: 502"}, false},
		{&promv1.Error{Type: promv1.ErrTimeout, Msg: "timeout"}, false},
		{errors.New("dial tcp: connection refused"), false},
		{nil, false},
	} {
		require.Equal(t, tc.want, fleet.engineLacks(tc.err), "%v", tc.err)
		require.False(t, local.engineLacks(tc.err), "tokenpath's own API always has rules: %v", tc.err)
	}
}
