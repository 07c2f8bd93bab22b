package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// SelfScrape serves the internal registry on a loopback port of its own, so
// that the built-in scrape job reads it without the main listener's TLS and
// basic auth.
//
// tokenpath's own metrics (the GPU collector, the probes, the Go runtime) go
// through the scrape path like every target's rather than straight into the
// TSDB: they then get what every scraped series gets — up, staleness
// markers, scrape limits, target labels — so the rules, /federate, remote
// write and the Targets page treat them as they would a dcgm-exporter's.
type SelfScrape struct {
	listener net.Listener
	srv      *http.Server
}

// NewSelfScrape listens on 127.0.0.1 with a free port.
func NewSelfScrape(g prometheus.Gatherer) (*SelfScrape, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the self-scrape endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	return &SelfScrape{listener: l, srv: &http.Server{Handler: loopbackOnly(mux), ReadHeaderTimeout: 10 * time.Second}}, nil
}

// loopbackOnly refuses requests from anywhere but this host. The listener
// is bound to 127.0.0.1 already; this holds even if the socket is reached
// through a forwarded port, since the endpoint has no auth.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "the self-scrape endpoint serves this host only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Addr is the address the self-scrape endpoint listens on.
func (s *SelfScrape) Addr() net.Addr { return s.listener.Addr() }

// ScrapeConfig is the built-in scrape job, as YAML. The instance label is
// the public listen address, not the internal port, which changes at every
// start and would otherwise split the series on each restart.
func (s *SelfScrape) ScrapeConfig(instance string) string {
	return fmt.Sprintf("- job_name: tokenpath\n  static_configs:\n  - targets: [%q]\n    labels:\n      server: other\n      instance: %q\n",
		s.listener.Addr().String(), instance)
}

// Run serves until ctx is done.
func (s *SelfScrape) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.listener) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(shutdown)
}
