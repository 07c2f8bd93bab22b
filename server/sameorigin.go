package server

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v5"
)

// readOnlyPOSTs are the v1 API endpoints that take POST only because a
// query can be longer than a URL; they change nothing, so a cross-site page
// may call them as Prometheus allows (its answers are still guarded by
// --web.cors.origin). Remote read is here because its clients are servers.
var readOnlyPOSTs = []string{
	"query", "query_range", "query_exemplars", "query_cost", "query_range_cost", "format_query",
	"parse_query", "labels", "series", "read", "search/metric_names", "search/label_names",
	"search/label_values",
}

// sameOriginMiddleware refuses state-changing requests (POST /-/reload, the
// admin API, the remote-write receiver, anything not read-only) that a
// browser sends from another site, by the Sec-Fetch-Site and Origin headers
// (Go's CrossOriginProtection). CORS alone does not stop them: a simple
// cross-site POST is executed before the browser looks at the answer.
// Requests without those headers (curl, Prometheus' remote write, Grafana's
// server-side proxy) pass.
func sameOriginMiddleware() echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	for _, p := range readOnlyPOSTs {
		cop.AddInsecureBypassPattern("POST " + apiPrefix + "/" + p)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				return c.String(http.StatusForbidden, fmt.Sprintf("%v: tokenpath accepts state-changing requests only from its own origin\n", err))
			}
			return next(c)
		}
	}
}
