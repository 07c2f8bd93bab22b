package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"

	"github.com/ritwikareddykancharla/token-path-observability/config"
	"github.com/ritwikareddykancharla/token-path-observability/export"
	"github.com/ritwikareddykancharla/token-path-observability/gpu"
	"github.com/ritwikareddykancharla/token-path-observability/grafana"
	"github.com/ritwikareddykancharla/token-path-observability/rules/slo"
	"github.com/ritwikareddykancharla/token-path-observability/scrape/probe"
	"github.com/ritwikareddykancharla/token-path-observability/server"
	"github.com/ritwikareddykancharla/token-path-observability/web"
)

// extraFlags are the flags of the parts of tokenpath beyond a Prometheus
// server: the token-path rules and alerts, GPUs, probes, the demo.
type extraFlags struct {
	// rules shape the embedded rule files (ruleflags.go), shared with
	// `tokenpath rules export`.
	rules         ruleFlags
	probesEnabled bool
	gpuEnabled    bool
	gpuDCGMNames  bool
	nvmlLibrary   string
	// demo are --demo's own flags (demo.go).
	demo demoFlags
}

func (e *extraFlags) register(cmd *kingpin.CmdClause) {
	e.rules.register(cmd)
	e.demo.register(cmd)
	cmd.Flag("probe.enable", "Probe every server of the endpoint flags and variables (VLLM_ENDPOINT, TGI_ENDPOINT, SGLANG_ENDPOINT, LLAMACPP_ENDPOINT; and the demo's) with a small real streaming request every 30s (--no-probe.enable turns these default probes off; the configuration's probes still run).").Default("true").BoolVar(&e.probesEnabled)
	cmd.Flag("gpu.enable", "Read NVIDIA GPUs through NVML (--no-gpu.enable turns it off). Without a driver, GPU metrics are off and tokenpath_gpu_up is 0.").Default("true").BoolVar(&e.gpuEnabled)
	cmd.Flag("gpu.dcgm-names", "Also export GPU metrics under dcgm-exporter's names and labels, so NVIDIA's Grafana dashboard works.").Default("true").BoolVar(&e.gpuDCGMNames)
	cmd.Flag("gpu.nvml-library", "Path of libnvidia-ml.so.1 (default: the dynamic loader's search path).").PlaceHolder("PATH").StringVar(&e.nvmlLibrary)
}

func ratio(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// actor is one member of the run group.
type actor struct {
	execute   func() error
	interrupt func(error)
}

// extras is what the optional parts add to the server's wiring.
type extras struct {
	flags         *extraFlags
	logger        *slog.Logger
	scrapeConfigs []string
	actors        []actor
	demo          *demo
	probes        *probe.Manager
	// gpu is the GPU collector; nil with --no-gpu.enable.
	gpu *gpu.Collector
	// sloWarnings logs the SLO bucket warnings of the server kinds that are
	// really scraped or probed.
	sloWarnings *sloWarnings
	// storageError says why the TSDB cannot write; the UI shows it on every page.
	storageError func() error
}

func (e *extraFlags) build(logger *slog.Logger, reg prometheus.Registerer, demo bool, warnings *sloWarnings) (*extras, error) {
	if err := e.rules.thresholds.Validate(); err != nil {
		return nil, err
	}
	x := &extras{flags: e, logger: logger, sloWarnings: warnings}
	byKind, err := slo.BucketWarnings(e.rules.objectives(), nil, e.rules.sloOptions())
	if err != nil {
		return nil, err
	}
	warnings.set(byKind)
	var gpuWork func(int) gpu.SimulatedWork
	if demo {
		// The demo's scenarios last 90 s: alerts that wait 5 minutes would never fire.
		if e.rules.thresholds.For == 0 {
			e.rules.thresholds.For = demoAlertFor
		}
		d, err := newDemo(logger, e.demo)
		if err != nil {
			return nil, err
		}
		x.actors = append(x.actors, d.actor())
		x.scrapeConfigs = append(x.scrapeConfigs, d.scrapeConfigs()...)
		x.demo = d
		gpuWork = d.gpuWork
	}
	if e.gpuEnabled {
		if err := x.addGPU(reg, gpuWork); err != nil {
			return nil, err
		}
	}
	probes, err := probe.NewManager(probe.Options{Logger: logger, Registerer: reg})
	if err != nil {
		return nil, fmt.Errorf("creating the prober: %w", err)
	}
	x.probes = probes
	x.actors = append(x.actors, contextActor("prober", logger, probes.Run))
	return x, nil
}

// addGPU registers the GPU collector on the internal registry (the built-in
// scrape job stores it) and runs its background loop. With gpuWork set (the
// demo) the GPUs are go-nvml's simulated DGX H100, doing the simulators' work.
func (x *extras) addGPU(reg prometheus.Registerer, gpuWork func(int) gpu.SimulatedWork) error {
	lib := gpu.NewNVML(x.logger.With("component", "nvml"), x.flags.nvmlLibrary)
	if gpuWork != nil {
		lib = gpu.NewSimulatedWork(gpuWork)
	}
	opts := gpu.DefaultCollectorOptions()
	opts.Library = lib
	opts.Logger = x.logger
	opts.DCGMNames = x.flags.gpuDCGMNames
	c, err := gpu.NewCollector(opts)
	if err != nil {
		return fmt.Errorf("creating the GPU collector: %w", err)
	}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("registering the GPU collector: %w", err)
	}
	x.actors = append(x.actors, contextActor("GPU collector", x.logger, c.Run))
	x.gpu = c
	return nil
}

// contextActor runs f until the group is interrupted.
func contextActor(name string, logger *slog.Logger, f func(context.Context) error) actor {
	ctx, cancel := context.WithCancel(context.Background())
	return actor{
		execute: func() error {
			logger.Info("Starting " + name)
			err := f(ctx)
			logger.Info(name + " stopped")
			return err
		},
		interrupt: func(error) {
			logger.Info("Stopping " + name + "...")
			cancel()
		},
	}
}

// embeddedRules are the rule files compiled into the binary: the token-path
// rules, the seed's alerts, and the probe and SLO rules, rendered from the
// flags exactly as `tokenpath rules export` renders them.
func (x *extras) embeddedRules() (map[string][]byte, error) {
	return x.flags.rules.files()
}

// attach mounts the exporters, which query the TSDB directly, and the UI,
// which reads tokenpath's own API in-process: the UI speaks the HTTP API so
// that `tokenpath fleet` can point the same code at a central engine.
func (x *extras) attach(srv *server.Server, tsdb export.Querier) error {
	exporters, err := export.NewHandler(export.Options{Logger: x.logger.With("component", "export"), Querier: tsdb})
	if err != nil {
		return fmt.Errorf("creating the exporter endpoints: %w", err)
	}
	srv.Mount("/export/", exporters)
	srv.Mount("/grafana/", grafana.Handler())
	ui, err := web.New(web.Options{Logger: x.logger, API: srv.LocalClient(), Version: version.Version, StorageError: x.storageError})
	if err != nil {
		return fmt.Errorf("creating the web UI: %w", err)
	}
	srv.SetUI(ui)
	return nil
}

// applyProbes gives the prober the configured probes plus, unless turned
// off, one for every server of the endpoint flags and variables
// (--vllm.endpoint, TGI_ENDPOINT, …; the demo's simulators included). A
// kind switched off (TGI_ENDPOINT=) has no endpoints, hence no probe.
func (x *extras) applyProbes(cfg *config.Config, src config.Sources) error {
	cfgs := append([]probe.Config(nil), cfg.Tokenpath.Probes...)
	if x.flags.probesEnabled && x.demo != nil {
		cfgs = append(cfgs, x.demo.probes()...)
	}
	if x.flags.probesEnabled {
		configured := map[string]bool{}
		for _, c := range cfgs {
			configured[strings.TrimSuffix(c.Endpoint, "/")] = true
		}
		endpoints := src.Endpoints()
		for _, kind := range config.EndpointKinds {
			for _, e := range endpoints[kind.Job] {
				if !configured[strings.TrimSuffix(e, "/")] {
					cfgs = append(cfgs, probe.Config{Endpoint: e, Server: kind.Job})
				}
			}
		}
	}
	if err := x.probes.ApplyConfig(cfgs); err != nil {
		return err
	}
	if len(cfgs) > 0 {
		x.sloWarnings.kindSeen(slo.ProbeKind)
	}
	return nil
}
