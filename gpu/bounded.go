package gpu

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// defaultCollectTimeout bounds one collection. A healthy collection of eight GPUs takes
// milliseconds (see README.md); NVML calls that take seconds mean a wedged driver.
const defaultCollectTimeout = 3 * time.Second

// collection is one gather talking to NVML. Scrapes that arrive while it runs share its
// result rather than queueing behind it, so a wedged driver holds at most one goroutine.
type collection struct {
	started time.Time
	done    chan struct{}
	metrics []prometheus.Metric
}

// Collect implements prometheus.Collector. NVML calls cannot be cancelled, so the gather
// runs in its own goroutine and Collect waits for it at most CollectTimeout from the moment
// it started: a driver that hangs makes the scrape report tokenpath_gpu_up 0 (logged once)
// while the call keeps waiting in the background, and the first gather after it returns
// reports the GPUs again.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.flightMu.Lock()
	f := c.flight
	if f == nil {
		f = &collection{started: time.Now(), done: make(chan struct{})}
		c.flight = f
		go func() {
			f.metrics = c.gather()
			c.flightMu.Lock()
			c.flight = nil
			c.flightMu.Unlock()
			close(f.done)
		}()
	}
	c.flightMu.Unlock()

	wait := time.NewTimer(c.timeout - time.Since(f.started))
	defer wait.Stop()
	select {
	case <-f.done:
		for _, m := range f.metrics {
			ch <- m
		}
	case <-wait.C:
		c.setStalled(true, "NVML did not answer in time; reporting tokenpath_gpu_up 0 until it does", nil)
		ch <- prometheus.MustNewConstMetric(c.n.up, prometheus.GaugeValue, 0)
	}
}

// setStalled records whether NVML answers collections and logs each change once.
func (c *Collector) setStalled(stalled bool, msg string, err error) {
	if !stalled {
		if c.stalled.Swap(false) {
			c.logger.Info("NVML answers again; GPU metrics are back")
		}
		return
	}
	if !c.stalled.Swap(true) {
		if err != nil {
			c.logger.Warn(msg, "err", err)
		} else {
			c.logger.Warn(msg, "timeout", c.timeout)
		}
	}
}
