// Package rules owns PromQL evaluation in tokenpath: the query engine, the
// rule manager (the embedded token-path rules next to the user's rule_files),
// and the notifier that sends alerts to Alertmanager.
package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	promdiscovery "github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promrules "github.com/prometheus/prometheus/rules"
	promstorage "github.com/prometheus/prometheus/storage"
	"go.yaml.in/yaml/v2"
)

// embeddedPrefix marks rule "files" that live in memory, not on disk. The
// prefix shows in /api/v1/rules as the group's file, so a user can tell the
// built-in groups from their own.
const embeddedPrefix = "embedded:"

// ManagerOptions configure the Manager.
type ManagerOptions struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Storage    interface {
		promstorage.Queryable
		promstorage.AppendableV2
	}
	ExternalURL *url.URL
	// DataDir holds the active query log used by --query.max-concurrency.
	DataDir        string
	QueryTimeout   time.Duration // --query.timeout, default 2m
	MaxSamples     int           // --query.max-samples, default 50,000,000
	MaxConcurrency int           // --query.max-concurrency, default 20
	LookbackDelta  time.Duration // default 5m
	// EmbeddedRules returns the built-in rule files (name → YAML) to load
	// next to the configuration's rule_files; nil loads none. It is called
	// on every ApplyConfig, so thresholds can change on reload.
	EmbeddedRules func() (map[string][]byte, error)
	// SDMetrics are service discovery metrics already registered by the
	// scrape side; nil registers them here.
	SDMetrics *promdiscovery.SDMetrics
	// AlertmanagerURLs are sent alerts in addition to the configuration's
	// alerting section (--alertmanager.url).
	AlertmanagerURLs []string
}

// Manager evaluates rules and sends alerts.
type Manager struct {
	opts      ManagerOptions
	logger    *slog.Logger
	engine    *promql.Engine
	rules     *promrules.Manager
	notifier  *notifier.Manager
	discovery *promdiscovery.Manager
	loader    *memoryLoader

	ctx    context.Context
	cancel context.CancelFunc
	stop   sync.Once
}

// Prometheus' defaults, one per flag of cmd/prometheus.
const (
	defaultQueryTimeout       = 2 * time.Minute  // --query.timeout
	defaultMaxSamples         = 50_000_000       // --query.max-samples
	defaultMaxConcurrency     = 20               // --query.max-concurrency
	defaultLookbackDelta      = 5 * time.Minute  // --query.lookback-delta
	notificationQueueCapacity = 10_000           // --alertmanager.notification-queue-capacity
	outageTolerance           = time.Hour        // --rules.alert.for-outage-tolerance
	forGracePeriod            = 10 * time.Minute // --rules.alert.for-grace-period
	resendDelay               = time.Minute      // --rules.alert.resend-delay
)

// NewManager constructs the engine, rule manager and notifier; nothing runs
// until Run. Unset options take Prometheus' defaults (the constants above),
// so that tokenpath's engine and rule manager behave as a user's Prometheus.
func NewManager(o ManagerOptions) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.QueryTimeout == 0 {
		o.QueryTimeout = defaultQueryTimeout
	}
	if o.MaxSamples == 0 {
		o.MaxSamples = defaultMaxSamples
	}
	if o.MaxConcurrency == 0 {
		o.MaxConcurrency = defaultMaxConcurrency
	}
	if o.LookbackDelta == 0 {
		o.LookbackDelta = defaultLookbackDelta
	}
	if o.ExternalURL == nil {
		o.ExternalURL = &url.URL{Scheme: "http", Host: "localhost:9090"}
	}
	if o.Storage == nil {
		return nil, errors.New("rules: no storage")
	}
	// A bad --alertmanager.url is a start-up error, not a log line per reload.
	for _, raw := range o.AlertmanagerURLs {
		if _, err := alertmanagerConfig(raw); err != nil {
			return nil, fmt.Errorf("--alertmanager.url: %w", err)
		}
	}
	engineOpts := promql.EngineOpts{
		Logger:               o.Logger.With("component", "query engine"),
		Reg:                  o.Registerer,
		MaxSamples:           o.MaxSamples,
		Timeout:              o.QueryTimeout,
		LookbackDelta:        o.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		EnablePerStepStats:   true,
	}
	if o.DataDir != "" && o.MaxConcurrency > 0 {
		if err := os.MkdirAll(o.DataDir, 0o755); err != nil { //nolint:gosec // G301: kept world-readable like the rest of the data directory; tightening it is a behaviour change
			return nil, fmt.Errorf("creating %s: %w", o.DataDir, err)
		}
		tracker, err := promql.NewActiveQueryTracker(o.DataDir, o.MaxConcurrency, o.Logger.With("component", "activeQueryTracker"))
		if err != nil {
			return nil, fmt.Errorf("opening the active query log in %s: %w", o.DataDir, err)
		}
		engineOpts.ActiveQueryTracker = tracker
	}
	engine := promql.NewEngine(engineOpts)

	ctx, cancel := context.WithCancel(context.Background())
	notif := notifier.NewManager(&notifier.Options{
		QueueCapacity:   notificationQueueCapacity,
		DrainOnShutdown: true,
		Registerer:      o.Registerer,
	}, model.UTF8Validation, o.Logger.With("component", "notifier"))

	sdMetrics := o.SDMetrics
	if sdMetrics == nil {
		var err error
		if sdMetrics, err = promdiscovery.CreateAndRegisterSDMetrics(o.Registerer); err != nil {
			cancel()
			return nil, fmt.Errorf("registering notifier discovery metrics: %w", err)
		}
	}
	dm := promdiscovery.NewManager(ctx, o.Logger.With("component", "discovery manager notify"), o.Registerer, sdMetrics, promdiscovery.Name("notify"))
	if dm == nil {
		cancel()
		return nil, errors.New("creating the notifier discovery manager failed")
	}

	p := parser.NewParser(parser.Options{})
	loader := &memoryLoader{parser: p, logger: o.Logger, files: map[string][]byte{}}
	rm := promrules.NewManager(&promrules.ManagerOptions{
		NameValidationScheme: model.UTF8Validation,
		ExternalURL:          o.ExternalURL,
		QueryFunc:            promrules.EngineQueryFunc(engine, o.Storage),
		NotifyFunc:           notifyWithExploreLinks(notif, o.ExternalURL),
		Context:              ctx,
		AppendableV2:         o.Storage,
		Queryable:            o.Storage,
		Logger:               o.Logger.With("component", "rule manager"),
		Registerer:           o.Registerer,
		OutageTolerance:      outageTolerance,
		ForGracePeriod:       forGracePeriod,
		ResendDelay:          resendDelay,
		GroupLoader:          loader,
		Parser:               p,
	})
	return &Manager{
		opts:      o,
		logger:    o.Logger,
		engine:    engine,
		rules:     rm,
		notifier:  notif,
		discovery: dm,
		loader:    loader,
		ctx:       ctx,
		cancel:    cancel,
	}, nil
}

// Engine is the PromQL engine shared by rules and the HTTP API.
func (m *Manager) Engine() promql.QueryEngine { return m.engine }

// Rules returns the upstream rule manager for /api/v1/rules and /alerts.
func (m *Manager) Rules() *promrules.Manager { return m.rules }

// Notifier returns the upstream notifier for /api/v1/alertmanagers.
func (m *Manager) Notifier() *notifier.Manager { return m.notifier }

// ApplyConfig loads the rule files (embedded and configured) and the
// alerting section. A rule file that does not parse is an error naming the
// file and the problem, and the previous rules keep running.
func (m *Manager) ApplyConfig(cfg *promconfig.Config) error {
	files, err := m.ruleFiles(cfg)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		if _, lerrs := m.loader.Load(f, false, model.UTF8Validation); len(lerrs) > 0 {
			errs = append(errs, lerrs...)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("loading rules: %w", errors.Join(errs...))
	}
	if err := m.rules.Update(time.Duration(cfg.GlobalConfig.EvaluationInterval), files,
		cfg.GlobalConfig.ExternalLabels, m.opts.ExternalURL.String(), nil); err != nil {
		return fmt.Errorf("updating rule manager: %w", err)
	}

	cfg = m.withExtraAlertmanagers(cfg)
	if err := m.notifier.ApplyConfig(cfg); err != nil {
		return fmt.Errorf("applying alerting configuration: %w", err)
	}
	sd := make(map[string]promdiscovery.Configs)
	for k, v := range cfg.AlertingConfig.AlertmanagerConfigs.ToMap() {
		sd[k] = v.ServiceDiscoveryConfigs
	}
	if err := m.discovery.ApplyConfig(sd); err != nil {
		return fmt.Errorf("applying alertmanager discovery: %w", err)
	}
	return nil
}

// ruleFiles resolves the configuration's rule_files globs and registers the
// embedded files with the loader. Embedded names come first, sorted, so the
// evaluation order is stable.
func (m *Manager) ruleFiles(cfg *promconfig.Config) ([]string, error) {
	mem := map[string][]byte{}
	if m.opts.EmbeddedRules != nil {
		embedded, err := m.opts.EmbeddedRules()
		if err != nil {
			return nil, fmt.Errorf("building the embedded rules: %w", err)
		}
		for name, content := range embedded {
			mem[embeddedPrefix+name] = content
		}
	}
	m.loader.setFiles(mem)
	files := make([]string, 0, len(mem))
	for name := range mem {
		files = append(files, name)
	}
	sort.Strings(files)
	for _, pat := range cfg.RuleFiles {
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("rule_files: bad pattern %q: %w", pat, err)
		}
		files = append(files, matches...)
	}
	return files, nil
}

// withExtraAlertmanagers returns a copy of cfg whose alerting section also
// holds the --alertmanager.url targets, one static Alertmanager config each.
func (m *Manager) withExtraAlertmanagers(cfg *promconfig.Config) *promconfig.Config {
	if len(m.opts.AlertmanagerURLs) == 0 {
		return cfg
	}
	c := *cfg
	c.AlertingConfig.AlertmanagerConfigs = append(promconfig.AlertmanagerConfigs(nil), cfg.AlertingConfig.AlertmanagerConfigs...)
	for _, raw := range m.opts.AlertmanagerURLs {
		am, err := alertmanagerConfig(raw)
		if err != nil {
			m.logger.Error("Ignoring --alertmanager.url", "url", raw, "err", err)
			continue
		}
		c.AlertingConfig.AlertmanagerConfigs = append(c.AlertingConfig.AlertmanagerConfigs, am)
	}
	return &c
}

// Run starts evaluation and alert delivery and blocks until Stop.
func (m *Manager) Run() error {
	var (
		wg           sync.WaitGroup
		discoveryErr error
	)
	wg.Go(func() {
		// Run ends with its context's error when stopped, as it should.
		if err := m.discovery.Run(); err != nil && !errors.Is(err, context.Canceled) {
			discoveryErr = fmt.Errorf("discovering Alertmanagers: %w", err)
		}
	})
	wg.Go(func() { m.notifier.Run(m.discovery.SyncCh()) })
	wg.Go(m.rules.Run)
	<-m.ctx.Done()
	wg.Wait()
	return discoveryErr
}

// Stop stops the rule manager first, then the notifier (so the last alerts
// are still sent), then discovery. Safe to call more than once.
func (m *Manager) Stop() {
	m.stop.Do(func() {
		m.rules.Stop()
		m.notifier.Stop()
		m.cancel()
	})
}

// memoryLoader loads embedded rule files from memory and everything else
// from disk, like promrules.FileLoader.
type memoryLoader struct {
	parser parser.Parser
	logger *slog.Logger
	mtx    sync.RWMutex
	files  map[string][]byte
}

func (l *memoryLoader) setFiles(files map[string][]byte) {
	l.mtx.Lock()
	defer l.mtx.Unlock()
	l.files = files
}

// Load implements promrules.GroupLoader.
func (l *memoryLoader) Load(identifier string, ignoreUnknownFields bool, scheme model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	if !strings.HasPrefix(identifier, embeddedPrefix) {
		return rulefmt.ParseFile(identifier, ignoreUnknownFields, scheme, l.parser, l.logger)
	}
	l.mtx.RLock()
	content, ok := l.files[identifier]
	l.mtx.RUnlock()
	if !ok {
		return nil, []error{fmt.Errorf("%s: no such embedded rule file", identifier)}
	}
	groups, errs := rulefmt.Parse(content, ignoreUnknownFields, scheme, l.parser, l.logger)
	for i := range errs {
		errs[i] = fmt.Errorf("%s: %w", identifier, errs[i])
	}
	return groups, errs
}

// Parse implements promrules.GroupLoader.
func (l *memoryLoader) Parse(query string) (parser.Expr, error) { return l.parser.ParseExpr(query) }

// alertmanagerConfig turns an Alertmanager URL such as
// http://127.0.0.1:9093 into a static Alertmanager configuration with
// Prometheus' defaults (API v2, 10s timeout).
func alertmanagerConfig(raw string) (*promconfig.AlertmanagerConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL with a host", raw)
	}
	doc := fmt.Sprintf("scheme: %s\npath_prefix: %q\nstatic_configs:\n- targets: [%q]\n", u.Scheme, u.Path, u.Host)
	am := &promconfig.AlertmanagerConfig{}
	if err := yaml.UnmarshalStrict([]byte(doc), am); err != nil {
		return nil, fmt.Errorf("building alertmanager config for %q: %w", raw, err)
	}
	return am, nil
}
