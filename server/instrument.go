package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are Prometheus' own HTTP server metrics
// (prometheus_http_requests_total, prometheus_http_request_duration_seconds,
// prometheus_http_response_size_bytes), so dashboards built for Prometheus
// read tokenpath's too.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_http_requests_total",
			Help: "Counter of HTTP requests.",
		}, []string{"handler", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "prometheus_http_request_duration_seconds",
			Help:                            "Histogram of latencies for HTTP requests.",
			Buckets:                         []float64{.1, .2, .4, 1, 3, 8, 20, 60, 120},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"handler"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "prometheus_http_response_size_bytes",
			Help:    "Histogram of response size for HTTP requests.",
			Buckets: prometheus.ExponentialBuckets(100, 10, 8),
		}, []string{"handler"}),
	}
	reg.MustRegister(m.requests, m.duration, m.size)
	return m
}

// middleware records every request under its route, not its raw path, so
// the handler label stays bounded.
func (m *httpMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		handler := routeLabel(c.Path(), c.Request().URL.Path)
		resp, code := echo.ResolveResponseStatus(c.Response(), err)
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.WithLabelValues(handler, strconv.Itoa(code)).Inc()
		m.duration.WithLabelValues(handler).Observe(time.Since(start).Seconds())
		if resp != nil {
			m.size.WithLabelValues(handler).Observe(float64(resp.Size))
		}
		return err
	}
}

// routeLabel names the route: the v1 API's endpoints by their own paths
// (with the label-values parameter folded), everything else by the echo
// route pattern.
func routeLabel(pattern, path string) string {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	if !ok || pattern != "/api/v1/*" {
		return pattern
	}
	if strings.HasPrefix(rest, "label/") && strings.HasSuffix(rest, "/values") {
		return "/api/v1/label/:name/values"
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 && !strings.HasPrefix(rest, "status/") && !strings.HasPrefix(rest, "admin/") && !strings.HasPrefix(rest, "targets/") && !strings.HasPrefix(rest, "notifications/") {
		// Unknown nested paths are one bucket, not one series each.
		return "/api/v1/*"
	}
	return "/api/v1/" + rest
}
