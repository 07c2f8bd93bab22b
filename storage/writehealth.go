package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
)

// writeHealth follows whether the TSDB can write. A commit fails when the
// WAL cannot be written (a full disk, a read-only remount); Prometheus counts
// that only in a series it then cannot store. tokenpath keeps the last
// failure so /-/ready can say why, and counts failures on the internal
// registry, which /metrics serves live for an outside scraper. The next
// commit that succeeds clears it, so the state follows the disk.
type writeHealth struct {
	logger   *slog.Logger
	failures prometheus.Counter
	failing  prometheus.Gauge

	mtx   sync.Mutex
	err   error
	since time.Time
}

func newWriteHealth(logger *slog.Logger, reg prometheus.Registerer) *writeHealth {
	h := &writeHealth{
		logger: logger,
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tokenpath_storage_write_failures_total",
			Help: "Commits to the local TSDB that failed (WAL not writable: disk full, read-only file system).",
		}),
		failing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tokenpath_storage_write_failing",
			Help: "1 while the last commit to the local TSDB failed, 0 once one succeeds again.",
		}),
	}
	reg.MustRegister(h.failures, h.failing)
	return h
}

// observe records the result of one commit.
func (h *writeHealth) observe(err error) {
	h.mtx.Lock()
	defer h.mtx.Unlock()
	if err == nil {
		if h.err != nil {
			h.logger.Info("Writing to the TSDB works again", "failing_for", time.Since(h.since).Round(time.Second).String())
			h.err = nil
			h.failing.Set(0)
		}
		return
	}
	h.failures.Inc()
	if h.err == nil {
		h.since = time.Now()
		h.failing.Set(1)
		// Once per outage: every scrape fails the same way until it ends.
		h.logger.Error("Writing to the TSDB fails; samples are being dropped", "err", err)
	}
	h.err = err
}

// Err is the last commit's error, nil when it succeeded.
func (h *writeHealth) Err() error {
	h.mtx.Lock()
	defer h.mtx.Unlock()
	if h.err == nil {
		return nil
	}
	return fmt.Errorf("storage: writes have been failing since %s: %w", h.since.UTC().Format(time.RFC3339), h.err)
}

// healthAppender reports its commit to writeHealth.
type healthAppender struct {
	promstorage.Appender
	h *writeHealth
}

func (a healthAppender) Commit() error {
	err := a.Appender.Commit()
	a.h.observe(err)
	return err
}

// healthAppenderV2 reports its commit to writeHealth.
type healthAppenderV2 struct {
	promstorage.AppenderV2
	h *writeHealth
}

func (a healthAppenderV2) Commit() error {
	err := a.AppenderV2.Commit()
	a.h.observe(err)
	return err
}

// AppendExemplars keeps the TSDB appender's exemplar support visible to the
// remote-write receiver, which asserts it.
func (a healthAppenderV2) AppendExemplars(ref promstorage.SeriesRef, ls labels.Labels, es []exemplar.Exemplar) (promstorage.SeriesRef, error) {
	if ea, ok := a.AppenderV2.(promstorage.ExemplarAppenderV2); ok {
		return ea.AppendExemplars(ref, ls, es)
	}
	return 0, errors.New("the TSDB appender takes no exemplars")
}

// GetRef keeps the TSDB appender's series lookups available.
func (a healthAppenderV2) GetRef(ls labels.Labels, hash uint64) (promstorage.SeriesRef, labels.Labels) {
	if g, ok := a.AppenderV2.(promstorage.GetRef); ok {
		return g.GetRef(ls, hash)
	}
	return 0, labels.EmptyLabels()
}

// GetRef keeps the TSDB appender's series lookups available.
func (a healthAppender) GetRef(ls labels.Labels, hash uint64) (promstorage.SeriesRef, labels.Labels) {
	if g, ok := a.Appender.(promstorage.GetRef); ok {
		return g.GetRef(ls, hash)
	}
	return 0, labels.EmptyLabels()
}
