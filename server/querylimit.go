package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// DefaultMaxQueryLength is --query.max-length's default. PromQL parsing
// takes time growing with the square of the length and runs before any
// query limit applies; real dashboard queries are a few KB.
const DefaultMaxQueryLength = 64 << 10

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
