package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// logRateLimit is how often one message may be logged by a rate-limited
// logger; maxLimitedMessages bounds the distinct messages it tracks.
const (
	logRateLimit       = 10 * time.Second
	maxLimitedMessages = 1024
)

// rateLimitedHandler passes the first of each log message (by level and
// text) through, then at most one every interval, adding to that one how
// many it held back. It guards the API's logger: Prometheus' remote-write
// handler logs an ERROR line for every rejected request, so any client could
// otherwise flood the log. Held-back lines are counted.
type rateLimitedHandler struct {
	next  slog.Handler
	state *rateLimitState
}

type rateLimitState struct {
	interval   time.Duration
	now        func() time.Time
	suppressed prometheus.Counter

	mtx  sync.Mutex
	seen map[rateLimitKey]*rateLimitEntry
}

type rateLimitKey struct {
	level slog.Level
	msg   string
}

type rateLimitEntry struct {
	last time.Time
	held int
}

func newRateLimitedHandler(next slog.Handler, interval time.Duration, suppressed prometheus.Counter) *rateLimitedHandler {
	return &rateLimitedHandler{next: next, state: &rateLimitState{
		interval: interval, now: time.Now, suppressed: suppressed, seen: map[rateLimitKey]*rateLimitEntry{},
	}}
}

// allow decides whether a line is written and how many were held back
// before it.
func (s *rateLimitState) allow(k rateLimitKey) (bool, int) {
	s.mtx.Lock()
	defer s.mtx.Unlock()
	now := s.now()
	e, ok := s.seen[k]
	if !ok {
		if len(s.seen) >= maxLimitedMessages {
			// Messages are constants of the code, so this only fills up over a
			// very long run: start again rather than grow.
			clear(s.seen)
		}
		s.seen[k] = &rateLimitEntry{last: now}
		return true, 0
	}
	if now.Sub(e.last) < s.interval {
		e.held++
		s.suppressed.Inc()
		return false, 0
	}
	held := e.held
	e.last, e.held = now, 0
	return true, held
}

func (h *rateLimitedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *rateLimitedHandler) Handle(ctx context.Context, r slog.Record) error {
	ok, held := h.state.allow(rateLimitKey{r.Level, r.Message})
	if !ok {
		return nil
	}
	if held > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed_since_last", held))
	}
	return h.next.Handle(ctx, r)
}

func (h *rateLimitedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &rateLimitedHandler{next: h.next.WithAttrs(attrs), state: h.state}
}

func (h *rateLimitedHandler) WithGroup(name string) slog.Handler {
	return &rateLimitedHandler{next: h.next.WithGroup(name), state: h.state}
}
