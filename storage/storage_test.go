package storage

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	promtsdb "github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newStorage(t *testing.T, dir string) *Storage {
	t.Helper()
	return New(Options{Path: dir, Registerer: prometheus.NewRegistry()})
}

func appendFloat(t *testing.T, s promstorage.AppendableV2, ls labels.Labels, ts int64, v float64) error {
	t.Helper()
	app := s.AppenderV2(context.Background())
	if _, err := app.Append(0, ls, 0, ts, v, nil, nil, promstorage.AOptions{}); err != nil {
		_ = app.Rollback()
		return err
	}
	return app.Commit()
}

// samples returns every float sample of the series matching ms.
func samples(t *testing.T, q promstorage.Queryable, ms ...*labels.Matcher) map[string][]float64 {
	t.Helper()
	querier, err := q.Querier(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	t.Cleanup(func() { _ = querier.Close() })
	out := map[string][]float64{}
	set := querier.Select(context.Background(), true, nil, ms...)
	for set.Next() {
		s := set.At()
		it := s.Iterator(nil)
		for it.Next() != 0 {
			_, v := it.At()
			out[s.Labels().String()] = append(out[s.Labels().String()], v)
		}
		require.NoError(t, it.Err())
	}
	require.NoError(t, set.Err())
	return out
}

// TestNotReadyBeforeOpen: until Open, every part of the storage answers
// tsdb.ErrNotReady instead of panicking.
func TestNotReadyBeforeOpen(t *testing.T) {
	s := newStorage(t, t.TempDir())
	require.False(t, s.Ready())
	_, err := s.Local().Querier(0, 1)
	require.ErrorIs(t, err, promtsdb.ErrNotReady)
	_, err = s.Local().ChunkQuerier(0, 1)
	require.ErrorIs(t, err, promtsdb.ErrNotReady)
	_, err = s.Exemplars().ExemplarQuerier(context.Background())
	require.ErrorIs(t, err, promtsdb.ErrNotReady)
	require.ErrorIs(t, appendFloat(t, s.Local(), labels.FromStrings("__name__", "m"), 1, 1), promtsdb.ErrNotReady)
	_, err = s.Admin().Stats("__name__", 10)
	require.ErrorIs(t, err, promtsdb.ErrNotReady)
	_, err = s.Admin().BlockMetas()
	require.ErrorIs(t, err, promtsdb.ErrNotReady)
	require.ErrorIs(t, s.Admin().Delete(context.Background(), 0, 1), promtsdb.ErrNotReady)
	require.ErrorIs(t, s.Admin().CleanTombstones(), promtsdb.ErrNotReady)
	require.ErrorIs(t, s.Admin().Snapshot(t.TempDir(), true), promtsdb.ErrNotReady)
	_, err = s.Local().StartTime()
	require.ErrorIs(t, err, promtsdb.ErrNotReady)
	_, err = s.Admin().WALReplayStatus()
	require.NoError(t, err, "the WAL replay status is there from the start")
	require.NoError(t, s.Close())
}

// TestOpenAppendReopen: samples appended through the fanout are queryable,
// survive a close and reopen (WAL replay), and the admin delete removes them.
func TestOpenAppendReopen(t *testing.T) {
	dir := t.TempDir()
	s := newStorage(t, dir)
	require.NoError(t, s.Open())
	require.True(t, s.Ready())
	require.Equal(t, dir, s.Path())
	cfg, err := promconfig.Load("", nil)
	require.NoError(t, err)
	require.NoError(t, s.ApplyConfig(cfg), "a configuration without exemplar settings applies")

	now := time.Now().UnixMilli()
	a := labels.FromStrings("__name__", "m", "series", "a")
	b := labels.FromStrings("__name__", "m", "series", "b")
	for i, v := range []float64{1, 2, 3} {
		require.NoError(t, appendFloat(t, s.Fanout(), a, now+int64(i)*1000, v))
	}
	require.NoError(t, appendFloat(t, s.Fanout(), b, now, 10))
	want := map[string][]float64{a.String(): {1, 2, 3}, b.String(): {10}}
	require.Equal(t, want, samples(t, s.Fanout(), labels.MustNewMatcher(labels.MatchEqual, "__name__", "m")))

	stats, err := s.Admin().Stats("__name__", 10)
	require.NoError(t, err)
	require.Equal(t, uint64(2), stats.NumSeries)
	require.NoError(t, s.Close())

	s2 := newStorage(t, dir)
	require.NoError(t, s2.Open())
	t.Cleanup(func() { require.NoError(t, s2.Close()) })
	require.Equal(t, want, samples(t, s2.Fanout(), labels.MustNewMatcher(labels.MatchEqual, "__name__", "m")), "after reopening")

	require.NoError(t, s2.Admin().Delete(context.Background(), math.MinInt64, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "series", "a")))
	require.Equal(t, map[string][]float64{b.String(): {10}}, samples(t, s2.Fanout(), labels.MustNewMatcher(labels.MatchEqual, "__name__", "m")), "after delete")
	require.NoError(t, s2.Admin().CleanTombstones())
}
