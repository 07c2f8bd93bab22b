package web

import (
	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
)

// The PromQL of the server-rendered tables lives here, next to nothing else:
// charts take their queries from grafana/panels, the single home of chart
// queries shared with the Grafana dashboards. These instant queries read
// many series at once to fill a table, which no dashboard panel does.
// TODO(lead): move them into grafana/panels if a dashboard ever needs them.

// serverSelector filters token-path series on the host, model and instance
// of the URL; values are escaped with panels.Regex. An empty host matches
// series without the label (a tokenpath's own).
func serverSelector(host, model, instance string) string {
	// Concatenated, not %q: panels.Regex has already escaped the values for
	// a double-quoted PromQL string.
	return `host=~"` + regexOrAll(host) + `",model=~"` + regexOrAll(model) + `",instance=~"` + regexOrAll(instance) + `"`
}

func regexOrAll(v string) string {
	if v == "" {
		return panels.AllValue
	}
	return panels.Regex(v)
}

// qLatencyQuantiles reads every recorded latency percentile of the token
// path: one series per quantity (__name__), server, model, instance and
// quantile.
func qLatencyQuantiles(sel string) string {
	return `{__name__=~"tokenpath:(ttft|itl|e2e|queue|prefill|decode)_seconds:histogram_quantile",` + sel + `}`
}

// qProbeTTFT reads the probes' TTFT percentiles: one series per probed
// server (instance, the host:port of the probe's target), model and
// quantile.
func qProbeTTFT(sel string) string {
	return `tokenpath:ttft_seconds:histogram_quantile{server="probe",` + sel + `}`
}

// qServerState reads throughput, batch, queue, KV cache and error ratio.
// qDiagnosis reads each row's diagnosis state set and its numbers
// (rules/README.md, "Diagnosis"), filtered by sel (serverSelector).
func qDiagnosis(sel string) string {
	return `{__name__=~"tokenpath:diagnosis(_tail:ratio|_queue_share:ratio|_itl_spike:ratio|_prompt_share:ratio|_front_gap:seconds)?",` + sel + `}`
}

func qServerState(sel string) string {
	return `{__name__=~"tokenpath:(generation_tokens:rate1m|requests_running|requests_waiting|kv_cache_usage:ratio|request_errors:ratio_rate1m)",` + sel + `}`
}

// qSLO reads each objective's day attainment, budget, burn rate and how
// much of its windows holds data (window="1d"|"30d"); the series carry slo,
// indicator, source, server, model and instance, filtered by sel
// (serverSelector).
func qSLO(sel string) string {
	return `{__name__=~"tokenpath:slo_(attainment:ratio_rate1d|error_budget_remaining:ratio|burn_rate:ratio_rate1h|window_covered:seconds)",` + sel + `}`
}

// qSLOObjective is each objective's target; it has no model label.
const qSLOObjective = `tokenpath:slo_objective:ratio`

// GPU page queries.
const (
	// qGPUUp is NVML's overall health: 0 or absent means no driver.
	qGPUUp = `tokenpath_gpu_up`
	// qGPUValues reads the current value of every GPU gauge on a card.
	qGPUValues = `{__name__=~"gpu_(vram_used_bytes|vram_total_bytes|compute_utilization|memory_bandwidth_utilization|temperature_celsius|power_draw_watts|power_limit_watts|sm_clock_hertz|memory_clock_hertz)"}`
	// qGPUDeviceUp marks a lost GPU (0) by its gpu label.
	qGPUDeviceUp = `{__name__=~"tokenpath_gpu_up|tokenpath_gpu_device_up",gpu!=""}`
	// qGPUState is the current state of each GPU (the state set's 1).
	qGPUState = `tokenpath:gpu_state == 1`
	// qGPUThrottle lists active clock event (throttle) reasons.
	qGPUThrottle = `gpu_clock_throttle_active == 1`
	// qGPUProcesses lists processes holding GPU memory.
	qGPUProcesses = `gpu_process_memory_used_bytes`
	// qGPUClocksSM and qGPUClocksMem feed the clocks chart, which
	// grafana/panels does not have.
	qGPUClocksSM  = `gpu_sm_clock_hertz`
	qGPUClocksMem = `gpu_memory_clock_hertz`
	// qScrapeSamples is the sample count of every target's last scrape.
	qScrapeSamples = `scrape_samples_scraped`
)
