// Package panels is the one place where the PromQL behind every chart lives.
// The web UI and the Grafana dashboards both read their queries from here, so a
// renamed series cannot leave one of them behind.
//
// Every query reads the unified series of docs/contracts.md (tokenpath:* for
// the token path, the seed's gpu_* names for GPUs) and filters on the template
// variables $host, $model, $instance and $gpu, written the way Grafana writes
// them. Every query keeps the host label (filters on it, groups by it), so the
// series of two tokenpaths in one central engine never merge.
// Grafana substitutes them itself; the web UI calls Expand.
package panels

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Kind says how a panel draws its queries.
type Kind string

// Panel kinds.
const (
	KindTimeSeries Kind = "timeseries"
	KindHeatmap    Kind = "heatmap"
	KindStat       Kind = "stat"
	KindStateBand  Kind = "state-timeline"
)

// Query is one PromQL expression of a panel. Expressions may use the template
// variables $host, $model, $instance and $gpu (Grafana's syntax); the web UI
// substitutes them the same way (see Expand).
//
// A query of a KindHeatmap panel returns one series per bucket bound (label
// `le`) whose values are per-bucket rates of a cumulative histogram, the shape
// Grafana's heatmap panel reads with the target format "heatmap".
type Query struct {
	Expr   string
	Legend string // Grafana legend format, e.g. "{{model}} p99".
	// RightAxis draws the query on a second y axis (batch size over tokens/s).
	RightAxis bool
	// Unit overrides the panel's unit for this query (used with RightAxis);
	// empty means the panel's unit.
	Unit string
}

// Mapping names one value of a state panel: KindStateBand queries return a
// number per series, and Mapping says what that number means.
type Mapping struct {
	Value float64
	Text  string
	Color string // A Grafana colour name ("green", "orange", ...), also usable as CSS.
}

// Panel is one chart.
type Panel struct {
	ID          string // Stable identifier, used in URLs and data-testid attributes.
	Title       string
	Description string // One or two sentences shown as the panel's help text.
	Unit        string // Grafana unit id: "s", "percent", "percentunit", "bytes", "watt", "celsius", "short", "reqps", "hertz".
	Kind        Kind
	Queries     []Query
	// Mappings turns values into named states (KindStateBand only).
	Mappings []Mapping
	// Min and Max fix the y axis where the quantity has natural bounds
	// (percentages); nil lets the chart scale itself.
	Min, Max *float64
}

// Variable is a template variable the queries use. Grafana fills it from
// label_values(Metric, Label); the web UI can ask /api/v1/label/<Label>/values
// with match[]=Metric for the same list.
type Variable struct {
	Name   string // Without the dollar sign: "model".
	Label  string // Label whose values are offered.
	Metric string // Series the values are read from.
	Title  string // Shown next to the selector.
}

// Template variable names used by the queries.
const (
	// VarHost is the external label host that every tokenpath adds to what it
	// remote-writes or federates (server/hostlabel.go); on a single box's own
	// TSDB the series have none, and AllValue matches the empty value.
	VarHost     = "host"
	VarModel    = "model"
	VarInstance = "instance"
	VarGPU      = "gpu"
)

// AllValue is what a variable stands for when nothing is selected: every value,
// the empty one included (TGI and llama.cpp series carry model="").
const AllValue = ".*"

// Variables returns the template variables in the order a dashboard shows them.
func Variables() []Variable {
	return []Variable{
		{Name: VarHost, Label: "host", Metric: "tokenpath:requests_running", Title: "Host"},
		{Name: VarModel, Label: "model", Metric: "tokenpath:requests_running", Title: "Model"},
		{Name: VarInstance, Label: "instance", Metric: "tokenpath:requests_running", Title: "Instance"},
		{Name: VarGPU, Label: "gpu", Metric: "gpu_vram_total_bytes", Title: "GPU"},
	}
}

// varRef matches $name, ${name} and ${name:format} references.
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// Expand substitutes template variables in expr: every $name, ${name} and
// ${name:format} whose name is in vars becomes vars[name], and a reference to
// one of Variables() that vars lacks becomes AllValue. Other references (such
// as Grafana's $__interval) are left as they are. Values are inserted verbatim;
// build them with Regex when they come from user input.
func Expand(expr string, vars map[string]string) string {
	known := map[string]bool{}
	for _, v := range Variables() {
		known[v.Name] = true
	}
	return varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name := m[1]
		if name == "" {
			name = m[2]
		}
		if v, ok := vars[name]; ok {
			return v
		}
		if known[name] {
			return AllValue
		}
		return ref
	})
}

// Regex turns selected values into the regular expression a `=~"$var"`
// matcher needs: metacharacters escaped, values joined with |, AllValue for
// none. The result is safe inside a double-quoted PromQL string, because
// QuoteMeta escapes the backslash and the result is written with escaped
// backslashes and quotes.
func Regex(values ...string) string {
	if len(values) == 0 {
		return AllValue
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	re := strings.Join(quoted, "|")
	if len(values) > 1 {
		re = "(" + re + ")"
	}
	// The value lands inside "..." in PromQL, which unquotes it as Go does:
	// quote it the same way, so backslashes, quotes and control characters
	// (a newline in a model name) stay part of the value.
	q := strconv.Quote(re)
	return q[1 : len(q)-1]
}

// Find returns the panel with the given ID from TokenPath, Latency, GPU or Energy.
func Find(id string) (Panel, bool) {
	for _, set := range [][]Panel{TokenPath(), Latency(), GPU(), Energy()} {
		if i := slices.IndexFunc(set, func(p Panel) bool { return p.ID == id }); i >= 0 {
			return set[i], true
		}
	}
	return Panel{}, false
}

// serverSel is the matcher set of every token-path query.
const serverSel = `host=~"$host",model=~"$model",instance=~"$instance"`

// gpuSel is the matcher set of every GPU query.
const gpuSel = `host=~"$host",gpu=~"$gpu",instance=~"$instance"`

// sel writes metric{extra, serverSel}.
func sel(metric string, extra ...string) string {
	return metric + "{" + strings.Join(append(extra, serverSel), ",") + "}"
}

// gsel writes metric{extra, gpuSel}.
func gsel(metric string, extra ...string) string {
	return metric + "{" + strings.Join(append(extra, gpuSel), ",") + "}"
}

func ptr(f float64) *float64 { return &f }

// percentiles reads the recorded P50/P90/P99 of quantity q (ttft, itl, e2e, ...).
// The recorded series already come per host, server, model and instance, so the chart
// shows one line per percentile and server; percentiles of different servers
// cannot be merged, which is why no aggregation is applied here.
func percentiles(q, legendPrefix string) []Query {
	out := make([]Query, 0, 3)
	for _, p := range []struct{ q, name string }{{"0.5", "p50"}, {"0.9", "p90"}, {"0.99", "p99"}} {
		out = append(out, Query{
			Expr:   sel("tokenpath:"+q+"_seconds:histogram_quantile", `quantile="`+p.q+`"`),
			Legend: legendPrefix + p.name,
		})
	}
	return out
}

// heatmapServers is the order in which a heatmap picks a server kind when the
// selection holds several.
func heatmapServers() []string { return []string{"vllm", "sglang", "tgi"} }

// heatmap sums the per-bucket rates of quantity q over the selection, for one
// server kind. vLLM, SGLang and TGI use different bucket bounds, and summing
// cumulative buckets with different bounds gives nonsense (counts that go
// down between neighbouring bounds), so each step shows the first kind of
// heatmapServers that has data in the selection, and only then whatever else
// the selection holds (the prober). Selecting a model or instance shows
// another kind.
//
// Each alternative is dropped at a step where an earlier one has data
// (`B unless on () count(A)`), and the alternatives are then joined with a
// plain `or`: they never overlap, so Prometheus and VictoriaMetrics answer
// alike. The shorter `A or on () B` does not: VictoriaMetrics fills the steps
// where A has no data with B's values under A's labels (the le bounds of one
// kind with the counts of another), where Prometheus returns B's series
// (docs/fleet-engines.md).
//
// A heatmap is one distribution, so it sums over the selected hosts (buckets
// of one server kind add up exactly); the Grafana dashboards repeat each
// heatmap panel per host, and the UI's host filter narrows it to one.
func heatmap(q string) []Query {
	metric := "tokenpath:" + q + "_seconds_bucket:rate1m"
	kinds := heatmapServers()
	alts := make([]string, 0, len(kinds)+1)
	for i := range len(kinds) + 1 {
		var alt string
		if i < len(kinds) {
			alt = "sum by (le) (" + sel(metric, `server="`+kinds[i]+`"`) + ")"
		} else {
			alt = "sum by (le) (" + sel(metric) + ")"
		}
		if i > 0 {
			earlier := "count(" + sel(metric, `server=~"`+strings.Join(kinds[:i], "|")+`"`) + ")"
			alt = "(" + alt + " unless on () " + earlier + ")"
		}
		alts = append(alts, alt)
	}
	return []Query{{Expr: strings.Join(alts, " or "), Legend: "{{le}}"}}
}

// TokenPath returns the overview panels: the token path of a request from
// arrival to the last token, and the load that shapes it.
func TokenPath() []Panel {
	return []Panel{
		{
			ID:          "ttft",
			Title:       "Time to first token (P50 / P90 / P99)",
			Description: "Arrival to first token, over a 1m window. TGI has no TTFT metric: its line is the P50 of queue time plus prefill time (estimate=queue_plus_prefill).",
			Unit:        "s",
			Kind:        KindTimeSeries,
			Queries:     percentiles("ttft", "{{host}} {{server}} {{model}} {{instance}} "),
		},
		itlHeatmapPanel(),
		{
			ID:          "throughput",
			Title:       "Tokens per second and batch size",
			Description: "Generated and prompt tokens per second (left axis) with the running batch, the requests being decoded together (right axis).",
			Unit:        "short",
			Kind:        KindTimeSeries,
			Queries: []Query{
				{Expr: "sum by (host, model) (" + sel("tokenpath:generation_tokens:rate1m") + ")", Legend: "{{host}} {{model}} generated tok/s (all instances)"},
				{Expr: "sum by (host, model) (" + sel("tokenpath:prompt_tokens:rate1m") + ")", Legend: "{{host}} {{model}} prompt tok/s (all instances)"},
				{Expr: "sum by (host, model) (" + sel("tokenpath:requests_running") + ")", Legend: "{{host}} {{model}} batch size (all instances)", RightAxis: true, Unit: "short"},
			},
		},
		e2eHeatmapPanel(),
		{
			ID:          "queue",
			Title:       "Running and waiting requests",
			Description: "Requests in the running batch and in the server's queue.",
			Unit:        "short",
			Kind:        KindTimeSeries,
			Queries: []Query{
				{Expr: "sum by (host, model) (" + sel("tokenpath:requests_running") + ")", Legend: "{{host}} {{model}} running (all instances)"},
				{Expr: "sum by (host, model) (" + sel("tokenpath:requests_waiting") + ")", Legend: "{{host}} {{model}} waiting (all instances)"},
			},
		},
		{
			ID:          "kv_cache",
			Title:       "KV-cache usage",
			Description: "Share of KV-cache blocks in use (vLLM, SGLang, llama.cpp). TGI does not report it.",
			Unit:        "percentunit",
			Kind:        KindTimeSeries,
			Min:         ptr(0),
			Max:         ptr(1),
			Queries: []Query{
				{Expr: sel("tokenpath:kv_cache_usage:ratio"), Legend: "{{host}} {{server}} {{model}} {{instance}}"},
			},
		},
	}
}

// Latency returns the latency breakdown: percentiles and distributions of
// every phase of the token path.
func Latency() []Panel {
	return []Panel{
		{
			ID:          "ttft_percentiles",
			Title:       "Time to first token",
			Description: "P50, P90 and P99 of the time from arrival to the first token.",
			Unit:        "s",
			Kind:        KindTimeSeries,
			Queries:     percentiles("ttft", "{{host}} {{server}} {{model}} {{instance}} "),
		},
		{
			ID:          "ttft_heatmap",
			Title:       "Time to first token distribution",
			Description: "Requests per second in each TTFT bucket, for one server kind at a time (vLLM, else SGLang; select a model to choose).",
			Unit:        "s",
			Kind:        KindHeatmap,
			Queries:     heatmap("ttft"),
		},
		{
			ID:          "itl_percentiles",
			Title:       "Inter-token latency",
			Description: "P50, P90 and P99 of the time between two tokens (measure=itl) or TGI's mean time per token (measure=tpot).",
			Unit:        "s",
			Kind:        KindTimeSeries,
			Queries:     percentiles("itl", "{{host}} {{server}} {{model}} {{instance}} {{measure}} "),
		},
		itlHeatmapPanel(),
		{
			ID:          "e2e_percentiles",
			Title:       "End-to-end request latency",
			Description: "P50, P90 and P99 of the time from arrival to the last token.",
			Unit:        "s",
			Kind:        KindTimeSeries,
			Queries:     percentiles("e2e", "{{host}} {{server}} {{model}} {{instance}} "),
		},
		e2eHeatmapPanel(),
		{
			ID:          "phases",
			Title:       "Where the time goes (mean per request)",
			Description: "Mean queue, prefill and decode time of finished requests.",
			Unit:        "s",
			Kind:        KindTimeSeries,
			Queries: []Query{
				{Expr: sel("tokenpath:queue_seconds:mean_rate1m"), Legend: "{{host}} {{server}} {{model}} {{instance}} queue"},
				{Expr: sel("tokenpath:prefill_seconds:mean_rate1m"), Legend: "{{host}} {{server}} {{model}} {{instance}} prefill"},
				{Expr: sel("tokenpath:decode_seconds:mean_rate1m"), Legend: "{{host}} {{server}} {{model}} {{instance}} decode"},
			},
		},
	}
}

// GPU state codes of the "gpu_state" panel's query, ordered from no work to
// the most constrained state.
const (
	StateIdle         = 0
	StateBalanced     = 1
	StateComputeBound = 2
	StateMemoryBound  = 3
)

// GPU returns the GPU panels: memory, compute, the memory-bound detection,
// temperature, power and memory bandwidth.
func GPU() []Panel {
	return []Panel{
		gpuPanel("vram", "VRAM used / total",
			"Device memory in use and installed. vLLM reserves most of it at start-up, so a full GPU is not a busy GPU.", "bytes",
			gpuLine{"gpu_vram_used_bytes", "used"}, gpuLine{"gpu_vram_total_bytes", "total"}),
		percentOfTime(gpuPanel("compute", "Compute utilisation",
			"Share of time a kernel ran on the GPU (NVML GPU utilisation).", "percent",
			gpuLine{"gpu_compute_utilization", ""})),
		{
			ID:    "gpu_state",
			Title: "Memory-bound detection",
			Description: "tokenpath's classification of each GPU from memory bandwidth, SM activity and whether its server has running requests; " +
				"VRAM occupancy alone says nothing on an LLM server.",
			Unit: "short",
			Kind: KindStateBand,
			// tokenpath:gpu_state is a state set (1 for the current state, 0 for the
			// others); multiplying each state by its code and taking the max gives one
			// series per GPU whose value is the code of its current state, which is
			// what a state timeline draws.
			Queries: []Query{{
				Expr: "max by (host, instance, gpu, name) (" +
					gsel("tokenpath:gpu_state", `state="memory_bound"`) + " * 3 or " +
					gsel("tokenpath:gpu_state", `state="compute_bound"`) + " * 2 or " +
					gsel("tokenpath:gpu_state", `state="balanced"`) + " * 1 or " +
					gsel("tokenpath:gpu_state", `state="idle"`) + " * 0)",
				Legend: "{{host}} GPU {{gpu}} {{instance}}",
			}},
			Mappings: []Mapping{
				{Value: StateIdle, Text: "idle", Color: "blue"},
				{Value: StateBalanced, Text: "balanced", Color: "green"},
				{Value: StateComputeBound, Text: "compute-bound", Color: "yellow"},
				{Value: StateMemoryBound, Text: "memory-bound", Color: "orange"},
			},
		},
		gpuPanel("temperature", "Temperature", "GPU core temperature.", "celsius",
			gpuLine{"gpu_temperature_celsius", ""}),
		gpuPanel("power", "Power draw / limit", "Current board power and the enforced power limit.", "watt",
			gpuLine{"gpu_power_draw_watts", "draw"}, gpuLine{"gpu_power_limit_watts", "limit"}),
		percentOfTime(gpuPanel("memory_bandwidth", "Memory bandwidth utilisation",
			"Share of time device memory was being read or written (NVML memory utilisation); decode-heavy LLM work is bound here.", "percent",
			gpuLine{"gpu_memory_bandwidth_utilization", ""})),
		clocks(),
	}
}
