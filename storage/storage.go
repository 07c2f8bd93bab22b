// Package storage owns tokenpath's embedded Prometheus TSDB: opening it,
// retention, the ready wrapper that lets the server start before the WAL has
// replayed, and remote write out. It is the only package that imports
// Prometheus' tsdb.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	promscrape "github.com/prometheus/prometheus/scrape"
	promstorage "github.com/prometheus/prometheus/storage"
	promremote "github.com/prometheus/prometheus/storage/remote"
	promtsdb "github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
)

// Options configure the storage. Zero values take the defaults of
// Prometheus' own flags.
type Options struct {
	// Path is the TSDB directory (--storage.tsdb.path), default "data/".
	Path string
	// Retention is --storage.tsdb.retention.time, default 15d.
	Retention time.Duration
	// MaxBytes is --storage.tsdb.retention.size; 0 means no size limit.
	MaxBytes int64
	// RemoteFlushDeadline bounds how long shutdown waits for remote write queues.
	RemoteFlushDeadline time.Duration
	Logger              *slog.Logger
	Registerer          prometheus.Registerer
}

// defaultMaxExemplars is the exemplar buffer when the configuration does not
// size it (Prometheus' default of 100,000 preallocates ~6 MiB).
const defaultMaxExemplars = 10000

// headChunksWriteBufferSize is the head chunk file writer's buffer (the TSDB's
// default is 4 MiB; Prometheus accepts 64 KiB to 8 MiB).
const headChunksWriteBufferSize = 1 << 20

// Storage is the local TSDB (behind a ready wrapper) fanned out to the
// remote-write queues.
type Storage struct {
	opts   Options
	local  *readyStorage
	remote *promremote.Storage
	fanout promstorage.Storage

	scrapeMgr *lateScrapeManager
}

// ScrapeManager gives remote write the scrape manager, whose metadata cache
// it reads. It is set after construction because scraping appends to this
// storage.
type ScrapeManager interface {
	Get() (*promscrape.Manager, error)
}

// lateScrapeManager is a ScrapeManager set once after construction.
type lateScrapeManager struct {
	mtx sync.RWMutex
	m   ScrapeManager
}

func (l *lateScrapeManager) Get() (*promscrape.Manager, error) {
	l.mtx.RLock()
	defer l.mtx.RUnlock()
	if l.m == nil {
		return nil, errors.New("scrape manager not ready")
	}
	return l.m.Get()
}

// SetScrapeManager hands remote write the scrape manager.
func (s *Storage) SetScrapeManager(m ScrapeManager) {
	s.scrapeMgr.mtx.Lock()
	defer s.scrapeMgr.mtx.Unlock()
	s.scrapeMgr.m = m
}

// New builds the storage without touching the disk; Open opens the TSDB.
func New(o Options) *Storage {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Path == "" {
		o.Path = "data/"
	}
	if o.Retention == 0 {
		o.Retention = 15 * 24 * time.Hour
	}
	if o.RemoteFlushDeadline == 0 {
		o.RemoteFlushDeadline = time.Minute
	}
	local := &readyStorage{stats: promtsdb.NewDBStats(), health: newWriteHealth(o.Logger.With("component", "tsdb"), o.Registerer)}
	sm := &lateScrapeManager{}
	remote := promremote.NewStorage(o.Logger.With("component", "remote"), o.Registerer, local.StartTime,
		o.Path, o.RemoteFlushDeadline, sm, false)
	return &Storage{
		opts:      o,
		local:     local,
		remote:    remote,
		fanout:    promstorage.NewFanout(o.Logger, local, remote),
		scrapeMgr: sm,
	}
}

// Open opens (and, after a crash, replays) the TSDB. Until it returns, the
// storage answers ErrNotReady.
func (s *Storage) Open() error {
	opts := promtsdb.DefaultOptions()
	opts.RetentionDuration = s.opts.Retention.Milliseconds()
	opts.MaxBytes = s.opts.MaxBytes
	// An edge box holds thousands of series, not millions: a smaller series
	// hash map (Prometheus' default is 16384 stripes) saves ~4 MiB.
	opts.StripeSize = 4096
	// The head chunks' file writer buffers 4 MiB by default, all of it
	// resident once the first 4 MiB of chunks have been written. A full chunk
	// is ~150-200 bytes and each series cuts one every 120 samples, so even
	// the 100k-samples/s box writes only ~150 KB/s: 1 MiB is one write call
	// every ~7 s there, and saves 3 MiB of RSS (docs/benchmarks.md, issue 14).
	opts.HeadChunksWriteBufferSize = headChunksWriteBufferSize
	// Exemplars are on (Prometheus has them behind a feature flag) with a
	// small default buffer; storage.exemplars.max_exemplars in the
	// configuration resizes it.
	opts.EnableExemplarStorage = true
	opts.MaxExemplars = defaultMaxExemplars
	opts.MaxBlockDuration = MaxBlockDuration(s.opts.Retention)
	// Prometheus 3 compresses the WAL with snappy by default; the TSDB
	// package's default is none, which writes about twice the bytes and makes
	// a restart replay them.
	opts.WALCompression = compression.Snappy
	logger := s.opts.Logger.With("component", "tsdb")
	db, err := promtsdb.Open(s.opts.Path, logger, s.opts.Registerer, opts, s.local.stats)
	if err != nil {
		return fmt.Errorf("opening storage (--storage.tsdb.path=%q): %w", s.opts.Path, err)
	}
	s.local.set(db)
	logger.Info("TSDB started", "path", s.opts.Path, "retention", s.opts.Retention.String(), "max_bytes", s.opts.MaxBytes)
	return nil
}

// Ready reports whether the TSDB is open.
func (s *Storage) Ready() bool { return s.local.get() != nil }

// WriteError is why writing to the TSDB fails (say, a full disk), nil while
// the last commit succeeded; /-/ready reports it.
func (s *Storage) WriteError() error { return s.local.health.Err() }

// Fanout is what scraping, rules and queries use: the TSDB plus remote write.
func (s *Storage) Fanout() promstorage.Storage { return s.fanout }

// Local is the TSDB alone (the remote-write receiver appends here, as in
// Prometheus, so received samples are not forwarded in a loop).
func (s *Storage) Local() promstorage.Storage { return s.local }

// Exemplars answers exemplar queries from the TSDB.
func (s *Storage) Exemplars() promstorage.ExemplarQueryable { return s.local }

// AdminStats is what the v1 API's status and admin endpoints need from the
// TSDB (web/api/v1.TSDBAdminStats, declared again so callers need no import
// of the API package).
type AdminStats interface {
	CleanTombstones() error
	Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error
	Snapshot(dir string, withHead bool) error
	Stats(statsByLabelName string, limit int) (*promtsdb.Stats, error)
	WALReplayStatus() (promtsdb.WALReplayStatus, error)
	BlockMetas() ([]promtsdb.BlockMeta, error)
}

// Admin answers the TSDB status and admin endpoints of the v1 API.
func (s *Storage) Admin() AdminStats { return s.local }

// Path is the TSDB directory.
func (s *Storage) Path() string { return s.opts.Path }

// ApplyConfig applies the remote_write section and the TSDB settings of a
// configuration.
func (s *Storage) ApplyConfig(cfg *promconfig.Config) error {
	if db := s.local.get(); db != nil {
		if cfg.StorageConfig.ExemplarsConfig == nil {
			// Exemplar storage is always on here (Prometheus has it behind a
			// feature flag, which fills this in); the TSDB dereferences it.
			c := *cfg
			c.StorageConfig.ExemplarsConfig = &promconfig.ExemplarsConfig{MaxExemplars: defaultMaxExemplars}
			cfg = &c
		}
		if err := db.ApplyConfig(cfg); err != nil {
			return fmt.Errorf("applying TSDB configuration: %w", err)
		}
	}
	if err := s.remote.ApplyConfig(cfg); err != nil {
		return fmt.Errorf("applying remote_write configuration: %w", err)
	}
	return nil
}

// Close flushes remote write and closes the TSDB. Call it last.
func (s *Storage) Close() error {
	rerr := s.remote.Close()
	lerr := s.local.Close()
	if lerr != nil {
		return fmt.Errorf("closing TSDB: %w", lerr)
	}
	if rerr != nil {
		return fmt.Errorf("closing remote write: %w", rerr)
	}
	return nil
}

// MaxBlockDuration is how long the largest compacted block may be, as
// Prometheus' server sets it: a tenth of the retention, at most 31 days. The
// TSDB package's default stops at 2 h blocks, so a week of history would be
// 84 blocks for every query to open and merge instead of a handful.
func MaxBlockDuration(retention time.Duration) int64 {
	maxDur := 31 * 24 * time.Hour
	if retention > 0 && retention/10 < maxDur {
		maxDur = retention / 10
	}
	return max(maxDur, 2*time.Hour).Milliseconds()
}
