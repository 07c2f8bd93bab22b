package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// LocalClient returns a client of tokenpath's own /api/v1 that answers
// in-process, without a network round trip or the listener's auth. The web
// UI uses it: it speaks the HTTP API, as Grafana does, so that `tokenpath
// fleet` can point the same UI code at a central engine. (The exporters read
// the TSDB through the engine directly: export.StorageQuerier.)
func (s *Server) LocalClient() promv1.API {
	c, err := promapi.NewClient(promapi.Config{
		Address:      "http://tokenpath.invalid",
		RoundTripper: handlerTransport{s.api},
	})
	if err != nil {
		// NewClient fails only on an unparsable address, which is a constant.
		panic(fmt.Sprintf("building the in-process API client: %v", err))
	}
	return promv1.NewAPI(c)
}

// handlerTransport is an http.RoundTripper that serves requests with a
// handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}
