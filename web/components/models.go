// Package components holds tokenpath's templ components and the view models
// they render. Components only render: handlers in package web build the
// view models from the Prometheus API, so every component can be tested as
// a pure function of its input.
package components

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Page is what the layout needs on every page.
type Page struct {
	Title    string // Page title, also the <h1>.
	Path     string // The page's route, e.g. "/gpu"; marks the active nav link.
	Version  string
	AssetJS  string // URL of the script bundle, content-hashed for caching.
	AssetCSS string // URL of the stylesheet.
	Controls Controls
	// Reload makes auto-refresh reload the page (pages with server-rendered
	// numbers) instead of refetching chart data only.
	Reload bool
	// Error is shown in a banner when the API could not answer.
	Error string
	// StorageError is why the local TSDB cannot write (a full disk), shown in a banner on
	// every page while it lasts; empty while writes succeed.
	StorageError string
}

// Controls is the range picker, auto-refresh and filter bar. Every value
// lives in the URL query so a link reproduces the view.
type Controls struct {
	Show     bool
	Range    string // One of RangeOptions or "custom".
	From, To string // datetime-local values when Range is "custom".
	Refresh  string // One of RefreshOptions; "" is off.
	// Host is the tokenpath (external label host) the page is narrowed to;
	// "" is every host, and series without a host label (a tokenpath's own).
	Host      string
	Model     string
	Instance  string
	Hosts     []string // Values offered by the host filter.
	Models    []string // Values offered by the model filter.
	Instances []string
	// Filter hides the model/instance selectors on pages they do not apply to.
	Filter bool
	// HostFilter shows the host selector (every page whose data has hosts).
	HostFilter bool
	// AutoRange is set when the URL names no range: Range was picked to
	// fit the data (FittingRange) and links leave it out.
	AutoRange bool
}

// RangeOptions returns the relative ranges of the picker, shortest first.
func RangeOptions() []string {
	return []string{"5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d"}
}

// RefreshOptions returns the auto-refresh intervals ("" means off).
func RefreshOptions() []string { return []string{"", "10s", "30s", "1m", "5m"} }

// DefaultRange is the range of a page opened without one.
const DefaultRange = "1h"

// Query returns the URL query that keeps the controls' state, for links
// between pages.
func (c Controls) Query() url.Values {
	q := url.Values{}
	// A range picked to fit the data (AutoRange) stays out: the next page
	// picks its own. A range the user chose stays, the default one too,
	// so that a link reproduces the view.
	if c.Range != "" && !c.AutoRange {
		q.Set("range", c.Range)
	}
	if c.Range == "custom" {
		q.Set("from", c.From)
		q.Set("to", c.To)
	}
	if c.Refresh != "" {
		q.Set("refresh", c.Refresh)
	}
	if c.Host != "" {
		q.Set("host", c.Host)
	}
	if c.Model != "" {
		q.Set("model", c.Model)
	}
	if c.Instance != "" {
		q.Set("instance", c.Instance)
	}
	return q
}

// Link returns path with the controls' query and an optional fragment.
func (c Controls) Link(path, fragment string) string {
	s := path
	if q := c.Query().Encode(); q != "" {
		s += "?" + q
	}
	if fragment != "" {
		s += "#" + fragment
	}
	return s
}

// Chart is one chart the browser draws; it is serialised into the element's
// data-chart attribute.
type Chart struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"-"`
	Kind        string         `json:"kind"` // timeseries, heatmap, state-timeline
	Unit        string         `json:"unit"`
	Queries     []ChartQuery   `json:"queries"`
	Mappings    []ChartMapping `json:"mappings,omitempty"`
	Min         *float64       `json:"min,omitempty"`
	Max         *float64       `json:"max,omitempty"`
	// Empty is appended to "No data in this time range." to say what to do.
	Empty string `json:"empty,omitempty"`
}

// ChartQuery is one PromQL expression of a chart, template variables already
// substituted.
type ChartQuery struct {
	Expr   string `json:"expr"`
	Legend string `json:"legend"`
	Right  bool   `json:"right,omitempty"`
	Unit   string `json:"unit,omitempty"`
}

// ChartMapping names a value of a state chart.
type ChartMapping struct {
	Value float64 `json:"value"`
	Text  string  `json:"text"`
	Color string  `json:"color"`
}

// Value is a number that may be missing (no series, or NaN from a quantile
// over no requests).
type Value struct {
	V  float64
	OK bool
}

// Some returns a present value; NaN and infinities count as missing.
func Some(v float64) Value {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Value{}
	}
	return Value{V: v, OK: true}
}

// Quantiles are P50, P90 and P99 of one latency.
type Quantiles struct {
	P50, P90, P99 Value
}

// Any reports whether any quantile is present.
func (q Quantiles) Any() bool { return q.P50.OK || q.P90.OK || q.P99.OK }

// ServerRow is one served model on one server, a row of the token path page.
type ServerRow struct {
	// Host is the tokenpath the row's series came from (external label
	// host); "" for a tokenpath's own series. Two hosts serving the same
	// instance address are two rows.
	Host     string
	Server   string // vllm, tgi, sglang, llamacpp.
	Model    string
	Instance string
	Job      string

	Queue, Prefill, Decode Quantiles
	TTFT                   Quantiles
	// TTFTEstimate is set when TTFT is TGI's queue+prefill estimate.
	TTFTEstimate bool
	ITL          Quantiles
	ITLMeasure   string // "itl" or "tpot".
	E2E          Quantiles
	// ProbeTTFT is the TTFT measured by tokenpath's own streaming probe of
	// this server (same instance), when a probe runs.
	ProbeTTFT *Quantiles

	TokensPerSec Value
	Running      Value
	Waiting      Value
	KVCache      Value // 0–1.
	ErrorRate    Value // 0–1.
	Alerts       []string

	// Diagnosis is the row's cause from tokenpath:diagnosis ("" until the
	// rules have decided one; rules/README.md, "Diagnosis").
	Diagnosis string
	// Diagnosis numbers (tokenpath:diagnosis_*): the tail over its
	// objective, queue share of the TTFT, p99/p50 ITL, prompt share of the
	// tokens, and the probes' time in front of the engine.
	DiagnosisTail, DiagnosisQueueShare, DiagnosisITLSpike, DiagnosisPromptShare, DiagnosisFrontGap Value

	// Detail is the lifecycle, KV headroom, energy and GPUs (row_detail.go).
	Detail RowDetail
}

// DiagnosisRunbook is the README section per diagnosis cause (the cause is
// the anchor); the alerts' runbook_url (rules.RunbookBase) points there too.
const DiagnosisRunbook = "https://github.com/ritwikareddykancharla/token-path-observability/blob/main/README.md#"

// DiagnosisEvidence is the diagnosis's numbers in words, those the server
// reports only.
func (r ServerRow) DiagnosisEvidence() []string {
	var out []string
	add := func(v Value, text string) {
		if v.OK {
			out = append(out, text)
		}
	}
	add(r.DiagnosisTail, "tail "+trimFloat(r.DiagnosisTail.V, 2)+"× objective")
	add(r.DiagnosisQueueShare, "queue "+FormatRatio(r.DiagnosisQueueShare)+" of TTFT")
	add(r.DiagnosisITLSpike, "p99 ITL "+trimFloat(r.DiagnosisITLSpike.V, 2)+"× p50")
	add(r.DiagnosisPromptShare, "prompt "+FormatRatio(r.DiagnosisPromptShare)+" of tokens")
	add(r.DiagnosisFrontGap, FormatSeconds(r.DiagnosisFrontGap)+" before the engine")
	return out
}

// Key identifies the row in data-key attributes: host/server/model/instance,
// or server/model/instance for a row without a host.
func (r ServerRow) Key() string {
	return hostKey(r.Host, r.Server+"/"+r.Model+"/"+r.Instance)
}

// hostKey prefixes key with the host, when there is one.
func hostKey(host, key string) string {
	if host == "" {
		return key
	}
	return host + "/" + key
}

// SLORow is one service-level objective of one model on one server
// (instance), from the SLO rules (rules/slo): how much of the last day met
// it and how much budget is left.
type SLORow struct {
	Host      string // The tokenpath the series came from; "" for its own.
	Model     string
	Instance  string // host:port of the server the events came from.
	SLO       string // e.g. "probe-ttft-5s".
	Indicator string // ttft, itl, tpot.
	Source    string // probe or server.
	Server    string // the server kind for server objectives, "probe" otherwise.
	// Objective is the target share of good events (0–1).
	Objective Value
	// Attainment is the share of good events over the last day (0–1).
	Attainment Value
	// BudgetRemaining is the share of the 30-day error budget left, spent
	// only by the data that exists (not extrapolated).
	BudgetRemaining Value
	// BurnRate is the 1h error ratio over the budget (1 = on budget).
	BurnRate Value
	// AttainmentCovered and BudgetCovered are the seconds of data in the
	// day and the 30 days (tokenpath:slo_window_covered:seconds).
	AttainmentCovered, BudgetCovered Value
}

// Nominal SLO windows: the attainment's day and the error budget's 30 days.
const (
	AttainmentWindow = 24 * time.Hour
	BudgetWindow     = 30 * 24 * time.Hour
)

// Key identifies the row in data-key attributes.
func (r SLORow) Key() string {
	return hostKey(r.Host, r.SLO+"/"+r.Server+"/"+r.Model+"/"+r.Instance)
}

// AttainmentSpan is "over 6 min" while the day is not yet covered.
func (r SLORow) AttainmentSpan() string { return CoveredSpan(r.AttainmentCovered, AttainmentWindow) }

// BudgetSpan is "over 6 min" while the 30 days are not yet covered.
func (r SLORow) BudgetSpan() string { return CoveredSpan(r.BudgetCovered, BudgetWindow) }

// CoveredSpan says how much data a figure over the nominal window really
// covers, "over 6 min", "over 5.5 h", "over 12 d", or "" once the window is
// full (one missed evaluation tolerated) or when the coverage is unknown.
func CoveredSpan(covered Value, nominal time.Duration) string {
	if !covered.OK {
		return ""
	}
	d := time.Duration(covered.V * float64(time.Second))
	if d >= nominal-time.Minute {
		return ""
	}
	switch {
	case d < 2*time.Hour:
		return "over " + strconv.FormatFloat(math.Floor(d.Minutes()), 'f', 0, 64) + " min"
	case d < 48*time.Hour:
		return "over " + oneDecimal(d.Hours()) + " h"
	default:
		return "over " + oneDecimal(d.Hours()/24) + " d"
	}
}

// oneDecimal writes v rounded down to one decimal, without a trailing ".0":
// a span is never said to be longer than it is.
func oneDecimal(v float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(math.Floor(v*10)/10, 'f', 1, 64), ".0")
}

// Met says whether the day's attainment reaches the objective.
func (r SLORow) Met() bool {
	return r.Attainment.OK && r.Objective.OK && r.Attainment.V >= r.Objective.V
}

// NoSLOHint is the SLO table's empty state.
const NoSLOHint = "No SLO series yet: they come from the probes and the servers' latency histograms " +
	"(on by default, --slo.enable) and appear after the first minute of traffic."

// TokenPathPage is the overview page.
type TokenPathPage struct {
	Page Page
	Now  time.Time // For "since 3m ago".
	Rows []ServerRow
	// Targets are the configured inference endpoints, healthy or not.
	Targets []InferenceTarget
	SLOs    []SLORow
	Charts  []Chart
}

// LatencyPage holds the latency charts.
type LatencyPage struct {
	Page   Page
	Charts []Chart
}

// GPUCard is the current state of one GPU.
type GPUCard struct {
	Host       string // The tokenpath the GPU's series came from; "" for its own.
	Index      string
	Name       string
	UUID       string
	Instance   string
	Up         bool
	State      string // idle, balanced, compute_bound, memory_bound; "" unknown.
	VRAMUsed   Value
	VRAMTotal  Value
	Compute    Value // percent.
	Bandwidth  Value // percent.
	Temp       Value
	Power      Value
	PowerLimit Value
	SMClock    Value
	MemClock   Value
	Throttle   []string // Active clock event reasons.
	Processes  []GPUProcess
}

// GPUProcess is one process holding GPU memory.
type GPUProcess struct {
	PID    string
	Name   string
	Memory float64
}

// GPUPage is the GPU page.
type GPUPage struct {
	Page Page
	// Off is true when tokenpath_gpu_up is 0 or absent: NVML is not usable.
	Off    bool
	Cards  []GPUCard
	Charts []Chart
}

// AlertRow is one firing or pending alert.
type AlertRow struct {
	Name    string
	State   string // firing, pending.
	Labels  []Label
	Value   string
	Since   time.Time
	Summary string
}

// RuleRow is one rule with its health.
type RuleRow struct {
	Group          string
	Name           string
	Type           string // alerting, recording.
	Query          string
	Health         string // ok, err, unknown.
	LastEvaluation time.Time
	EvalSeconds    float64
	Error          string
	State          string // inactive, pending, firing (alerting only).
}

// AlertsPage is the alerts and rules page.
type AlertsPage struct {
	Page   Page
	Now    time.Time // For "5m ago".
	Alerts []AlertRow
	Rules  []RuleRow
	// Engine is the central engine the page reads from (tokenpath fleet);
	// "" for tokenpath's own rules.
	Engine string
	// RulesElsewhere is set when the engine evaluates no rules (an empty
	// list, or no rules/alerts API): the page says where rules live.
	RulesElsewhere bool
	// EngineAnswer is what the engine answered instead of a rules or alerts
	// list, when it had no such API.
	EngineAnswer string
}

// Label is one label pair, in display order.
type Label struct{ Name, Value string }

// InferenceTarget is one configured inference endpoint on the token-path
// page: one row whatever its health, so a server that stopped answering, or
// that is not the server its job names, shows where the user looks first.
type InferenceTarget struct {
	Host       string // The tokenpath scraping it (target label host); "" for its own.
	Job        string
	Instance   string
	URL        string
	Server     string // detected kind; "" until the first successful read.
	Health     string // up, down, unknown.
	LastScrape time.Time
	Error      string
	// DownSince is when InferenceTargetDown's condition started to hold;
	// zero while the endpoint answers (or the alert is switched off).
	DownSince time.Time
	Alerting  string // the alert's state: pending, firing or "".
	// Mismatch says why the detected kind does not fit the job.
	Mismatch string
}

// Key identifies the row in tests and links.
func (t InferenceTarget) Key() string { return hostKey(t.Host, t.Job+"/"+t.Instance) }

// TargetRow is one scrape target.
type TargetRow struct {
	Job            string
	Instance       string
	Server         string // detected server kind (target label "server").
	URL            string
	Health         string // up, down, unknown.
	LastScrape     time.Time
	DurationSecond float64
	Samples        Value
	Error          string
	Labels         []Label
}

// TargetsPage is the targets page.
type TargetsPage struct {
	Page    Page
	Now     time.Time // For "3s ago".
	Targets []TargetRow
}

// ExplorePage is the PromQL explore page.
type ExplorePage struct {
	Page Page
	Expr string
}

// NotFoundPage is the 404 page.
type NotFoundPage struct {
	Page Page
	URL  string
}

// NoServerHint is the empty state of the token path: what to do when no
// inference server is scraped.
const NoServerHint = "No inference server is up: set VLLM_ENDPOINT, TGI_ENDPOINT, SGLANG_ENDPOINT or LLAMACPP_ENDPOINT (or the --vllm.endpoint … flags), add a scrape job, or run with --demo."

// FormatSeconds writes a latency for a table cell.
func FormatSeconds(v Value) string {
	if !v.OK {
		return "—"
	}
	a := math.Abs(v.V)
	switch {
	case a == 0:
		return "0"
	case a < 1e-3:
		return strconv.FormatFloat(v.V*1e6, 'f', 0, 64) + " µs"
	case a < 1:
		return trimFloat(v.V*1e3, 3) + " ms"
	case a < 60:
		return trimFloat(v.V, 3) + " s"
	default:
		return strconv.FormatFloat(v.V/60, 'f', 1, 64) + " min"
	}
}

// FormatRatio writes a 0–1 ratio as a percentage.
func FormatRatio(v Value) string {
	if !v.OK {
		return "—"
	}
	return FormatPercent(Value{V: v.V * 100, OK: true})
}

// FormatAttainment writes an SLO attainment (0–1) with two decimals of a
// percent: 99.5% and 99.95% are different promises.
func FormatAttainment(v Value) string {
	if !v.OK {
		return "—"
	}
	return strconv.FormatFloat(v.V*100, 'f', 2, 64) + "%"
}

// FormatPercent writes a 0–100 percentage.
func FormatPercent(v Value) string {
	if !v.OK {
		return "—"
	}
	if v.V < 10 {
		return strconv.FormatFloat(v.V, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(v.V, 'f', 0, 64) + "%"
}

// FormatNumber writes a count or rate with up to three significant digits.
func FormatNumber(v Value) string {
	if !v.OK {
		return "—"
	}
	a := math.Abs(v.V)
	switch {
	case a >= 1e6:
		return trimFloat(v.V/1e6, 3) + "M"
	case a >= 1e3:
		return trimFloat(v.V/1e3, 3) + "k"
	case a == math.Trunc(a):
		return strconv.FormatFloat(v.V, 'f', 0, 64)
	default:
		return trimFloat(v.V, 3)
	}
}

// FormatBytes writes a byte count in binary units.
func FormatBytes(v Value) string {
	if !v.OK {
		return "—"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	x, i := v.V, 0
	for math.Abs(x) >= 1024 && i < len(units)-1 {
		x /= 1024
		i++
	}
	return trimFloat(x, 3) + " " + units[i]
}

// FormatUnit writes v with a suffix ("W", "°C", "MHz" from hertz).
func FormatUnit(v Value, unit string) string {
	if !v.OK {
		return "—"
	}
	switch unit {
	case "hertz":
		return strconv.FormatFloat(v.V/1e6, 'f', 0, 64) + " MHz"
	case "watt":
		return strconv.FormatFloat(v.V, 'f', 0, 64) + " W"
	case "celsius":
		return strconv.FormatFloat(v.V, 'f', 0, 64) + " °C"
	}
	return FormatNumber(v)
}

// FormatTime writes an absolute time, or "never" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// FormatAgo writes how long ago t was, relative to now.
func FormatAgo(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

func trimFloat(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'g', digits, 64)
	if strings.ContainsAny(s, "e") {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return s
}

// BarWidths returns the widths, in percent of scale, of the queue, prefill
// and decode segments of a lifecycle bar, for quantile pick (P50 or P99).
func BarWidths(queue, prefill, decode Value, scale float64) [3]float64 {
	var w [3]float64
	if scale <= 0 {
		return w
	}
	for i, v := range []Value{queue, prefill, decode} {
		if v.OK && v.V > 0 {
			w[i] = math.Min(100, v.V/scale*100)
		}
	}
	return w
}

// LifecycleScale is the longest P99 lifecycle among rows, so that bars of
// different rows compare.
func LifecycleScale(rows []ServerRow) float64 {
	m := 0.0
	for _, r := range rows {
		s := 0.0
		for _, v := range []Value{r.Queue.P99, r.Prefill.P99, r.Decode.P99} {
			if v.OK {
				s += v.V
			}
		}
		m = math.Max(m, s)
	}
	return m
}
