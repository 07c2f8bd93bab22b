package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"

	"github.com/ritwikareddykancharla/token-path-observability/grafana"
	"github.com/ritwikareddykancharla/token-path-observability/web"
)

// fleetCommand is `tokenpath fleet --query.url URL`: the built-in UI and the
// read side of the Prometheus HTTP API, answered by a central engine
// (Prometheus, VictoriaMetrics, Mimir, Thanos) that the tokenpaths of a fleet
// remote-write to. Nothing is scraped or stored here.
type fleetCommand struct {
	cmd       *kingpin.CmdClause
	queryURL  string
	listen    string
	logConfig *promslog.Config
}

func registerFleet(app *kingpin.Application, logConfig *promslog.Config) *fleetCommand {
	f := &fleetCommand{logConfig: logConfig}
	f.cmd = app.Command("fleet", "Serve the web UI and the Prometheus query API from a central engine that a fleet of tokenpaths remote-writes to (no scraping, no local storage).")
	f.cmd.Flag("query.url", "Base URL of the central engine's Prometheus API (e.g. http://prometheus:9090, http://victoria-metrics:8428, http://vmselect:8481/select/0/prometheus).").Required().StringVar(&f.queryURL)
	f.cmd.Flag("web.listen-address", "Address to listen on for the UI and API.").Default(":9090").StringVar(&f.listen)
	return f
}

// fleetReadPaths are the API paths passed on to the central engine: the
// read side the UI, Grafana and promtool use. Writes, admin and lifecycle
// endpoints are not, so the UI's port does not open the central engine.
var fleetReadPaths = []string{
	"/api/v1/query", "/api/v1/query_range", "/api/v1/query_exemplars", "/api/v1/format_query",
	"/api/v1/series", "/api/v1/labels", "/api/v1/label/", "/api/v1/metadata",
	"/api/v1/rules", "/api/v1/alerts", "/api/v1/targets", "/api/v1/status/buildinfo",
}

// fleetHandler serves the UI with its API client pointed at the engine, and
// proxies the read API paths to it.
func fleetHandler(logger *slog.Logger, engine *url.URL) (http.Handler, error) {
	client, err := promapi.NewClient(promapi.Config{Address: engine.String()})
	if err != nil {
		return nil, fmt.Errorf("--query.url=%q: %w", engine, err)
	}
	// Engine tells the UI its rules and alerts are the engine's: where the
	// engine has none, the alerts page says where rules live instead.
	ui, err := web.New(web.Options{
		Logger: logger.With("component", "web"), API: promv1.NewAPI(client), Version: version.Version,
		Engine: engine.Redacted(),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the web UI: %w", err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(engine) // joins the engine's path prefix (vmselect's /select/0/prometheus)
			r.Out.Host = engine.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Warn("Central engine unreachable", "component", "fleet", "path", r.URL.Path, "err", err)
			http.Error(w, "central engine unreachable: "+err.Error(), http.StatusBadGateway)
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		for _, p := range fleetReadPaths {
			if r.URL.Path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(r.URL.Path, p)) {
				proxy.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "not served by tokenpath fleet (read-only: query, series, labels, metadata, rules, alerts)", http.StatusNotFound)
	})
	mux.Handle("/grafana/", grafana.Handler())
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "tokenpath fleet is ready.") }
	mux.HandleFunc("/-/healthy", ok)
	mux.HandleFunc("/-/ready", ok)
	mux.Handle("/", ui)
	return mux, nil
}

func (f *fleetCommand) run() error {
	logger := promslog.New(f.logConfig)
	engine, err := url.Parse(f.queryURL)
	if err != nil || (engine.Scheme != "http" && engine.Scheme != "https") || engine.Host == "" {
		return fmt.Errorf("--query.url=%q: want an absolute http(s) URL", f.queryURL)
	}
	h, err := fleetHandler(logger, engine)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--web.listen-address=%q: %w", f.listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("Serving the fleet UI", "component", "fleet", "address", l.Addr().String(), "engine", engine.String())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
