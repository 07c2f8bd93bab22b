package boundedcall

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDo(t *testing.T) {
	t.Run("a call that ends in time", func(t *testing.T) {
		var g Group[int]
		v, ok := g.Do(time.Second, func() int { return 7 })
		require.True(t, ok)
		require.Equal(t, 7, v)
	})

	t.Run("a hanging call times out, is shared, and its end frees the group", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var (
				g       Group[string]
				started atomic.Int32
				release = make(chan struct{})
			)
			hang := func() string {
				started.Add(1)
				<-release
				return "late"
			}
			v, ok := g.Do(3*time.Second, hang)
			require.False(t, ok)
			require.Empty(t, v)
			require.Equal(t, int32(1), started.Load())

			// A second caller a second later shares the call in flight and
			// waits only for what is left of its timeout: it has expired.
			time.Sleep(time.Second)
			before := time.Now()
			_, ok = g.Do(3*time.Second, hang)
			require.False(t, ok)
			require.Equal(t, int32(1), started.Load(), "no second call while one is in flight")
			require.Equal(t, time.Duration(0), time.Since(before), "the shared call's deadline had passed")

			close(release)
			synctest.Wait()
			v, ok = g.Do(3*time.Second, func() string { return "fresh" })
			require.True(t, ok)
			require.Equal(t, "fresh", v, "a new call once the hanging one ended")
		})
	})
}
