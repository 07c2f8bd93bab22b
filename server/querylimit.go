package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DefaultMaxQueryLength is --query.max-length's default. PromQL parsing
// takes time growing with the square of the length and runs before any of
// the engine's limits: on a 2-core box, `up+1+1…` of 16 KiB took ~0.3 s to
// parse, of 64 KiB ~5 s. Real dashboard queries are a few KB.
const DefaultMaxQueryLength = 16 << 10

// queryParams are the parameters that hold PromQL or series selectors.
var queryParams = []string{"query", "match[]"}

// limitQueryLength refuses a request whose PromQL (query=) or selector
// (match[]=) is longer than maxLen bytes before anything parses it, with
// Prometheus' own error shape (400, errorType bad_data). Bodies of remote
// read and write are protobuf and are not form-parsed here. maxLen <= 0
// turns the check off.
func limitQueryLength(maxLen int, next http.Handler) http.Handler {
	if maxLen <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !formParsed(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			writeAPIError(w, http.StatusBadRequest, "bad_data", fmt.Sprintf("error parsing form values: %v", err))
			return
		}
		for _, p := range queryParams {
			for _, v := range r.Form[p] {
				if len(v) > maxLen {
					writeAPIError(w, http.StatusBadRequest, "bad_data",
						fmt.Sprintf("%s is %d bytes long, over the limit of %d bytes (--query.max-length)", p, len(v), maxLen))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// formParsed tells whether a path takes form parameters: everything but the
// protobuf endpoints.
func formParsed(path string) bool {
	for _, p := range []string{"/read", "/write", "/otlp/"} {
		if strings.HasPrefix(strings.TrimPrefix(path, apiPrefix), p) {
			return false
		}
	}
	return true
}

// writeAPIError answers in the v1 API's error format.
func writeAPIError(w http.ResponseWriter, code int, errorType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}{"error", errorType, msg})
}

// queryGate runs at most n requests that parse PromQL or selectors at once
// (--query.max-concurrency), so that parsing, which the engine's own limit
// does not cover, cannot take every core. A request waits for a slot at
// most timeout (--query.timeout), then gets Prometheus' timeout error.
type queryGate struct {
	slots   chan struct{}
	timeout time.Duration
}

func newQueryGate(n int, timeout time.Duration) *queryGate {
	if n <= 0 {
		return nil
	}
	return &queryGate{slots: make(chan struct{}, n), timeout: timeout}
}

// wrap gates next; a nil gate lets everything through.
func (g *queryGate) wrap(next http.Handler) http.Handler {
	if g == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parsesPromQL(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if g.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, g.timeout)
			defer cancel()
		}
		select {
		case g.slots <- struct{}{}:
		case <-ctx.Done():
			writeAPIError(w, http.StatusServiceUnavailable, "timeout",
				fmt.Sprintf("waiting for one of the %d query slots (--query.max-concurrency): %v", cap(g.slots), ctx.Err()))
			return
		}
		defer func() { <-g.slots }()
		next.ServeHTTP(w, r)
	})
}

// parsesPromQL tells whether a path parses PromQL or selectors: the paths
// the query gate holds (not the long-lived ones such as
// /api/v1/notifications/live).
func parsesPromQL(path string) bool {
	if path == "/federate" {
		return true
	}
	rest, ok := strings.CutPrefix(path, apiPrefix+"/")
	if !ok {
		return false
	}
	switch rest {
	case "query", "query_range", "query_exemplars", "query_cost", "query_range_cost", "format_query", "parse_query", "series", "labels":
		return true
	}
	return strings.HasPrefix(rest, "label/") && strings.HasSuffix(rest, "/values")
}
