package storage

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	promstorage "github.com/prometheus/prometheus/storage"
	promtsdb "github.com/prometheus/prometheus/tsdb"
)

// readyStorage stands in for the TSDB from the moment the process starts, so
// that the HTTP server can answer (/-/healthy 200, /-/ready 503) while the
// WAL replays. Until set, every call fails with tsdb.ErrNotReady. It follows
// readyStorage in Prometheus' cmd/prometheus/main.go.
type readyStorage struct {
	mtx   sync.RWMutex
	db    *promtsdb.DB
	stats *promtsdb.DBStats
	// health sees every commit.
	health *writeHealth
}

func (s *readyStorage) set(db *promtsdb.DB) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	s.db = db
}

func (s *readyStorage) get() *promtsdb.DB {
	s.mtx.RLock()
	defer s.mtx.RUnlock()
	return s.db
}

// StartTime implements promstorage.Storage.
func (s *readyStorage) StartTime() (int64, error) {
	db := s.get()
	if db == nil {
		return 0, promtsdb.ErrNotReady
	}
	if blocks := db.Blocks(); len(blocks) > 0 {
		return blocks[0].Meta().MinTime, nil
	}
	return time.Now().UnixMilli(), nil
}

// Querier implements promstorage.Queryable.
func (s *readyStorage) Querier(mint, maxt int64) (promstorage.Querier, error) {
	if db := s.get(); db != nil {
		return db.Querier(mint, maxt)
	}
	return nil, promtsdb.ErrNotReady
}

// ChunkQuerier implements promstorage.ChunkQueryable.
func (s *readyStorage) ChunkQuerier(mint, maxt int64) (promstorage.ChunkQuerier, error) {
	if db := s.get(); db != nil {
		return db.ChunkQuerier(mint, maxt)
	}
	return nil, promtsdb.ErrNotReady
}

// ExemplarQuerier implements promstorage.ExemplarQueryable.
func (s *readyStorage) ExemplarQuerier(ctx context.Context) (promstorage.ExemplarQuerier, error) {
	if db := s.get(); db != nil {
		return db.ExemplarQuerier(ctx)
	}
	return nil, promtsdb.ErrNotReady
}

// Appender implements promstorage.Appendable (still part of promstorage.Storage).
func (s *readyStorage) Appender(ctx context.Context) promstorage.Appender {
	if db := s.get(); db != nil {
		return healthAppender{Appender: db.Appender(ctx), h: s.health}
	}
	return notReadyAppender{}
}

// AppenderV2 implements promstorage.AppendableV2.
func (s *readyStorage) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	if db := s.get(); db != nil {
		return healthAppenderV2{AppenderV2: db.AppenderV2(ctx), h: s.health}
	}
	return notReadyAppenderV2{}
}

// Close implements promstorage.Storage.
func (s *readyStorage) Close() error {
	if db := s.get(); db != nil {
		return db.Close()
	}
	return nil
}

// CleanTombstones implements the admin part of the v1 API.
func (s *readyStorage) CleanTombstones() error {
	if db := s.get(); db != nil {
		return db.CleanTombstones()
	}
	return promtsdb.ErrNotReady
}

// Delete implements the admin part of the v1 API.
func (s *readyStorage) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	if db := s.get(); db != nil {
		return db.Delete(ctx, mint, maxt, ms...)
	}
	return promtsdb.ErrNotReady
}

// Snapshot implements the admin part of the v1 API.
func (s *readyStorage) Snapshot(dir string, withHead bool) error {
	if db := s.get(); db != nil {
		return db.Snapshot(dir, withHead)
	}
	return promtsdb.ErrNotReady
}

// Stats implements the /status/tsdb part of the v1 API.
func (s *readyStorage) Stats(statsByLabelName string, limit int) (*promtsdb.Stats, error) {
	if db := s.get(); db != nil {
		return db.Head().Stats(statsByLabelName, limit), nil
	}
	return nil, promtsdb.ErrNotReady
}

// WALReplayStatus implements /status/walreplay. The stats exist before the DB
// opens, so the replay progress is visible while it runs.
func (s *readyStorage) WALReplayStatus() (promtsdb.WALReplayStatus, error) {
	return s.stats.Head.WALReplayStatus.GetWALReplayStatus(), nil
}

// BlockMetas implements /status/tsdb/blocks.
func (s *readyStorage) BlockMetas() ([]promtsdb.BlockMeta, error) {
	if db := s.get(); db != nil {
		return db.BlockMetas(), nil
	}
	return nil, promtsdb.ErrNotReady
}

type notReadyAppender struct{}

func (notReadyAppender) SetOptions(*promstorage.AppendOptions) {}

func (notReadyAppender) Append(promstorage.SeriesRef, labels.Labels, int64, float64) (promstorage.SeriesRef, error) {
	return 0, promtsdb.ErrNotReady
}

func (notReadyAppender) AppendExemplar(promstorage.SeriesRef, labels.Labels, exemplar.Exemplar) (promstorage.SeriesRef, error) {
	return 0, promtsdb.ErrNotReady
}

func (notReadyAppender) AppendHistogram(promstorage.SeriesRef, labels.Labels, int64, *histogram.Histogram, *histogram.FloatHistogram) (promstorage.SeriesRef, error) {
	return 0, promtsdb.ErrNotReady
}

func (notReadyAppender) AppendHistogramSTZeroSample(promstorage.SeriesRef, labels.Labels, int64, int64, *histogram.Histogram, *histogram.FloatHistogram) (promstorage.SeriesRef, error) {
	return 0, promtsdb.ErrNotReady
}

func (notReadyAppender) UpdateMetadata(promstorage.SeriesRef, labels.Labels, metadata.Metadata) (promstorage.SeriesRef, error) {
	return 0, promtsdb.ErrNotReady
}

func (notReadyAppender) AppendSTZeroSample(promstorage.SeriesRef, labels.Labels, int64, int64) (promstorage.SeriesRef, error) {
	return 0, promtsdb.ErrNotReady
}

func (notReadyAppender) Commit() error   { return promtsdb.ErrNotReady }
func (notReadyAppender) Rollback() error { return promtsdb.ErrNotReady }

type notReadyAppenderV2 struct{}

func (notReadyAppenderV2) Append(promstorage.SeriesRef, labels.Labels, int64, int64, float64, *histogram.Histogram, *histogram.FloatHistogram, promstorage.AOptions) (promstorage.SeriesRef, error) {
	return 0, promtsdb.ErrNotReady
}

func (notReadyAppenderV2) AppendExemplars(promstorage.SeriesRef, labels.Labels, []exemplar.Exemplar) (promstorage.SeriesRef, error) {
	return 0, promtsdb.ErrNotReady
}

func (notReadyAppenderV2) Commit() error   { return promtsdb.ErrNotReady }
func (notReadyAppenderV2) Rollback() error { return promtsdb.ErrNotReady }
