// Package boundedcall runs calls that cannot be cancelled (an NVML call into
// a wedged driver, a walk of /proc) so that a caller waits for one at most a
// timeout, and callers that arrive while one runs share it rather than
// queueing behind it: a call that hangs holds one goroutine, not one per
// scrape.
package boundedcall

import (
	"sync"
	"time"
)

// Group is one kind of call. The zero value is ready to use.
type Group[T any] struct {
	mu     sync.Mutex
	flight *call[T]
}

type call[T any] struct {
	started time.Time
	done    chan struct{}
	value   T
}

// Do returns what fn returns. If a call of the group is in flight already,
// it waits for that one instead of starting fn. ok is false when the call has
// not finished within timeout of its start; it keeps running, and the first
// Do after it ends starts a new one.
func (g *Group[T]) Do(timeout time.Duration, fn func() T) (value T, ok bool) {
	g.mu.Lock()
	c := g.flight
	if c == nil {
		c = &call[T]{started: time.Now(), done: make(chan struct{})}
		g.flight = c
		go func() {
			c.value = fn()
			g.mu.Lock()
			g.flight = nil
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()

	wait := time.NewTimer(timeout - time.Since(c.started))
	defer wait.Stop()
	select {
	case <-c.done:
		return c.value, true
	case <-wait.C:
		var zero T
		return zero, false
	}
}
