package panels

// Table is an instant query behind one of the web UI's server-rendered
// tables: it reads many series at once (every percentile of every row, every
// gauge of every GPU), which no chart does. Its expression may use $host,
// $model and $instance like a chart's (see Expand); an expression without
// them reads every host, and the UI narrows it to the selected one.
//
// Tables live here beside the charts so that every query a user sees has one
// home: a renamed series is found by one grep of this package.
type Table struct {
	Name        string // Stable key, used by the fleet parity tests.
	Description string
	Expr        string
}

// The token-path page's tables: one row per host, server, model and instance.
var (
	// LatencyQuantiles reads every recorded latency percentile of the token
	// path: one series per quantity (__name__), server, model, instance and
	// quantile.
	LatencyQuantiles = Table{
		Name:        "latency_quantiles",
		Description: "Every recorded latency percentile of the token path.",
		Expr:        `{__name__=~"tokenpath:(ttft|itl|e2e|queue|prefill|decode)_seconds:histogram_quantile",` + serverSel + `}`,
	}
	// ProbeTTFT reads the probes' TTFT percentiles: one series per probed
	// server (instance, the host:port of the probe's target), model and
	// quantile.
	ProbeTTFT = Table{
		Name:        "probe_ttft",
		Description: "The probes' client-side TTFT percentiles.",
		Expr:        `tokenpath:ttft_seconds:histogram_quantile{server="probe",` + serverSel + `}`,
	}
	// Diagnosis reads each row's diagnosis state set and its numbers
	// (rules/README.md, "Diagnosis").
	Diagnosis = Table{
		Name:        "diagnosis",
		Description: "Each row's diagnosis and the numbers that support it.",
		Expr:        `{__name__=~"tokenpath:diagnosis(_tail:ratio|_queue_share:ratio|_itl_spike:ratio|_prompt_share:ratio|_front_gap:seconds)?",` + serverSel + `}`,
	}
	// ServerState reads throughput, batch, queue, KV cache and error ratio.
	ServerState = Table{
		Name:        "server_state",
		Description: "Throughput, batch, queue, KV cache and error ratio of each row.",
		Expr:        `{__name__=~"tokenpath:(generation_tokens:rate1m|requests_running|requests_waiting|kv_cache_usage:ratio|request_errors:ratio_rate1m)",` + serverSel + `}`,
	}
	// SLO reads each objective's day attainment, budget, burn rate and how
	// much of its windows holds data (window="1d"|"30d"); the series carry
	// slo, indicator, source, server, model and instance.
	SLO = Table{
		Name:        "slo",
		Description: "Attainment, error budget, burn rate and window coverage of each objective.",
		Expr:        `{__name__=~"tokenpath:slo_(attainment:ratio_rate1d|error_budget_remaining:ratio|burn_rate:ratio_rate1h|window_covered:seconds)",` + serverSel + `}`,
	}
	// SLOObjective is each objective's target; it has no model label.
	SLOObjective = Table{
		Name:        "slo_objective",
		Description: "Each objective's target.",
		Expr:        `tokenpath:slo_objective:ratio`,
	}
)

// The GPU page's cards and the targets page. They take no variables: the
// UI narrows them to the selected host.
var (
	// GPUUp is NVML's overall health: 0 or absent means no driver.
	GPUUp = Table{Name: "gpu_up", Description: "Whether NVML answers.", Expr: `tokenpath_gpu_up`}
	// GPUValues reads the current value of every GPU gauge on a card.
	GPUValues = Table{
		Name:        "gpu_values",
		Description: "The current value of every GPU gauge on a card.",
		Expr:        `{__name__=~"gpu_(vram_used_bytes|vram_total_bytes|compute_utilization|memory_bandwidth_utilization|temperature_celsius|power_draw_watts|power_limit_watts|sm_clock_hertz|memory_clock_hertz)"}`,
	}
	// GPUDeviceUp marks a lost GPU (0) by its gpu label.
	GPUDeviceUp = Table{Name: "gpu_device_up", Description: "A lost GPU (0), by its gpu label.", Expr: `{__name__=~"tokenpath_gpu_up|tokenpath_gpu_device_up",gpu!=""}`}
	// GPUState is the current state of each GPU (the state set's 1).
	GPUState = Table{Name: "gpu_state", Description: "The current state of each GPU.", Expr: `tokenpath:gpu_state == 1`}
	// GPUThrottle lists active clock event (throttle) reasons.
	GPUThrottle = Table{Name: "gpu_throttle", Description: "Active clock event (throttle) reasons.", Expr: `gpu_clock_throttle_active == 1`}
	// GPUProcesses lists processes holding GPU memory.
	GPUProcesses = Table{Name: "gpu_processes", Description: "Processes holding GPU memory.", Expr: `gpu_process_memory_used_bytes`}
	// ScrapeSamples is the sample count of every target's last scrape.
	ScrapeSamples = Table{Name: "scrape_samples", Description: "The sample count of every target's last scrape.", Expr: `scrape_samples_scraped`}
)

// The detail under each token-path row (rules/README.md): lifecycle, KV
// knee and headroom per row; energy per row or per machine; the GPUs serving
// a row.
var (
	// RowDetail reads the lifecycle and KV-knee series of the rows.
	RowDetail = Table{
		Name:        "row_detail",
		Description: "Lifecycle phases, their consistency, and the KV-cache knee and headroom of each row.",
		Expr:        `{__name__=~"tokenpath:(lifecycle:seconds|lifecycle_consistency:ratio|lifecycle_inconsistent|kv_cache_knee:ratio|kv_cache_headroom:ratio)",` + serverSel + `}`,
	}
	// EnergyPerToken reads energy per token and tokens per joule, per row and per
	// machine; machine series have no server or model, so no row filter
	// applies (the UI narrows it to the host).
	EnergyPerToken = Table{
		Name:        "energy",
		Description: "Energy per token and tokens per joule, per row and per machine.",
		Expr:        `{__name__=~"tokenpath:(energy_per_token:joules|tokens_per_joule)"}`,
	}
	// GPUMap reads which GPUs serve which target and the mapping's state; the
	// series carry the target's job and instance, not its model.
	GPUMap = Table{
		Name:        "gpu_map",
		Description: "Which GPUs serve which inference target, and the mapping's state.",
		Expr:        `{__name__=~"tokenpath:inference_target_gpu|tokenpath_inference_target_gpu_mapping",instance=~"$instance"}`,
	}
	// LastBuckets reads the bucket bounds of the rows' latency histograms.
	LastBuckets = Table{
		Name:        "last_buckets",
		Description: "The bucket bounds of the rows' latency histograms.",
		Expr:        `{__name__=~"tokenpath:(ttft|itl|e2e)_seconds_bucket:rate1m",` + serverSel + `}`,
	}
)

// Tables returns the page tables (token path, SLO, GPU cards, targets) in
// a stable order. The fleet tests run each of them on every central engine
// `tokenpath fleet` supports and require the same answer.
func Tables() []Table {
	return []Table{
		LatencyQuantiles, ProbeTTFT, Diagnosis, ServerState, SLO, SLOObjective,
		GPUUp, GPUValues, GPUDeviceUp, GPUState, GPUThrottle, GPUProcesses, ScrapeSamples,
	}
}

// RowDetailTables returns the queries of the token-path rows' detail. They
// are kept apart from Tables because a fleet of --demo hosts leaves some of
// them empty (the GPU mapping needs local inference processes).
func RowDetailTables() []Table {
	return []Table{RowDetail, EnergyPerToken, GPUMap, LastBuckets}
}
