package server

import (
	"context"
	"net/http"
	"strconv"
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

// unmatchedRoute is the handler label of every request no registered route
// claimed: one fixed value, so that requests to made-up paths cannot add
// series.
const unmatchedRoute = "unmatched"

// routeNameKey is the context key of the *string through which the v1
// API's router reports the name of the route that served a request.
type routeNameKey struct{}

// apiRouteName is the instrumentation hook of the v1 API's router: it
// records the name under which the route was registered (never the
// request's path) for the metrics middleware.
func apiRouteName(name string, h http.HandlerFunc) http.HandlerFunc {
	name = apiPrefix + name
	return func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(routeNameKey{}).(*string); ok {
			*p = name
		}
		h(w, r)
	}
}

// middleware records every request under the name of the route that served
// it, never its raw path, so the handler label only takes registered names.
func (m *httpMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		var apiRoute string
		req := c.Request()
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), routeNameKey{}, &apiRoute)))
		err := next(c)
		handler := routeLabel(c.Path(), apiRoute)
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

// routeLabel names the route: a v1 API request by the API route that served
// it (unmatchedRoute when none did), anything else by its echo route
// pattern, which is registered and so bounded.
func routeLabel(pattern, apiRoute string) string {
	switch {
	case pattern == apiPrefix+"/*" && apiRoute == "":
		return unmatchedRoute
	case pattern == apiPrefix+"/*":
		return apiRoute
	case pattern == "":
		return unmatchedRoute
	}
	return pattern
}
