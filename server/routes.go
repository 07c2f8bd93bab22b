package server

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v5"
)

// Route is one registered route: its method (GET, POST, … or "*" for every method) and its
// path pattern as echo has it ("/api/v1/*", "/-/ready").
type Route struct {
	Method string
	Path   string
}

// Routes lists every route the server serves, the mounts and the UI included, so that tests
// can check each one (basic auth and TLS apply to all of them) without a hand-kept list.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.echo.Router().Routes() {
		m := r.Method
		if m == echo.RouteAny {
			m = "*"
		}
		out = append(out, Route{Method: m, Path: r.Path})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// logRoutes logs every route at debug level when the server starts serving: what a process
// test reads to reach each route from outside.
func (s *Server) logRoutes() {
	for _, r := range s.Routes() {
		if r.Method == http.MethodHead {
			continue // each HEAD route has a GET twin
		}
		s.logger.Debug("Serving route", "method", r.Method, "path", r.Path)
	}
}
