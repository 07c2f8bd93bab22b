package storage

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

// TestClockSteps is the closest a test can come to the wall clock jumping: a real clock step
// needs CAP_SYS_TIME and would disturb every process on the machine, so the test stamps
// samples as a stepped clock would (scrapes and rule evaluations take their timestamps from
// time.Now) and appends them through tokenpath's storage. It pins down what the TSDB does:
//
//   - forward: samples from the future are accepted (the TSDB has no upper bound);
//   - back, by less than the head's append window: a series that already has a later sample
//     rejects the older one with ErrOutOfOrderSample, a new series is accepted;
//   - back, after a forward step of more than an hour: every sample older than the head's
//     newest minus one hour is rejected with ErrOutOfBounds, new series too, until the clock
//     catches up. Nothing is corrupted, but samples are lost meanwhile (docs/hardening.md);
//
// none of these rejections counts as a failing disk, and the TSDB reopens with every
// accepted sample.
func TestClockSteps(t *testing.T) {
	dir := t.TempDir()
	s := newStorage(t, dir)
	require.NoError(t, s.Open())

	now := time.Now().Truncate(time.Second)
	ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	series := func(name string) labels.Labels { return labels.FromStrings("__name__", "m", "series", name) }

	// Normal operation, then the clock steps forward by ten minutes.
	require.NoError(t, appendFloat(t, s.Fanout(), series("a"), ms(0), 1))
	require.NoError(t, appendFloat(t, s.Fanout(), series("a"), ms(10*time.Minute), 2), "a forward step is accepted")

	// Back by five minutes: older than series a's last sample, within the head's window.
	err := appendFloat(t, s.Fanout(), series("a"), ms(5*time.Minute), 3)
	require.ErrorIs(t, err, promstorage.ErrOutOfOrderSample)
	require.NoError(t, appendFloat(t, s.Fanout(), series("b"), ms(5*time.Minute), 4), "a new series after a back step")
	// The clock catches up: series a takes samples again.
	require.NoError(t, appendFloat(t, s.Fanout(), series("a"), ms(11*time.Minute), 5))

	// Forward by a day, then back to the real time: out of the head's append window.
	require.NoError(t, appendFloat(t, s.Fanout(), series("a"), ms(24*time.Hour), 6))
	err = appendFloat(t, s.Fanout(), series("a"), ms(12*time.Minute), 7)
	require.ErrorIs(t, err, promstorage.ErrOutOfBounds)
	err = appendFloat(t, s.Fanout(), series("c"), ms(12*time.Minute), 8)
	require.ErrorIs(t, err, promstorage.ErrOutOfBounds, "a new series is rejected too while the head is a day ahead")
	// Within an hour of the head's newest sample, samples are accepted again.
	require.NoError(t, appendFloat(t, s.Fanout(), series("c"), ms(24*time.Hour-30*time.Minute), 9))

	require.NoError(t, s.WriteError(), "a rejected timestamp is not a failing disk")

	want := map[string][]float64{
		series("a").String(): {1, 2, 5, 6},
		series("b").String(): {4},
		series("c").String(): {9},
	}
	match := labels.MustNewMatcher(labels.MatchEqual, "__name__", "m")
	require.Equal(t, want, samples(t, s.Fanout(), match))
	require.NoError(t, s.Close())

	// The WAL replays the same samples: nothing rejected was written, nothing accepted lost.
	s2 := newStorage(t, dir)
	require.NoError(t, s2.Open())
	t.Cleanup(func() { require.NoError(t, s2.Close()) })
	require.Equal(t, want, samples(t, s2.Fanout(), match))
	require.NoError(t, appendFloat(t, s2.Fanout(), series("a"), ms(24*time.Hour+time.Minute), 10), "appending resumes after reopening")
}
