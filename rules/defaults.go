package rules

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"strconv"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/ritwikareddykancharla/token-path-observability/metricnames"
	"github.com/ritwikareddykancharla/token-path-observability/rules/cause"
)

// The templates use [[ ]] so that Prometheus' own {{ }} alert templates pass
// through unchanged.
//
//go:embed defaults/*.yml.tmpl
var defaultTemplates embed.FS

// Names of the embedded rule files returned by DefaultRuleFiles.
const (
	// TokenPathRuleFile holds the unified tokenpath:* recording rules.
	TokenPathRuleFile = "token_path.rules.yml"
	// GPURuleFile holds the GPU ratios and the tokenpath:gpu_state state set.
	GPURuleFile = "gpu.rules.yml"
	// DiagnosisRuleFile holds tokenpath:diagnosis, the dominant cause of each
	// server's latency tail, and the numbers it is decided on.
	DiagnosisRuleFile = "diagnosis.rules.yml"
	// AlertRuleFile holds the seed's alerts.
	AlertRuleFile = "alerts.rules.yml"
	// LongRangeRuleFile holds the 5 m bucket rates and percentiles that
	// long-range heatmaps and percentile charts read (grafana/panels).
	LongRangeRuleFile = "longrange.rules.yml"
)

// ruleFileOrder is the order the embedded files are rendered and loaded in:
// each file reads the series of the files before it.
var ruleFileOrder = []string{TokenPathRuleFile, GPURuleFile, DiagnosisRuleFile, AlertRuleFile, LongRangeRuleFile}

// tokenPathServers are the servers whose percentiles and means the token-path
// group derives; the prober derives its own in its own file, and deriving them
// twice would write the same series from two rules.
const tokenPathServers = "vllm|tgi|sglang"

// Thresholds are the overridable numbers in the embedded rules. A zero field
// takes its default (DefaultThresholds); a zero per-alert `for` duration takes
// For.
type Thresholds struct {
	// TTFTWarning fires HighTTFT when p99 time to first token is above it.
	TTFTWarning time.Duration
	// TTFTCritical fires CriticalTTFT when p99 time to first token is above it.
	TTFTCritical time.Duration
	// ITLWarning fires HighITL when p99 inter-token latency is above it.
	ITLWarning time.Duration

	// VRAMHighRatio (0–1) is MemoryBound's VRAM condition.
	VRAMHighRatio float64
	// ComputeLowRatio (0–1) is MemoryBound's SM-activity condition.
	ComputeLowRatio float64
	// VRAMCriticalRatio (0–1) fires GPUMemoryExhaustion.
	VRAMCriticalRatio float64

	// For is how long a condition must hold before an alert fires, for every
	// alert whose own duration below is zero.
	For time.Duration
	// HighTTFTFor overrides For for HighTTFT.
	HighTTFTFor time.Duration
	// CriticalTTFTFor overrides For for CriticalTTFT.
	CriticalTTFTFor time.Duration
	// HighITLFor overrides For for HighITL.
	HighITLFor time.Duration
	// MemoryBoundFor overrides For for MemoryBound.
	MemoryBoundFor time.Duration
	// GPUMemoryExhaustionFor overrides For for GPUMemoryExhaustion.
	GPUMemoryExhaustionFor time.Duration
	// InferenceTargetDownFor overrides For for InferenceTargetDown.
	InferenceTargetDownFor time.Duration

	// GPUBusyRatio (0–1): a GPU whose SM activity or memory bandwidth reaches
	// it has work even when no scraped server on its host reports running
	// requests.
	GPUBusyRatio float64
	// GPUSaturatedRatio (0–1): the bandwidth (or SM activity) a GPU with work
	// needs to be memory_bound (or compute_bound).
	GPUSaturatedRatio float64
	// GPUDominanceMargin (0–1): how far bandwidth must lead SM activity (or the
	// reverse) for memory_bound (compute_bound); closer than that is balanced.
	GPUDominanceMargin float64

	// DiagnosisRestartWindow: a target that was down, or whose counters reset,
	// within it is diagnosed engine_restart.
	DiagnosisRestartWindow time.Duration
	// DiagnosisFrontGap: the mean time in front of the engine (the probes'
	// TTFT − the server's) from which front_of_engine can hold.
	DiagnosisFrontGap time.Duration
	// DiagnosisFrontShare (0–1): the share of the probes' TTFT spent in front
	// of the engine that front_of_engine needs.
	DiagnosisFrontShare float64
	// DiagnosisKVRatio (0–1): the KV-cache usage from which kv_cache_pressure
	// can hold.
	DiagnosisKVRatio float64
	// DiagnosisQueueShare (0–1): the share of the mean TTFT spent queued that
	// queue_saturation needs.
	DiagnosisQueueShare float64
	// DiagnosisITLSpikeRatio (≥ 1): how far p99 ITL must exceed p50 ITL for
	// prefill_interference (decode steps stalled now and then, not all slow).
	DiagnosisITLSpikeRatio float64
	// DiagnosisPromptShare (0–1): the share of prompt tokens among the tokens
	// processed that prefill_interference needs.
	DiagnosisPromptShare float64
	// DiagnosisGPUShare (0–1): the share of a server's host's GPUs that must
	// be memory_bound (compute_bound) for memory_bandwidth_bound
	// (compute_bound).
	DiagnosisGPUShare float64

	// DiagnosisKneeWindow is how much stored history the KV-cache knee is
	// estimated from (tokenpath:kv_cache_knee:ratio).
	DiagnosisKneeWindow time.Duration
	// DiagnosisKneeFactor (> 1): how many times the low-usage baseline a KV
	// band's p99 TTFT must reach to be the knee.
	DiagnosisKneeFactor float64
	// DiagnosisKneeHeadroom (0–1): KVCacheNearKnee fires when the KV usage is
	// less than this below the knee (or past it).
	DiagnosisKneeHeadroom float64
	// KVCacheNearKneeFor overrides For for KVCacheNearKnee.
	KVCacheNearKneeFor time.Duration
	// DiagnosisLifecycleTolerance (0–1): tokenpath:lifecycle_inconsistent is
	// 1 when e2e ÷ (queue + prefill + decode) is further than this from 1.
	DiagnosisLifecycleTolerance float64
}

// DefaultThresholds returns the seed's thresholds: HighTTFT 5 s, CriticalTTFT
// 10 s, HighITL 100 ms, MemoryBound VRAM > 90% with compute < 50%,
// GPUMemoryExhaustion VRAM > 95%; `for` 5m, except CriticalTTFT 2m and
// MemoryBound 10m. GPU state: busy at 10%, saturated at 50%, margin 10 points.
// Diagnosis (rules/README.md): restart window 10m, front gap 1 s and half the
// probes' TTFT, KV 90%, queue half the TTFT, ITL spike p99 ≥ 4 × p50, prompt
// tokens half the tokens, half the host's GPUs.
func DefaultThresholds() Thresholds {
	return Thresholds{
		TTFTWarning:       5 * time.Second,
		TTFTCritical:      10 * time.Second,
		ITLWarning:        100 * time.Millisecond,
		VRAMHighRatio:     0.90,
		ComputeLowRatio:   0.50,
		VRAMCriticalRatio: 0.95,
		For:               5 * time.Minute,
		// A p99 TTFT over 10 s means users are timing out: page sooner.
		CriticalTTFTFor: 2 * time.Minute,
		// Memory-boundness follows the traffic mix; only a lasting one is news.
		MemoryBoundFor: 10 * time.Minute,
		// A few scrape intervals: one failed scrape is not an outage, a
		// minute without answers is.
		InferenceTargetDownFor: time.Minute,
		GPUBusyRatio:           0.10,
		GPUSaturatedRatio:      0.50,
		GPUDominanceMargin:     0.10,
		// Longer than a model load and the first minutes of an empty prefix
		// cache; short enough that a restart is not blamed for an hour.
		DiagnosisRestartWindow: 10 * time.Minute,
		// The TokenPathClientServerGap alert's default threshold.
		DiagnosisFrontGap:   time.Second,
		DiagnosisFrontShare: 0.5,
		// vLLM preempts when it cannot grow a sequence; at 90% a few long
		// sequences are enough.
		DiagnosisKVRatio:       0.90,
		DiagnosisQueueShare:    0.5,
		DiagnosisITLSpikeRatio: 4,
		DiagnosisPromptShare:   0.5,
		DiagnosisGPUShare:      0.5,
		// Six hours hold a day's rush and its quiet side on most services,
		// and keep the 22 subqueries of the knee group cheap.
		DiagnosisKneeWindow: 6 * time.Hour,
		// Twice the low-usage tail: well above the minute-to-minute noise of
		// a p99 (rules/README.md, "KV-cache knee").
		DiagnosisKneeFactor: 2,
		// One 5-point band below the knee.
		DiagnosisKneeHeadroom: 0.05,
		// Shorter than HighTTFT's 5m, so that the warning comes first.
		KVCacheNearKneeFor: 2 * time.Minute,
		// rules/README.md, "Lifecycle waterfall", works out why 0.2.
		DiagnosisLifecycleTolerance: 0.2,
	}
}

// withDefaults fills zero fields from DefaultThresholds and resolves the
// per-alert `for` durations.
func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	setDuration := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setRatio := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setDuration(&t.TTFTWarning, d.TTFTWarning)
	setDuration(&t.TTFTCritical, d.TTFTCritical)
	setDuration(&t.ITLWarning, d.ITLWarning)
	setRatio(&t.VRAMHighRatio, d.VRAMHighRatio)
	setRatio(&t.ComputeLowRatio, d.ComputeLowRatio)
	setRatio(&t.VRAMCriticalRatio, d.VRAMCriticalRatio)
	setRatio(&t.GPUBusyRatio, d.GPUBusyRatio)
	setRatio(&t.GPUSaturatedRatio, d.GPUSaturatedRatio)
	setRatio(&t.GPUDominanceMargin, d.GPUDominanceMargin)
	setDuration(&t.DiagnosisRestartWindow, d.DiagnosisRestartWindow)
	setDuration(&t.DiagnosisFrontGap, d.DiagnosisFrontGap)
	setRatio(&t.DiagnosisFrontShare, d.DiagnosisFrontShare)
	setRatio(&t.DiagnosisKVRatio, d.DiagnosisKVRatio)
	setRatio(&t.DiagnosisQueueShare, d.DiagnosisQueueShare)
	setRatio(&t.DiagnosisITLSpikeRatio, d.DiagnosisITLSpikeRatio)
	setRatio(&t.DiagnosisPromptShare, d.DiagnosisPromptShare)
	setRatio(&t.DiagnosisGPUShare, d.DiagnosisGPUShare)
	setDuration(&t.DiagnosisKneeWindow, d.DiagnosisKneeWindow)
	setRatio(&t.DiagnosisKneeFactor, d.DiagnosisKneeFactor)
	setRatio(&t.DiagnosisKneeHeadroom, d.DiagnosisKneeHeadroom)
	setRatio(&t.DiagnosisLifecycleTolerance, d.DiagnosisLifecycleTolerance)
	// The per-alert defaults apply only while For is the default too: a user
	// who sets For alone means it for every alert.
	if t.For == 0 {
		t.For = d.For
		setDuration(&t.CriticalTTFTFor, d.CriticalTTFTFor)
		setDuration(&t.MemoryBoundFor, d.MemoryBoundFor)
		setDuration(&t.InferenceTargetDownFor, d.InferenceTargetDownFor)
		setDuration(&t.KVCacheNearKneeFor, d.KVCacheNearKneeFor)
	}
	setDuration(&t.HighTTFTFor, t.For)
	setDuration(&t.CriticalTTFTFor, t.For)
	setDuration(&t.HighITLFor, t.For)
	setDuration(&t.MemoryBoundFor, t.For)
	setDuration(&t.GPUMemoryExhaustionFor, t.For)
	setDuration(&t.InferenceTargetDownFor, t.For)
	setDuration(&t.KVCacheNearKneeFor, t.For)
	return t
}

// Validate reports thresholds that cannot make sense: negative durations,
// ratios outside 0–1, NaN, and durations finer than a millisecond (rule
// files count in milliseconds). Zero fields are valid: they take defaults.
func (t Thresholds) Validate() error {
	var errs []error
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"TTFTWarning", t.TTFTWarning},
		{"TTFTCritical", t.TTFTCritical},
		{"ITLWarning", t.ITLWarning},
		{"For", t.For},
		{"HighTTFTFor", t.HighTTFTFor},
		{"CriticalTTFTFor", t.CriticalTTFTFor},
		{"HighITLFor", t.HighITLFor},
		{"MemoryBoundFor", t.MemoryBoundFor},
		{"GPUMemoryExhaustionFor", t.GPUMemoryExhaustionFor},
		{"InferenceTargetDownFor", t.InferenceTargetDownFor},
		{"DiagnosisRestartWindow", t.DiagnosisRestartWindow},
		{"DiagnosisFrontGap", t.DiagnosisFrontGap},
		{"DiagnosisKneeWindow", t.DiagnosisKneeWindow},
		{"KVCacheNearKneeFor", t.KVCacheNearKneeFor},
	}
	for _, d := range durations {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s is negative (%s)", d.name, d.v))
		}
		if d.v%time.Millisecond != 0 {
			errs = append(errs, fmt.Errorf("%s (%s) is not a whole number of milliseconds", d.name, d.v))
		}
	}
	ratios := []struct {
		name string
		v    float64
	}{
		{"VRAMHighRatio", t.VRAMHighRatio},
		{"ComputeLowRatio", t.ComputeLowRatio},
		{"VRAMCriticalRatio", t.VRAMCriticalRatio},
		{"GPUBusyRatio", t.GPUBusyRatio},
		{"GPUSaturatedRatio", t.GPUSaturatedRatio},
		{"GPUDominanceMargin", t.GPUDominanceMargin},
		{"DiagnosisFrontShare", t.DiagnosisFrontShare},
		{"DiagnosisKVRatio", t.DiagnosisKVRatio},
		{"DiagnosisQueueShare", t.DiagnosisQueueShare},
		{"DiagnosisPromptShare", t.DiagnosisPromptShare},
		{"DiagnosisGPUShare", t.DiagnosisGPUShare},
		{"DiagnosisKneeHeadroom", t.DiagnosisKneeHeadroom},
		{"DiagnosisLifecycleTolerance", t.DiagnosisLifecycleTolerance},
	}
	for _, r := range ratios {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s is %v, want a ratio between 0 and 1", r.name, r.v))
		}
	}
	if v := t.DiagnosisITLSpikeRatio; math.IsNaN(v) || (v != 0 && v < 1) {
		errs = append(errs, fmt.Errorf("DiagnosisITLSpikeRatio is %v, want 1 or more (p99 over p50)", v))
	}
	if v := t.DiagnosisKneeFactor; math.IsNaN(v) || (v != 0 && v <= 1) {
		errs = append(errs, fmt.Errorf("DiagnosisKneeFactor is %v, want more than 1 (a band's tail over the baseline)", v))
	}
	if w := t.DiagnosisKneeWindow; w != 0 && w < kneeMinWindow {
		errs = append(errs, fmt.Errorf("DiagnosisKneeWindow (%s) is shorter than %s: a band needs %d minutes of history", w, kneeMinWindow, kneeMinSamples))
	}
	if err := errors.Join(errs...); err != nil {
		// Each error names the threshold (a Thresholds field; the --alert.*
		// and --diagnosis.* flags set them).
		return fmt.Errorf("invalid thresholds of the embedded rules: %w", err)
	}
	return nil
}

// kneeMinSamples is how many one-minute steps of history a KV band needs
// before its TTFT tail counts (rules/README.md, "KV-cache knee"): ten minutes,
// so that one burst does not make a knee.
const kneeMinSamples = 10

// kneeMinWindow is the shortest DiagnosisKneeWindow: two bands' worth of
// history, a baseline and a knee.
const kneeMinWindow = 2 * kneeMinSamples * time.Minute

// templateData is what the templates see: the resolved thresholds plus the
// constants the token-path template needs.
type templateData struct {
	Thresholds
	Servers string
	// RunbookBase is where the alerts' runbook_url points, followed by the
	// cause: the README's section of that name.
	RunbookBase string
	// KneeMinSamples is kneeMinSamples, for the knee group.
	KneeMinSamples int
}

// RunbookBase is the README section per diagnosis cause that the latency
// alerts' runbook_url names (the cause is the anchor).
const RunbookBase = cause.RunbookBase

// DefaultRuleFiles renders the embedded rule files with t (zero fields take
// their defaults) and returns file name → rule YAML: TokenPathRuleFile,
// GPURuleFile and AlertRuleFile. Every file is checked with rulefmt.Parse
// before it is returned, so the rule manager never receives a file that it
// would reject.
func DefaultRuleFiles(t Thresholds) (map[string][]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	data := templateData{Thresholds: t.withDefaults(), Servers: tokenPathServers, RunbookBase: RunbookBase, KneeMinSamples: kneeMinSamples}
	return renderRuleFiles(defaultTemplates, data)
}

// renderRuleFiles renders the templates defaults/NAME.tmpl of fsys for every
// NAME of ruleFileOrder with data. Its errors name the rule file (and the
// template's line), the part a reader of `tokenpath rules export` sees.
func renderRuleFiles(fsys fs.FS, data templateData) (map[string][]byte, error) {
	tmpl, err := template.New("defaults").Delims("[[", "]]").Option("missingkey=error").
		Funcs(templateFuncs()).ParseFS(fsys, "defaults/*.yml.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parsing the embedded rule templates: %w", err)
	}
	p := parser.NewParser(parser.Options{})
	logger := slog.New(slog.DiscardHandler)
	files := make(map[string][]byte, len(ruleFileOrder))
	for _, name := range ruleFileOrder {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name+".tmpl", data); err != nil {
			return nil, fmt.Errorf("rendering the embedded rule file %s: %w", name, err)
		}
		if _, errs := rulefmt.Parse(buf.Bytes(), false, model.UTF8Validation, p, logger); len(errs) > 0 {
			return nil, fmt.Errorf("the embedded rule file %s, rendered, is not a valid rule file: %w", name, errors.Join(errs...))
		}
		files[name] = buf.Bytes()
	}
	return files, nil
}

// pair is a key and a value for ranging over small tables in templates.
type pair struct{ Key, Value string }

// templateFuncs are the helpers the rule templates call.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"list": func(v ...any) []any { return v },
		"pair": func(k, v string) pair { return pair{k, v} },
		// ternary a b cond: a when cond, else b (pipe-friendly: cond comes last).
		"ternary": func(a, b string, cond bool) string {
			if cond {
				return a
			}
			return b
		},
		"agg": aggregate,
		// metric SERVER QUANTITY: the server's current name of the quantity;
		// metrics SERVER QUANTITY: every name, current first (metricnames).
		"metric": func(server, quantity string) (string, error) {
			names, err := metricnames.Lookup(metricnames.Server(server), metricnames.Quantity(quantity))
			if err != nil {
				return "", err
			}
			return names[0], nil
		},
		"metrics": func(server, quantity string) ([]string, error) {
			return metricnames.Lookup(metricnames.Server(server), metricnames.Quantity(quantity))
		},
		"node": nodeLabel,
		"box":  boxLabel,
		// seconds renders a duration as a PromQL number of seconds.
		"seconds": func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'g', -1, 64) },
		// promDuration renders a duration the way rule files write `for`.
		"promDuration": func(d time.Duration) string { return model.Duration(d).String() },
		// human renders a duration for annotations ("5s", "100ms", "2m", "2.5s").
		"human": func(d time.Duration) string {
			if d > time.Second && d%time.Second != 0 {
				return d.String()
			}
			return model.Duration(d).String()
		},
		// add1 and sub1 render 1 ± a tolerance for a PromQL comparison.
		"add1":   func(r float64) string { return strconv.FormatFloat(1+r, 'g', -1, 64) },
		"sub1":   func(r float64) string { return strconv.FormatFloat(1-r, 'g', -1, 64) },
		"mean5m": mean5m,
		// The latency alerts' diagnosis and runbook_url annotations, for the
		// alert's own row (rules/cause).
		"diagnosisAnnotation": func() string { return cause.Annotation(cause.RowSelector) },
		"runbookAnnotation":   func() string { return cause.RunbookURL(cause.RowSelector) },
		"kneeBands":           kneeBands,
		"kneeInBand":          kneeInBand,
		// percent renders a 0–1 ratio as a percentage for annotations.
		"percent": func(r float64) string { return strconv.FormatFloat(r*100, 'g', -1, 64) + "%" },
	}
}

// aggregate brings a server's series down to the four unified labels
// (instance, job, model, plus by, e.g. "le"), using op (sum or max). It also
// keeps `host`, the external label of the tokenpath a series came from: a
// tokenpath's own series have none (external labels are added on the way
// out), but the same rules evaluated centrally, on series remote-written or
// federated from many tokenpaths, must keep every host apart.
//
//   - vllm: model_name becomes model; engine (data-parallel rank) and every other
//     label are aggregated away.
//   - sglang: as vllm, but tensor/pipeline ranks (which may each report the same
//     numbers) are first collapsed with max so they are not counted twice.
//   - tgi, llamacpp: no model label of their own; a `model` target label from
//     the scrape config is kept, otherwise model is empty.
//
// label_replace runs on the raw series, not after a first sum by model_name:
// with one engine per model that sum shrinks nothing, and the measured
// aggregate-first form was slower (BenchmarkAggregateForms, docs/benchmarks.md
// "Rule evaluation cost"); the rate under label_replace is the cost either way.
func aggregate(server, op, by, expr string) (string, error) {
	if op != "sum" && op != "max" {
		return "", fmt.Errorf("unknown aggregation %q (want sum or max)", op)
	}
	labels := "host, instance, job, model"
	if by != "" {
		labels += ", " + by
	}
	const withModel = `label_replace(%s, "model", "$1", "model_name", "(.+)")`
	switch server {
	case "vllm":
		return fmt.Sprintf("%s by (%s) (%s)", op, labels, fmt.Sprintf(withModel, expr)), nil
	case "sglang":
		return fmt.Sprintf("%s by (%s) (max without (tp_rank, pp_rank, attn_tp_rank, moe_ep_rank) (%s))",
			op, labels, fmt.Sprintf(withModel, expr)), nil
	case "tgi", "llamacpp":
		return fmt.Sprintf("%s by (%s) (%s)", op, labels, expr), nil
	default:
		return "", fmt.Errorf("unknown server kind %q (want vllm, sglang, tgi or llamacpp)", server)
	}
}

// nodeLabel adds a `node` label to expr: the instance without its port, with
// the loopback spellings folded into "localhost" so that a GPU exported by
// tokenpath on localhost:9090 matches a vLLM scraped at 127.0.0.1:8000. (It
// is not called `host`: that is the external label naming the tokenpath.)
func nodeLabel(expr string) string { return machineLabel("node", expr) }

// boxLabel is nodeLabel under the name diagnosis_box, for joins that must
// leave a `node` label the series already carry untouched.
func boxLabel(expr string) string { return machineLabel("diagnosis_box", expr) }

// machineLabel sets label to the machine of the instance label (see
// nodeLabel).
func machineLabel(label, expr string) string {
	inner := fmt.Sprintf("label_replace(%s, %q, \"$1\", \"instance\", `(.+?)(?::[0-9]+)?`)", expr, label)
	return fmt.Sprintf("label_replace(%s, %q, \"localhost\", %q, `127\\.0\\.0\\.1|\\[::1\\]|::1|localhost`)", inner, label, label)
}

// mean5m is a row's mean seconds per request of quantity q over 5 minutes:
// the 1m rates of its sum and count averaged over 5m, divided.
func mean5m(q, row string) string {
	avg := func(part string) string {
		return fmt.Sprintf(`max by (%s) (avg_over_time(tokenpath:%s_seconds_%s:rate1m{server=~"vllm|tgi|sglang|llamacpp"}[5m]))`, row, q, part)
	}
	return fmt.Sprintf("(%s / on (%s) (%s > 0))", avg("sum"), row, avg("count"))
}

// kneeBands are the KV-usage bands of the knee estimate, lower edge → upper
// edge ("" for the last, open band): one low-usage band below 50%, where
// the cache does not limit admission, then 5-point bands up to full.
func kneeBands() []pair {
	edges := []string{"0", "0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95"}
	bands := make([]pair, len(edges))
	for i, lo := range edges {
		hi := ""
		if i+1 < len(edges) {
			hi = edges[i+1]
		}
		bands[i] = pair{lo, hi}
	}
	return bands
}

// kneeInBand is the subquery of a row's p99 TTFT at each minute of window
// in which its KV usage was in band b.
func kneeInBand(b pair, row string, window time.Duration) string {
	cond := fmt.Sprintf("max by (%s) (tokenpath:kv_cache_usage:ratio) >= %s", row, b.Key)
	if b.Value != "" {
		cond += " < " + b.Value
	}
	return fmt.Sprintf("(tokenpath:diagnosis_ttft_tail:seconds and on (%s) (%s))[%s:1m]", row, cond, model.Duration(window))
}
