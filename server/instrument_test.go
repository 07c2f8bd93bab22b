package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestRouteLabel(t *testing.T) {
	for _, tc := range []struct{ pattern, path, want string }{
		{"/api/v1/*", "/api/v1/query", "/api/v1/query"},
		{"/api/v1/*", "/api/v1/label/job/values", "/api/v1/label/:name/values"},
		{"/api/v1/*", "/api/v1/status/buildinfo", "/api/v1/status/buildinfo"},
		{"/api/v1/*", "/api/v1/admin/tsdb/delete_series", "/api/v1/admin/tsdb/delete_series"},
		{"/api/v1/*", "/api/v1/some/unknown/path", "/api/v1/*"},
		{"/-/ready", "/-/ready", "/-/ready"},
		{"/*", "/latency", "/*"},
	} {
		require.Equal(t, tc.want, routeLabel(tc.pattern, tc.path), tc.path)
	}
}

func TestHTTPMetricsMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := echo.New()
	e.Use(newHTTPMetrics(reg).middleware)
	e.GET("/-/ready", func(c *echo.Context) error { return c.String(http.StatusServiceUnavailable, "no") })
	e.Any("/api/v1/*", func(c *echo.Context) error { return c.String(http.StatusOK, "{}") })
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
