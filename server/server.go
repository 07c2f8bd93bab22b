// Package server is tokenpath's HTTP layer: the echo instance, Prometheus'
// own /api/v1 (over the engine the rules package builds), /federate (package
// server/federate), /metrics, the self-scrape listener, the lifecycle
// endpoints, TLS and basic auth from a web config file, and graceful
// shutdown. The configuration it reports is loaded and reloaded by package
// config.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ritwikareddykancharla/token-path-observability/config"
	"github.com/ritwikareddykancharla/token-path-observability/server/federate"
)

// Options configure the Server.
type Options struct {
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// ListenAddress is --web.listen-address (default ":9090").
	ListenAddress string
	// ExtraListenAddresses serve the same handler too (GRAFANA_PORT: the
	// UI where people who replaced Grafana expect it).
	ExtraListenAddresses []string
	// WebConfigFile is --web.config.file (TLS and basic auth).
	WebConfigFile   string
	EnableLifecycle bool
	// EnablePprof serves Go's profiler at /debug/pprof (--web.enable-pprof).
	// Off by default: a heap profile can hold prompts and answers of probes.
	EnablePprof bool
	// ReadyCheck, when set, makes /-/ready answer 503 with its error while it
	// returns one (say, the TSDB cannot write); the API keeps answering.
	ReadyCheck func() error
	API        APIOptions
	// Reload applies the configuration again; /-/reload calls it.
	Reload func() error
	// ShutdownTimeout bounds the drain of open requests (default 10s).
	ShutdownTimeout time.Duration
}

// Server is tokenpath's HTTP server.
type Server struct {
	opts   Options
	logger *slog.Logger
	echo   *echo.Echo
	api    http.Handler
	state  *runtimeState
	ready  atomic.Bool
	fed    *federate.Handler
	// gate holds the requests that parse PromQL (API and /federate).
	gate *queryGate

	mtx       sync.Mutex
	listeners []net.Listener
}

// New builds the server. Nothing listens until Run.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		return nil, errors.New("server: no registry")
	}
	if o.ListenAddress == "" {
		o.ListenAddress = ":9090"
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.API.LookbackDelta == 0 {
		o.API.LookbackDelta = 5 * time.Minute
	}
	if o.WebConfigFile != "" {
		if err := web.Validate(o.WebConfigFile); err != nil {
			return nil, fmt.Errorf("invalid web config (--web.config.file=%q): %w", o.WebConfigFile, err)
		}
	}
	s := &Server{
		opts:   o,
		logger: o.Logger.With("component", "web"),
		state:  &runtimeState{start: time.Now()},
	}
	s.gate = newQueryGate(o.API.MaxConcurrency, o.API.QueryTimeout)
	s.api = buildAPI(o.API, s.state, s.readyFunc, o.Registry, s)
	s.fed = federate.New(federate.Options{
		Storage:        o.API.Storage,
		Lookback:       o.API.LookbackDelta,
		ExternalLabels: s.externalLabels,
		Logger:         s.logger.With("handler", "federate"),
		Registerer:     o.Registry,
	})
	s.echo = s.routes()
	return s, nil
}

// SetReload sets what /-/reload calls (the configuration manager, which is
// built after the server because it reports to it).
func (s *Server) SetReload(reload func() error) { s.opts.Reload = reload }

// SetReady marks the server ready (storage open, configuration applied) or
// not (shutting down).
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// ApplyConfig records the configuration in effect for /status/config,
// /federate's external labels and /status/runtimeinfo. ok=false records a
// failed reload, keeping the previous configuration.
func (s *Server) ApplyConfig(cfg *config.Config, ok bool) {
	if cfg == nil {
		s.state.setConfig(nil, false)
		return
	}
	s.state.setConfig(cfg.Prometheus, ok)
}

func (s *Server) externalLabels() labels.Labels {
	return s.state.config().GlobalConfig.ExternalLabels
}

// readyFunc holds API requests with 503 until the server is ready, as
// Prometheus' testReady does.
func (s *Server) readyFunc(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.ready.Load() {
			f(w, r)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprint(w, "Service Unavailable")
	}
}

// APIHandler serves /api/v1 in-process, for the UI's and exporters' client.
func (s *Server) APIHandler() http.Handler { return s.api }

// Handler is the whole HTTP surface, without TLS and auth (tests and the
// in-process client use it).
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.Use(middleware.Recover(), newHTTPMetrics(s.opts.Registry).middleware, sameOriginMiddleware(s.opts.API.ExternalURL))
	e.GET("/-/healthy", func(c *echo.Context) error {
		return c.String(http.StatusOK, "tokenpath is Healthy.\n")
	})
	e.HEAD("/-/healthy", func(c *echo.Context) error { return c.NoContent(http.StatusOK) })
	readyHandler := func(c *echo.Context) error {
		if !s.ready.Load() {
			return c.String(http.StatusServiceUnavailable, "Service Unavailable")
		}
		if s.opts.ReadyCheck != nil {
			if err := s.opts.ReadyCheck(); err != nil {
				return c.String(http.StatusServiceUnavailable, fmt.Sprintf("tokenpath is not ready: %v\n", err))
			}
		}
		return c.String(http.StatusOK, "tokenpath is Ready.\n")
	}
	e.GET("/-/ready", readyHandler)
	e.HEAD("/-/ready", readyHandler)
	reload := func(c *echo.Context) error {
		if !s.opts.EnableLifecycle {
			return c.String(http.StatusForbidden, "Lifecycle API is not enabled.")
		}
		if s.opts.Reload == nil {
			return c.String(http.StatusServiceUnavailable, "reload is not available")
		}
		if err := s.opts.Reload(); err != nil {
			return c.String(http.StatusInternalServerError, fmt.Sprintf("failed to reload config: %s", err))
		}
		return c.NoContent(http.StatusOK)
	}
	e.POST("/-/reload", reload)
	e.PUT("/-/reload", reload)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		Registry:          s.opts.Registry,
	})))
	if s.opts.EnablePprof {
		// Go's profiler, under the same path as in Prometheus, behind the
		// listener's auth like every route.
		e.Any("/debug/pprof/*", echo.WrapHandler(profiler()))
	}
	e.Any("/federate", echo.WrapHandler(limitQueryLength(s.opts.API.MaxQueryLength, s.gate.wrap(s.readyFunc(s.fed.ServeHTTP)))))
	// The v1 API compresses its own answers: no gzip middleware here.
	e.Any("/api/v1/*", echo.WrapHandler(s.api))
	return e
}

// Mount serves every path under prefix (e.g. "/export/") with h. Call it
// before Run. The UI and the exporters are attached this way, after the
// server is built, because they read the server's own API.
func (s *Server) Mount(prefix string, h http.Handler) {
	s.echo.Any(strings.TrimSuffix(prefix, "/")+"/*", echo.WrapHandler(h))
}

// SetUI serves every path not claimed otherwise with h.
func (s *Server) SetUI(h http.Handler) {
	s.echo.Any("/*", echo.WrapHandler(h))
	s.echo.Any("/", echo.WrapHandler(h))
}

// Listen binds the listen addresses. Call it before Run so that a port
// conflict is reported before anything else starts. It returns the main
// address.
func (s *Server) Listen() (net.Addr, error) {
	var ls []net.Listener
	for _, addr := range append([]string{s.opts.ListenAddress}, s.opts.ExtraListenAddresses...) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			for _, open := range ls {
				_ = open.Close()
			}
			return nil, fmt.Errorf("listening on %q (--web.listen-address or GRAFANA_PORT): %w", addr, err)
		}
		ls = append(ls, l)
	}
	s.mtx.Lock()
	s.listeners = ls
	s.mtx.Unlock()
	return ls[0].Addr(), nil
}

// Run serves until ctx is cancelled, then drains open requests for at most
// the shutdown timeout.
func (s *Server) Run(ctx context.Context) error {
	s.mtx.Lock()
	ls := s.listeners
	s.mtx.Unlock()
	if len(ls) == 0 {
		return errors.New("server: Run before Listen")
	}
	s.logRoutes()
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 30 * time.Second,
		ReadTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelError),
	}
	systemd := false
	file := s.opts.WebConfigFile
	addrs := append([]string{s.opts.ListenAddress}, s.opts.ExtraListenAddresses...)
	flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &file}
	errc := make(chan error, 1)
	go func() {
		// exporter-toolkit logs each address it serves.
		errc <- web.ServeMultiple(ls, srv, flags, s.logger)
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	s.SetReady(false)
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil {
		return fmt.Errorf("draining HTTP: %w", err)
	}
	return nil
}

// profiler serves Go's profiler under /debug/pprof/ as net/http/pprof's
// documentation wires it: Index lists and serves the named profiles, the
// other four are their own endpoints.
func profiler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
