package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/ritwikareddykancharla/token-path-observability/gpu"
)

// GPUExporterOptions configures ServeGPUExporter. Zero fields get defaults.
type GPUExporterOptions struct {
	// Library reaches NVML: gpu.NewNVML for a driver, gpu.NewSimulated for --demo. Required.
	Library gpu.Library
	// Logger receives the exporter's logs; nil discards them.
	Logger *slog.Logger
	// Listen is the address to listen on; default ":9400", dcgm-exporter's port.
	Listen string
	// Listener, when set, is used instead of Listen (tests pass 127.0.0.1:0).
	Listener net.Listener
	// DCGMNames also serves dcgm-exporter's names (DCGM_FI_*); the CLI turns it on by default.
	DCGMNames bool
	// Hostname is the DCGM Hostname label; empty means the machine's host name.
	Hostname string
	// GoCollectors adds the go_* and process_* collectors of the exporter process itself.
	GoCollectors bool
	// WebConfigFile is an exporter-toolkit web configuration (TLS, basic auth), the same
	// web.yml format as Prometheus; empty serves plain HTTP.
	WebConfigFile string
	// ShutdownTimeout bounds the drain of open scrapes after ctx is cancelled; default 5s.
	ShutdownTimeout time.Duration
}

// gpuExporterLanding is served at / so that a person who opens the port finds the metrics.
const gpuExporterLanding = `<!doctype html>
<html><head><title>tokenpath GPU exporter</title></head>
<body><h1>tokenpath GPU exporter</h1><p><a href="/metrics">Metrics</a></p></body></html>
`

// ServeGPUExporter serves the GPU collector alone, on its own registry, at /metrics (the
// `tokenpath export gpu` mode, a drop-in for dcgm-exporter on :9400). It runs the collector's
// background work too. It returns nil once ctx is cancelled and open scrapes have drained,
// or the error that stopped the listener.
func ServeGPUExporter(ctx context.Context, o GPUExporterOptions) error {
	if o.Library == nil {
		return errors.New("export: GPUExporterOptions.Library is required")
	}
	// The logger is defaulted first: everything below may log.
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	logger := o.Logger.With("component", "gpu exporter")
	if o.Listen == "" {
		o.Listen = ":9400"
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}

	c, err := gpu.NewCollector(gpu.CollectorOptions{
		Library: o.Library, Logger: o.Logger, DCGMNames: o.DCGMNames, Hostname: o.Hostname,
	})
	if err != nil {
		return fmt.Errorf("creating the GPU collector: %w", err)
	}
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{c}
	if o.GoCollectors {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return fmt.Errorf("registering a collector: %w", err)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A failing collector degrades the page rather than failing the scrape.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, gpuExporterLanding)
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}

	l := o.Listener
	if l == nil {
		if l, err = net.Listen("tcp", o.Listen); err != nil {
			return fmt.Errorf("listening on %s (--listen): %w", o.Listen, err)
		}
	}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runDone := make(chan error, 1)
	go func() { runDone <- c.Run(runCtx) }()

	logger.InfoContext(ctx, "Starting GPU exporter", "address", l.Addr().String(), "gpu_metrics", c.Available())
	serveDone := make(chan error, 1)
	go func() {
		serveDone <- web.Serve(l, srv, &web.FlagConfig{WebConfigFile: &o.WebConfigFile}, logger)
	}()

	var serveErr error
	select {
	case <-ctx.Done():
		logger.InfoContext(ctx, "Stopping GPU exporter...")
		// A fresh, bounded context: the cancelled one would cut the drain short.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
		err := srv.Shutdown(sctx)
		cancel()
		if err != nil {
			serveErr = fmt.Errorf("shutting down the GPU exporter: %w", err)
		}
		<-serveDone //nolint:errcheck // Serve returns http.ErrServerClosed once Shutdown starts; only wait for it to return
	case err := <-serveDone:
		if !errors.Is(err, http.ErrServerClosed) {
			serveErr = fmt.Errorf("serving the GPU exporter: %w", err)
		}
	}
	stopRun()
	if err := <-runDone; err != nil {
		serveErr = errors.Join(serveErr, err)
	}
	logger.InfoContext(ctx, "GPU exporter stopped")
	return serveErr
}
