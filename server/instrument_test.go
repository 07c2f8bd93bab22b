package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/route"
	"github.com/stretchr/testify/require"
)

func TestRouteLabel(t *testing.T) {
	for _, tc := range []struct{ pattern, apiRoute, want string }{
		{"/api/v1/*", "/api/v1/query", "/api/v1/query"},
		{"/api/v1/*", "/api/v1/label/:name/values", "/api/v1/label/:name/values"},
		{"/api/v1/*", "", unmatchedRoute},
		{"/-/ready", "", "/-/ready"},
		{"/*", "", "/*"},
		{"", "", unmatchedRoute},
	} {
		require.Equal(t, tc.want, routeLabel(tc.pattern, tc.apiRoute), tc)
	}
}

// handlerLabels returns the distinct handler label values of
// prometheus_http_requests_total.
func handlerLabels(t *testing.T, reg prometheus.Gatherer) map[string]bool {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "prometheus_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "handler" {
					out[l.GetValue()] = true
				}
			}
		}
	}
	return out
}

// TestHandlerLabelOnlyTakesRouteNames is the attack of issue 15 item 1:
// requests to made-up API paths (and one with a 900 KB path) must not add
// a series each to the HTTP metrics.
func TestHandlerLabelOnlyTakesRouteNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(Options{Registry: reg, API: APIOptions{ExternalURL: &url.URL{Scheme: "http", Host: "localhost:9090"}}})
	require.NoError(t, err)
	s.SetReady(true)
	get := func(path string) int {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, http.NoBody))
		return rec.Code
	}
	require.Equal(t, http.StatusOK, get("/api/v1/status/buildinfo"))
	require.Equal(t, http.StatusOK, get("/api/v1/status/flags"))
	before := handlerLabels(t, reg)
	require.Equal(t, map[string]bool{"/api/v1/status/buildinfo": true, "/api/v1/status/flags": true}, before)

	for i := range 100 {
		require.Equal(t, http.StatusNotFound, get(fmt.Sprintf("/api/v1/x%d", i)))
		get(fmt.Sprintf("/api/v1/status/x%d", i))
		get(fmt.Sprintf("/api/v1/admin/x%d/y", i))
		get(fmt.Sprintf("/nope/x%d", i))
	}
	get("/api/v1/" + strings.Repeat("a", 900<<10))
	get("/api/v1/label/" + strings.Repeat("b", 900<<10) + "/values")

	after := handlerLabels(t, reg)
	for h := range after {
		require.Less(t, len(h), 64, "a handler label longer than any route name")
	}
	// One fixed value for the unmatched API paths, the UI's catch-all (none
	// here, so echo's 404) and the label-values route; nothing else is new.
	delete(after, unmatchedRoute)
	require.Equal(t, before, after)
}

func TestHTTPMetricsMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := echo.New()
	e.Use(newHTTPMetrics(reg).middleware)
	e.GET("/-/ready", func(c *echo.Context) error { return c.String(http.StatusServiceUnavailable, "no") })
	api := route.New().WithInstrumentation(apiRouteName).WithPrefix(apiPrefix)
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("{}")) }
	api.Get("/query", ok)
	api.Get("/label/:name/values", ok)
	e.Any("/api/v1/*", echo.WrapHandler(api))
	for _, path := range []string{"/-/ready", "/api/v1/query", "/api/v1/query", "/api/v1/label/a/values", "/api/v1/label/b/values"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, http.NoBody))
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP prometheus_http_requests_total Counter of HTTP requests.
# TYPE prometheus_http_requests_total counter
prometheus_http_requests_total{code="200",handler="/api/v1/label/:name/values"} 2
prometheus_http_requests_total{code="200",handler="/api/v1/query"} 2
prometheus_http_requests_total{code="503",handler="/-/ready"} 1
`), "prometheus_http_requests_total"))
}
