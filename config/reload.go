package config

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reloader applies one part of a configuration, as in Prometheus' main.go.
type Reloader struct {
	Name  string
	Apply func(*Config) error
}

// Manager loads the configuration and hands it to every reloader: at
// start, on SIGHUP and on POST /-/reload. A configuration that does not load
// changes nothing: the old one keeps running, and the error says why.
type Manager struct {
	sources   Sources
	logger    *slog.Logger
	reloaders []Reloader
	onApplied func(*Config, bool)

	mtx     sync.Mutex
	current *Config
	success prometheus.Gauge
	seconds prometheus.Gauge
}

// NewManager builds a Manager; onApplied (may be nil) is told
// the outcome of every load.
func NewManager(src Sources, logger *slog.Logger, reg prometheus.Registerer, onApplied func(*Config, bool), reloaders ...Reloader) *Manager {
	m := &Manager{
		sources:   src,
		logger:    logger.With("component", "config"),
		reloaders: reloaders,
		onApplied: onApplied,
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		seconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
	}
	reg.MustRegister(m.success, m.seconds)
	return m
}

// Current returns the configuration in effect (nil before the first load).
func (m *Manager) Current() *Config {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	return m.current
}

// Reload loads and applies the configuration.
func (m *Manager) Reload() (err error) {
	m.mtx.Lock()
	defer m.mtx.Unlock()
	start := time.Now()
	defer func() {
		if err != nil {
			m.success.Set(0)
			if m.current == nil {
				// Nothing to keep running: the caller stops the process.
				m.logger.Error("Failed to apply the first configuration", "file", m.sources.ConfigFile, "err", err)
			} else {
				m.logger.Error("Failed to apply configuration; the previous one keeps running", "file", m.sources.ConfigFile, "err", err)
			}
			if m.onApplied != nil {
				m.onApplied(m.current, false)
			}
			return
		}
		m.success.Set(1)
		m.seconds.SetToCurrentTime()
		if m.onApplied != nil {
			m.onApplied(m.current, true)
		}
	}()
	cfg, err := Load(m.sources, m.logger)
	if err != nil {
		return err
	}
	var errs []error
	timings := []any{}
	for _, r := range m.reloaders {
		rstart := time.Now()
		if rerr := r.Apply(cfg); rerr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, rerr))
		}
		timings = append(timings, r.Name, time.Since(rstart).String())
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.current = cfg
	// As Prometheus 3: the configuration's runtime.gogc (default 75, or
	// $GOGC) sets the garbage collector's target.
	if old := debug.SetGCPercent(cfg.Prometheus.Runtime.GoGC); old != cfg.Prometheus.Runtime.GoGC {
		m.logger.Info("Updated GOGC", "old", old, "new", cfg.Prometheus.Runtime.GoGC)
	}
	m.logger.Info("Completed loading of configuration file", append([]any{"filename", m.sources.ConfigFile, "totalDuration", time.Since(start).String()}, timings...)...)
	return nil
}
