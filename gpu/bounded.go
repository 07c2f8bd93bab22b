package gpu

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// defaultCollectTimeout bounds one collection. A healthy collection of eight GPUs takes
// milliseconds (see README.md); NVML calls that take seconds mean a wedged driver.
const defaultCollectTimeout = 3 * time.Second

// Collect implements prometheus.Collector. NVML calls cannot be cancelled, so the gather
// runs in its own goroutine, shared by the scrapes that arrive while it runs, and Collect
// waits for it at most CollectTimeout from the moment it started: a driver that hangs makes the scrape report tokenpath_gpu_up 0 (logged once)
// while the call keeps waiting in the background, and the first gather after it returns
// reports the GPUs again.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	metrics, ok := c.flights.Do(c.timeout, c.gather)
	if !ok {
		c.setStalled(true, "NVML did not answer in time; reporting tokenpath_gpu_up 0 until it does", nil)
		ch <- prometheus.MustNewConstMetric(c.n.up, prometheus.GaugeValue, 0)
		return
	}
	for _, m := range metrics {
		ch <- m
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
