package sim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RunVirtual runs the engine on a simulated clock from `from` to `until`, as fast as the CPU
// allows, with the same arrivals, scheduler and step model as Run. Every `every` of simulated
// time it calls observe with that time and the registry /metrics would serve then — nil while
// a restarted engine loads its model, when /metrics answers 503 — so that a caller can record
// history (the demo's backfill) or switch scenarios (SetScenario) on a schedule. HTTP
// requests are not served. A Simulator runs once, by Run or RunVirtual.
func (s *Simulator) RunVirtual(ctx context.Context, from, until time.Time, every time.Duration, observe func(t time.Time, reg prometheus.Gatherer) error) error {
	if every <= 0 {
		return fmt.Errorf("virtual run: observation interval %v must be positive", every)
	}
	if !until.After(from) {
		return fmt.Errorf("virtual run: end %v is not after start %v", until, from)
	}
	c := s.core
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("simulator already ran")
	}
	c.started = true
	c.start = from
	c.mu.Unlock()
	defer c.shutdown()

	now, last, next := from, from, from
	for i := 0; now.Before(until); i++ {
		for !next.After(now) {
			var reg prometheus.Gatherer = s.reg.Load()
			if next.UnixNano() < s.metricsFrom.Load() {
				reg = nil
			}
			if err := observe(next, reg); err != nil {
				return err
			}
			next = next.Add(every)
		}
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		d, step := c.iterate(last, now)
		last = now
		end := now.Add(max(d, time.Microsecond))
		if step == nil {
			c.account(end.Sub(now), 0, 0, 0)
		} else {
			step(end)
		}
		now = end
	}
	return nil
}
