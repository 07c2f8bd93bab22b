package scrape

import (
	"context"
	"log/slog"
	"time"

	promscrape "github.com/prometheus/prometheus/scrape"
)

// defaultHealthCheckInterval is how often target health is compared with
// the last look. Prometheus logs failed scrapes at debug level only; this
// turns health changes into one line each without a line per scrape.
const defaultHealthCheckInterval = 5 * time.Second

// healthLog remembers each active target's last seen health, so that a
// target going down is one warn line and its coming back one info line,
// however many scrapes lie between.
type healthLog struct {
	logger *slog.Logger
	last   map[healthKey]promscrape.TargetHealth
}

type healthKey struct{ job, url string }

func newHealthLog(logger *slog.Logger) *healthLog {
	return &healthLog{logger: logger, last: map[healthKey]promscrape.TargetHealth{}}
}

// run looks at the targets every interval until ctx ends.
func (h *healthLog) run(ctx context.Context, every time.Duration, active func() map[string][]*promscrape.Target) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			h.observe(active())
		}
	}
}

// observe logs the changes since the last call. A target seen healthy for
// the first time is not news; one that is down at its first scrape is.
func (h *healthLog) observe(active map[string][]*promscrape.Target) {
	seen := make(map[healthKey]bool, len(h.last))
	for job, targets := range active {
		for _, t := range targets {
			health := t.Health()
			if health == promscrape.HealthUnknown {
				continue // not scraped yet
			}
			key := healthKey{job: job, url: t.URL().String()}
			seen[key] = true
			prev, known := h.last[key]
			h.last[key] = health
			switch {
			case health == promscrape.HealthBad && prev != promscrape.HealthBad:
				h.logger.Warn("Target down", "job", job, "target", key.url, "err", t.LastError())
			case health == promscrape.HealthGood && known && prev == promscrape.HealthBad:
				h.logger.Info("Target is back", "job", job, "target", key.url)
			}
		}
	}
	// Forget targets that went away, so that one that returns starts afresh.
	for key := range h.last {
		if !seen[key] {
			delete(h.last, key)
		}
	}
}
