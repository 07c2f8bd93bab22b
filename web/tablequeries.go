package web

// TableQueries returns the instant queries behind the server-rendered tables
// (queries.go), unfiltered, keyed by a short name. The fleet tests run them
// on every central engine `tokenpath fleet` supports and require the same
// answer from each, as they do for the chart queries of grafana/panels.
func TableQueries() map[string]string {
	sel := serverSelector("", "", "")
	return map[string]string{
		"latency_quantiles": qLatencyQuantiles(sel),
		"probe_ttft":        qProbeTTFT(sel),
		"diagnosis":         qDiagnosis(sel),
		"server_state":      qServerState(sel),
		"slo":               qSLO(sel),
		"slo_objective":     qSLOObjective,
		"gpu_up":            qGPUUp,
		"gpu_values":        qGPUValues,
		"gpu_device_up":     qGPUDeviceUp,
		"gpu_state":         qGPUState,
		"gpu_throttle":      qGPUThrottle,
		"gpu_processes":     qGPUProcesses,
		"gpu_clocks_sm":     qGPUClocksSM,
		"gpu_clocks_mem":    qGPUClocksMem,
		"scrape_samples":    qScrapeSamples,
	}
}
