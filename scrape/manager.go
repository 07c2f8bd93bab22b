// Package scrape wraps Prometheus' scrape and discovery managers for
// tokenpath: static and file service discovery only, and server-kind
// detection that labels every inference-server target with server="vllm",
// "tgi", "sglang", "llamacpp" or "other".
package scrape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	promdiscovery "github.com/prometheus/prometheus/discovery"
	_ "github.com/prometheus/prometheus/discovery/file" // File service discovery is the one plugin tokenpath registers (README, "Configuration example").
	promscrape "github.com/prometheus/prometheus/scrape"
	promstorage "github.com/prometheus/prometheus/storage"
)

// Options configure the Manager.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Appendable receives every scraped sample.
	Appendable promstorage.AppendableV2
	// DetectClient fetches a target's exposition once to detect its server
	// kind; nil builds one from each job's http client config.
	DetectClient *http.Client
	// HealthCheckInterval is how often target health changes are looked
	// for and logged (default 5s).
	HealthCheckInterval time.Duration
	// OnServerKind, when set, is called once per server kind, the first
	// time a target of that kind is handed to the scrape manager.
	OnServerKind func(kind string)
}

// Manager runs discovery, detection and scraping.
type Manager struct {
	logger    *slog.Logger
	scrape    *promscrape.Manager
	discovery *promdiscovery.Manager
	detector  *detector
	health    *healthLog
	healthDt  time.Duration
	sdMetrics *promdiscovery.SDMetrics
	onKind    func(string)

	ctx    context.Context
	cancel context.CancelFunc
	stop   sync.Once
}

// New constructs the managers; nothing runs until Run.
func New(o Options) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Appendable == nil {
		return nil, errors.New("scrape: no storage to append to")
	}
	if o.HealthCheckInterval <= 0 {
		o.HealthCheckInterval = defaultHealthCheckInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	sdMetrics, err := promdiscovery.CreateAndRegisterSDMetrics(o.Registerer)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("registering service discovery metrics: %w", err)
	}
	dm := promdiscovery.NewManager(ctx, o.Logger.With("component", "discovery manager scrape"), o.Registerer, sdMetrics, promdiscovery.Name("scrape"))
	if dm == nil {
		cancel()
		return nil, errors.New("creating the scrape discovery manager failed")
	}
	sm, err := promscrape.NewManager(&promscrape.Options{
		DiscoveryReloadOnStartup: true,
	}, o.Logger.With("component", "scrape manager"), nil, nil, o.Appendable, o.Registerer)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("creating the scrape manager: %w", err)
	}
	return &Manager{
		logger:    o.Logger,
		scrape:    sm,
		discovery: dm,
		detector:  newDetector(o.Logger.With("component", "server detection"), o.DetectClient),
		health:    newHealthLog(o.Logger.With("component", "target health")),
		healthDt:  o.HealthCheckInterval,
		sdMetrics: sdMetrics,
		onKind:    o.OnServerKind,
		ctx:       ctx,
		cancel:    cancel,
	}, nil
}

// ApplyConfig applies the scrape_configs of a configuration to discovery,
// detection and scraping.
func (m *Manager) ApplyConfig(cfg *promconfig.Config) error {
	scfgs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return fmt.Errorf("reading scrape configs: %w", err)
	}
	scfgs = withDefaultLimits(scfgs)
	// The scrape manager reads the jobs through GetScrapeConfigs: hand it the
	// limited ones, with scrape_config_files already folded in.
	limited := *cfg
	limited.ScrapeConfigs, limited.ScrapeConfigFiles = scfgs, nil
	if err := m.scrape.ApplyConfig(&limited); err != nil {
		return fmt.Errorf("applying scrape configs: %w", err)
	}
	m.detector.applyConfig(scfgs)
	sd := make(map[string]promdiscovery.Configs, len(scfgs))
	for _, sc := range scfgs {
		sd[sc.JobName] = sc.ServiceDiscoveryConfigs
	}
	if err := m.discovery.ApplyConfig(sd); err != nil {
		return fmt.Errorf("applying service discovery configs: %w", err)
	}
	return nil
}

// Run blocks until Stop: discovery feeds detection, detection feeds the
// scrape manager.
func (m *Manager) Run() error {
	var (
		wg           sync.WaitGroup
		discoveryErr error
	)
	wg.Go(func() { discoveryErr = discoveryStopped(m.discovery.Run()) })
	wg.Go(func() { m.detector.run(m.ctx, m.discovery.SyncCh()) })
	wg.Go(func() { m.health.run(m.ctx, m.healthDt, m.scrape.TargetsActive) })
	err := m.scrape.Run(announceKinds(m.ctx, m.detector.out, m.onKind))
	m.cancel()
	wg.Wait()
	return errors.Join(err, discoveryErr)
}

// Stop stops scraping (writing staleness markers) and discovery. Safe to
// call more than once.
func (m *Manager) Stop() {
	m.stop.Do(func() {
		m.scrape.Stop()
		m.cancel()
	})
}

// Scrape returns the upstream scrape manager for the v1 API's target,
// scrape-pool and metadata endpoints and for remote write metadata.
func (m *Manager) Scrape() *promscrape.Manager { return m.scrape }

// SDMetrics are the service discovery metrics, registered once and shared
// with the notifier's discovery manager (registering them twice fails).
func (m *Manager) SDMetrics() *promdiscovery.SDMetrics { return m.sdMetrics }

// Get implements storage.ScrapeManager for remote write's metadata lookups.
func (m *Manager) Get() (*promscrape.Manager, error) { return m.scrape, nil }

// discoveryStopped is the error of a discovery manager's Run worth
// reporting: it returns its context's error when stopped, which is how it
// is meant to end.
func discoveryStopped(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return fmt.Errorf("service discovery: %w", err)
}
