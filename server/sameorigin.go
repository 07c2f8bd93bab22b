package server

import (
	"fmt"
	"net/http"
	"net/url"

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
// server-side proxy) pass. The origin of --web.external-url is trusted too,
// for a reverse proxy that rewrites Host.
func sameOriginMiddleware(externalURL *url.URL) echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	if externalURL != nil && externalURL.Scheme != "" && externalURL.Host != "" {
		// AddTrustedOrigin fails only on a malformed origin, which a parsed
		// absolute URL cannot give.
		_ = cop.AddTrustedOrigin(externalURL.Scheme + "://" + externalURL.Host)
	}
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
