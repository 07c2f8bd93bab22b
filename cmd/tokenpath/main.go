// Command tokenpath watches the token path of LLM inference — queue,
// prefill, first token, every later token — next to the GPUs doing the work,
// in one process: scraping, an embedded Prometheus TSDB, rules, alerts, the
// Prometheus HTTP API and a web UI.
//
// This file holds the flags and the wiring, following Prometheus'
// cmd/prometheus/main.go: construct everything, then run it in one
// oklog/run group; scraping and rules stop before the TSDB closes.
package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	"github.com/ritwikareddykancharla/token-path-observability/config"
	"github.com/ritwikareddykancharla/token-path-observability/export"
	"github.com/ritwikareddykancharla/token-path-observability/rules"
	"github.com/ritwikareddykancharla/token-path-observability/scrape"
	"github.com/ritwikareddykancharla/token-path-observability/server"
	"github.com/ritwikareddykancharla/token-path-observability/storage"
)

// serveFlags are the flags of the server (the default command). Names follow
// Prometheus' where the meaning is the same, so a user can swap binaries.
type serveFlags struct {
	configFile       string
	listenAddress    string
	webConfigFile    string
	externalURL      string
	enableLifecycle  bool
	enableAdminAPI   bool
	enableRWReceiver bool
	tsdbPath         string
	retentionTime    model.Duration
	retentionSize    units.Base2Bytes
	queryTimeout     model.Duration
	queryMaxSamples  int
	queryConcurrency int
	lookbackDelta    model.Duration
	alertmanagerURLs []string
	scrapeInterval   model.Duration
	demo             bool
	extra            extraFlags
	security         securityFlags
	memory           memoryLimitFlags
	promslog         promslog.Config

	// endpoints are --vllm.endpoint, --tgi.endpoint, --sglang.endpoint and
	// --llamacpp.endpoint by job; a flag not given stays nil.
	endpoints map[string]*[]string
}

func main() {
	if err := runMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tokenpath:", err)
		os.Exit(1)
	}
}

func runMain(args []string) error {
	app := kingpin.New("tokenpath", "Watches the token path of LLM inference next to the GPUs doing the work.")
	app.Version(version.Print("tokenpath"))
	app.HelpFlag.Short('h')

	serve := app.Command("serve", serveHelp).Default()
	var f serveFlags
	serve.Flag("config.file", "Prometheus configuration file (global, scrape_configs, rule_files, alerting, remote_write) plus an optional tokenpath: section. Without it (the default), targets come from VLLM_ENDPOINT, TGI_ENDPOINT, SGLANG_ENDPOINT and LLAMACPP_ENDPOINT (and their flags).").PlaceHolder("FILE").StringVar(&f.configFile)
	serve.Flag("web.listen-address", "Address to listen on for the UI, API and telemetry. Default :9090, or :$PROMETHEUS_PORT.").StringVar(&f.listenAddress)
	serve.Flag("web.config.file", "Path to a configuration file that enables TLS or basic authentication (exporter-toolkit format, the same file Prometheus takes). Default: none (plain HTTP, no authentication).").PlaceHolder("FILE").StringVar(&f.webConfigFile)
	serve.Flag("web.external-url", "The URL under which tokenpath is externally reachable, e.g. behind a reverse proxy (used in alert links). Default: http://<--web.listen-address>/.").PlaceHolder("URL").StringVar(&f.externalURL)
	serve.Flag("web.enable-lifecycle", "Enable reload via HTTP request (POST /-/reload).").BoolVar(&f.enableLifecycle)
	serve.Flag("web.enable-admin-api", "Enable API endpoints for admin control actions.").BoolVar(&f.enableAdminAPI)
	serve.Flag("web.enable-remote-write-receiver", "Enable the API endpoint accepting remote write requests (/api/v1/write, RW 1.0 and 2.0).").BoolVar(&f.enableRWReceiver)
	serve.Flag("storage.tsdb.path", "Base path for metrics storage.").Default("data/").StringVar(&f.tsdbPath)
	serve.Flag("storage.tsdb.retention.time", "How long to retain samples in storage.").Default("15d").SetValue(&f.retentionTime)
	serve.Flag("storage.tsdb.retention.size", "Maximum number of bytes that can be stored for blocks (e.g. 512MB); 0 means no limit.").Default("0").BytesVar(&f.retentionSize)
	serve.Flag("query.timeout", "Maximum time a query may take before being aborted.").Default("2m").SetValue(&f.queryTimeout)
	serve.Flag("query.max-samples", "Maximum number of samples a single query can load into memory.").Default("50000000").IntVar(&f.queryMaxSamples)
	serve.Flag("query.max-concurrency", "Maximum number of queries executed concurrently.").Default("20").IntVar(&f.queryConcurrency)
	serve.Flag("query.lookback-delta", "The maximum lookback duration for retrieving metrics during expression evaluations and federation.").Default("5m").SetValue(&f.lookbackDelta)
	serve.Flag("alertmanager.url", "Alertmanager to send alerts to, in addition to the configuration's alerting section (repeatable). Default: none.").PlaceHolder("URL").StringsVar(&f.alertmanagerURLs)
	serve.Flag("scrape.interval", "Default scrape interval; overrides SCRAPE_INTERVAL and the file's global scrape_interval. Default: 15s.").PlaceHolder("DURATION").SetValue(&f.scrapeInterval)
	f.endpoints = registerEndpointFlags(serve)
	serve.Flag("demo", "Start simulated vLLM and TGI servers and a simulated GPU in-process and watch them.").BoolVar(&f.demo)
	f.extra.register(serve)
	f.security.register(serve)
	f.memory.register(serve)
	flag.AddFlags(app, &f.promslog)

	subcommands := registerSubcommands(app, &f.promslog)
	rulesExport := registerRulesExport(app)
	fleet := registerFleet(app, &f.promslog)

	cmd, err := app.Parse(helpArgs(args))
	if err != nil {
		return didYouMean(app, err)
	}
	if cmd == serve.FullCommand() {
		return runServer(f, serve)
	}
	if cmd == rulesExport.cmd.FullCommand() {
		return rulesExport.run()
	}
	if cmd == fleet.cmd.FullCommand() {
		return fleet.run()
	}
	return subcommands.run(cmd)
}

// listenAddress applies PROMETHEUS_PORT when the flag is not given.
func (f *serveFlags) resolveListenAddress() error {
	if f.listenAddress != "" {
		return nil
	}
	f.listenAddress = ":9090"
	if p := os.Getenv("PROMETHEUS_PORT"); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return fmt.Errorf("PROMETHEUS_PORT=%q: %w", p, err)
		}
		f.listenAddress = ":" + p
	}
	return nil
}

func runServer(f serveFlags, cmd *kingpin.CmdClause) error {
	logger := promslog.New(&f.promslog)
	if err := f.resolveListenAddress(); err != nil {
		return err
	}
	apiAddr, err := hostPort(f.listenAddress)
	if err != nil {
		return err
	}
	extURL, err := externalURL(f.externalURL, apiAddr)
	if err != nil {
		return err
	}
	logger.Info("Starting tokenpath", "version", version.Info())
	if _, err := f.memory.apply(logger, "/sys/fs/cgroup"); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("tokenpath"),
	)

	// A data directory that cannot be written, or that another process
	// holds, is reported before anything is built on it or a port is bound.
	if err := storage.CheckDirectory(f.tsdbPath); err != nil {
		return err
	}
	// Construct every component; nothing runs yet.
	store := storage.New(storage.Options{
		Path:       f.tsdbPath,
		Retention:  time.Duration(f.retentionTime),
		MaxBytes:   int64(f.retentionSize),
		Logger:     logger,
		Registerer: reg,
	})
	sloWarn := newSLOWarnings(logger)
	scrapeMgr, err := scrape.New(scrape.Options{Logger: logger, Registerer: reg, Appendable: store.Fanout(), OnServerKind: sloWarn.kindSeen})
	if err != nil {
		return err
	}
	store.SetScrapeManager(scrapeMgr)
	extras, err := f.extra.build(logger, reg, f.demo, sloWarn)
	if err != nil {
		return err
	}
	if err := registerGPUMapping(logger, reg, extras.gpu, scrapeMgr); err != nil {
		return err
	}
	ruleMgr, err := rules.NewManager(rules.ManagerOptions{
		Logger:           logger,
		Registerer:       reg,
		Storage:          store.Fanout(),
		ExternalURL:      extURL,
		DataDir:          f.tsdbPath,
		QueryTimeout:     time.Duration(f.queryTimeout),
		MaxSamples:       f.queryMaxSamples,
		MaxConcurrency:   f.queryConcurrency,
		LookbackDelta:    time.Duration(f.lookbackDelta),
		EmbeddedRules:    extras.embeddedRules,
		AlertmanagerURLs: f.alertmanagerURLs,
		SDMetrics:        scrapeMgr.SDMetrics(),
	})
	if err != nil {
		return err
	}
	self, err := server.NewSelfScrape(reg)
	if err != nil {
		return err
	}

	var extraListen []string
	if p := os.Getenv("GRAFANA_PORT"); p != "" {
		// The seed served Grafana there; tokenpath serves its UI there too.
		if _, err := net.LookupPort("tcp", p); err != nil {
			return fmt.Errorf("GRAFANA_PORT=%q: %w", p, err)
		}
		addr, err := sameHost(f.listenAddress, p)
		if err != nil {
			return err
		}
		extraListen = append(extraListen, addr)
	}
	cors, err := f.security.cors()
	if err != nil {
		return err
	}
	srv, err := server.New(server.Options{
		Logger:               logger,
		Registry:             reg,
		ListenAddress:        f.listenAddress,
		ExtraListenAddresses: extraListen,
		WebConfigFile:        f.webConfigFile,
		EnableLifecycle:      f.enableLifecycle,
		EnablePprof:          f.security.enablePprof,
		ReadyCheck:           store.WriteError,
		API: server.APIOptions{
			Engine:                    ruleMgr.Engine(),
			Storage:                   store.Fanout(),
			Exemplar:                  store.Exemplars(),
			Receiver:                  store.Local(),
			Admin:                     store.Admin(),
			DataDir:                   f.tsdbPath,
			Scrape:                    scrapeMgr.Scrape(),
			Rules:                     ruleMgr.Rules(),
			Notifier:                  ruleMgr.Notifier(),
			Flags:                     flagMap(cmd),
			ListenAddress:             apiAddr,
			ExternalURL:               extURL,
			Version:                   buildVersion(),
			Retention:                 f.retentionTime.String(),
			EnableAdmin:               f.enableAdminAPI,
			EnableRemoteWriteReceiver: f.enableRWReceiver,
			LookbackDelta:             time.Duration(f.lookbackDelta),
			QueryTimeout:              time.Duration(f.queryTimeout),

			// Bounds on what the API exposes (SECURITY.md).
			EnableRemoteRead:           f.security.enableRemoteRead,
			RemoteReadSampleLimit:      f.queryMaxSamples,
			RemoteReadConcurrencyLimit: f.queryConcurrency,
			MaxQueryLength:             f.security.maxQueryLength,
			MaxConcurrency:             f.queryConcurrency,
			CORSOrigin:                 cors,
		},
	})
	if err != nil {
		return err
	}
	extras.storageError = store.WriteError
	if err := extras.attach(srv, export.StorageQuerier(ruleMgr.Engine(), store.Fanout())); err != nil {
		return err
	}

	sources := config.Sources{
		ConfigFile:         f.configFile,
		LookupEnv:          os.LookupEnv,
		Getenv:             os.Getenv,
		EndpointFlags:      endpointFlagValues(f.endpoints),
		ScrapeInterval:     time.Duration(f.scrapeInterval),
		ExtraScrapeConfigs: append([]string{self.ScrapeConfig(apiAddr)}, extras.scrapeConfigs...),
		DefaultEndpoints:   defaultEndpoints,
	}
	if f.demo {
		// The demo's simulators take the place of the default endpoints;
		// the flags and variables, when set, still win.
		sources.DefaultEndpoints = nil
	}
	configs := config.NewManager(sources, logger, reg, srv.ApplyConfig,
		config.Reloader{Name: "remote_storage", Apply: func(c *config.Config) error { return store.ApplyConfig(c.Prometheus) }},
		config.Reloader{Name: "scrape", Apply: func(c *config.Config) error { return scrapeMgr.ApplyConfig(c.Prometheus) }},
		config.Reloader{Name: "rules", Apply: func(c *config.Config) error { return ruleMgr.ApplyConfig(c.Prometheus) }},
		config.Reloader{Name: "probes", Apply: func(c *config.Config) error { return extras.applyProbes(c, sources) }},
	)
	srv.SetReload(configs.Reload)

	// A bad configuration is reported before any port is bound. LoadConfig
	// checks everything the reloaders would reject (probes, rule files), so
	// the first configuration that gets past here applies.
	if _, err := config.Load(sources, logger); err != nil {
		return err
	}

	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	logger.Info("Listening", "address", addr.String(), "ui", extURL.String())

	var g run.Group
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	{
		// Termination: SIGINT/SIGTERM stop everything. SIGHUP reloads.
		term := make(chan os.Signal, 1)
		signal.Notify(term, os.Interrupt, syscall.SIGTERM)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		done := make(chan struct{})
		g.Add(func() error {
			for {
				select {
				case s := <-term:
					logger.Warn("Received an OS signal, exiting gracefully...", "signal", s.String())
					return nil
				case <-hup:
					if err := configs.Reload(); err != nil {
						logger.Error("Error reloading config", "err", err)
					}
				case <-done:
					return nil
				}
			}
		}, func(error) {
			srv.SetReady(false)
			close(done)
			signal.Stop(term)
			signal.Stop(hup)
		})
	}
	// Background collectors and simulators (GPU, probes, the demo).
	for _, a := range extras.actors {
		g.Add(a.execute, a.interrupt)
	}
	{
		// Storage first opens, then the configuration is applied and the
		// server marked ready; scrape and rules wait for that.
		initDone := make(chan struct{})
		initCtx, initCancel := context.WithCancel(ctx)
		g.Add(func() error {
			// --demo writes its simulated history before the TSDB opens (demo_backfill.go).
			if err := extras.backfillDemo(initCtx, f.tsdbPath, apiAddr); err != nil {
				return err
			}
			if err := store.Open(); err != nil {
				return err
			}
			if err := configs.Reload(); err != nil {
				return fmt.Errorf("loading configuration: %w", err)
			}
			close(initDone)
			srv.SetReady(true)
			logger.Info("Server is ready to receive web requests.")
			<-initCtx.Done()
			return nil
		}, func(error) { initCancel() })

		g.Add(func() error {
			select {
			case <-initDone:
			case <-initCtx.Done():
				return nil
			}
			logger.Info("Starting scrape manager...")
			err := scrapeMgr.Run()
			logger.Info("Scrape manager stopped")
			return err
		}, func(error) {
			logger.Info("Stopping scrape manager...")
			scrapeMgr.Stop()
		})
		g.Add(func() error {
			if !waitInit(initCtx, initDone) {
				return nil
			}
			logger.Info("Starting rule manager...")
			err := ruleMgr.Run()
			logger.Info("Rule manager stopped")
			return err
		}, func(error) {
			// Prometheus' rule manager waits in Stop for its groups, which
			// only start in Run: stopping one that never ran (the first
			// configuration failed to apply) would hang the exit with the
			// web server still up. Once the configuration applied, Run is
			// always called (waitInit), so Stop returns.
			select {
			case <-initDone:
				logger.Info("Stopping rule manager...")
				ruleMgr.Stop()
			default:
			}
		})
	}
	{
		selfCtx, selfCancel := context.WithCancel(ctx)
		g.Add(func() error { return self.Run(selfCtx) }, func(error) { selfCancel() })
	}
	{
		webCtx, webCancel := context.WithCancel(ctx)
		g.Add(func() error { return srv.Run(webCtx) }, func(error) { webCancel() })
	}
	// The closure is deliberate (as in Prometheus): stack traces of the run start in main.
	err = func() error { return g.Run() }() //nolint:gocritic // unlambda: keep the closure so stack traces start in main
	// Storage closes last, after every actor of the group has stopped.
	if cerr := store.Close(); cerr != nil {
		logger.Error("Error closing storage", "err", cerr)
	}
	if err != nil {
		logger.Error("Fatal error", "err", err)
		return err
	}
	logger.Info("See you next time!")
	return nil
}

// waitInit waits for the first configuration to apply (true) or for the
// group to stop first (false). Once the configuration applied it is true
// even when the group is stopping too, so that a manager whose Stop waits
// for Run is always run.
func waitInit(initCtx context.Context, initDone <-chan struct{}) bool {
	select {
	case <-initDone:
		return true
	case <-initCtx.Done():
		select {
		case <-initDone:
			return true
		default:
			return false
		}
	}
}

// hostPort turns the listen address into host:port for the API (targets'
// scrape URLs need a port), defaulting the host to localhost.
func hostPort(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--web.listen-address=%q: %w", listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port), nil
}

func externalURL(raw, apiAddr string) (*url.URL, error) {
	if raw == "" {
		return &url.URL{Scheme: "http", Host: apiAddr, Path: "/"}, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("--web.external-url=%q: not an absolute URL", raw)
	}
	return u, nil
}

// flagMap is /api/v1/status/flags: every flag with its effective value.
func flagMap(cmd *kingpin.CmdClause) map[string]string {
	m := map[string]string{}
	for _, fl := range cmd.Model().Flags {
		m[fl.Name] = fl.Value.String()
	}
	return m
}

func buildVersion() server.Version {
	return server.Version{
		Version:   version.Version,
		Revision:  version.GetRevision(),
		Branch:    version.Branch,
		BuildUser: version.BuildUser,
		BuildDate: version.BuildDate,
		GoVersion: runtime.Version(),
	}
}
