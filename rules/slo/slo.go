// Package slo generates tokenpath's rules on the streaming probes and its
// latency SLOs: the probe's latencies mapped onto the unified token-path
// series (server="probe"), the client-versus-server TTFT gap and its alert,
// and TTFT and ITL/TPOT objectives per server instance and model with
// multi-window, multi-burn-rate alerts in the style of Sloth and Pyrra
// (Google SRE workbook), attainment, the share of each window that holds
// data, remaining error budget and goodput.
//
// A probe belongs to the server it probed: the host:port of its target
// becomes `instance` before any aggregation, so replicas of one model keep
// their own gap, SLO series and alerts.
//
// Good events are counted from histogram buckets with histogram_fraction
// at a bucket boundary, so nothing is interpolated: a threshold that falls
// between a histogram's boundaries is moved to the nearest boundary and
// RuleFiles returns a warning that says so.
package slo

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// Indicators an Objective can measure.
const (
	// IndicatorTTFT is time to first token, one event per request (probe:
	// per probe, errors count as bad).
	IndicatorTTFT = "ttft"
	// IndicatorITL is inter-token latency, one event per gap: the server's
	// inter-token histogram (measure="itl"), or every gap between the
	// probe's text chunks.
	IndicatorITL = "itl"
	// IndicatorTPOT is the probe's time per output token, one event per
	// probe (errors and probes without usage count as bad). Probe only.
	IndicatorTPOT = "tpot"
)

// Sources of an Objective's events.
const (
	// SourceProbe counts tokenpath's own streaming probes (client side).
	SourceProbe = "probe"
	// SourceServer counts the servers' own histograms through the unified
	// tokenpath:*_seconds_bucket:rate1m series.
	SourceServer = "server"
)

// File names returned by RuleFiles.
const (
	// ProbeRuleFile maps the probe series onto the unified series and holds
	// the client-versus-server gap rules and alert.
	ProbeRuleFile = "probe.rules.yml"
	// SLORuleFile holds the SLO recording and alerting rules.
	SLORuleFile = "slo.rules.yml"
)

// Alert names.
const (
	// AlertClientServerGap fires when the probe's median TTFT of a server
	// exceeds that server's own median TTFT (same instance and model) by
	// more than the gap threshold: time spent in front of the engine.
	AlertClientServerGap = "TokenPathClientServerGap"
	// AlertFastBurn is the page: the 1h/5m windows burn the error budget at
	// 14.4× or the 6h/30m windows at 6×.
	AlertFastBurn = "TokenPathSLOFastBurn"
	// AlertSlowBurn is the ticket: the 1d/2h windows burn at 3× or the 3d/6h
	// windows at 1×.
	AlertSlowBurn = "TokenPathSLOSlowBurn"
)

// Objective is one latency SLO.
type Objective struct {
	// Model restricts the objective to one model; empty applies it to every
	// model, each on its own. Either way every server instance has its own
	// series (the series carry `instance` and `model`).
	Model string
	// Indicator is IndicatorTTFT, IndicatorITL or IndicatorTPOT.
	Indicator string
	// Threshold is the latency a good event stays at or under (inclusive).
	Threshold time.Duration
	// Target is the share of good events the objective promises, in (0, 1),
	// over a 30-day period.
	Target float64
	// Source is SourceServer or SourceProbe.
	Source string
}

// Name is the `slo` label of the objective's series, such as
// "probe-ttft-5s".
func (o Objective) Name() string {
	return o.Source + "-" + o.Indicator + "-" + o.Threshold.String()
}

// DefaultTarget is the target of DefaultObjectives.
const DefaultTarget = 0.99

// DefaultObjectives returns the seed's thresholds as SLOs for every model,
// measured by the probes and by the servers: TTFT ≤ ttft and ITL ≤ itl for
// 99% of events. Zero arguments take the seed's 5 s and 100 ms.
func DefaultObjectives(ttft, itl time.Duration) []Objective {
	if ttft <= 0 {
		ttft = 5 * time.Second
	}
	if itl <= 0 {
		itl = 100 * time.Millisecond
	}
	var out []Objective
	for _, src := range []string{SourceProbe, SourceServer} {
		out = append(out,
			Objective{Indicator: IndicatorTTFT, Threshold: ttft, Target: DefaultTarget, Source: src},
			Objective{Indicator: IndicatorITL, Threshold: itl, Target: DefaultTarget, Source: src},
		)
	}
	return out
}

// DefaultServerBuckets returns the default classic-histogram boundaries of
// each server's TTFT and inter-token histograms, keyed "server:indicator"
// (vllm:ttft, vllm:itl, sglang:ttft, sglang:itl). TGI has no TTFT histogram
// and its time per token includes prefill (measure="tpot"), so it has no ITL
// SLO; llama.cpp has no latency histograms.
func DefaultServerBuckets() map[string][]float64 {
	return map[string][]float64{
		"vllm:ttft":   {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0},
		"vllm:itl":    {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0},
		"sglang:ttft": {0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400},
		"sglang:itl":  {0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040, 0.060, 0.080, 0.100, 0.200, 0.400, 0.600, 0.800, 1.000, 2.000, 4.000, 6.000, 8.000},
	}
}

// Options tune RuleFilesWithOptions. Zero fields take defaults.
type Options struct {
	// GapThreshold fires TokenPathClientServerGap when the probe's median
	// TTFT is this much above the server's own (default 1s).
	GapThreshold time.Duration
	// GapFor is how long the gap must last (default 10m).
	GapFor time.Duration
}

// DefaultGapThreshold and DefaultGapFor are Options' defaults.
const (
	DefaultGapThreshold = time.Second
	DefaultGapFor       = 10 * time.Minute
)

// RuleFiles is RuleFilesWithOptions with default Options.
func RuleFiles(objs []Objective, serverBuckets map[string][]float64) (map[string][]byte, []string, error) {
	return RuleFilesWithOptions(objs, serverBuckets, Options{})
}

// RuleFilesWithOptions returns file name → rule YAML (ProbeRuleFile and,
// with objectives, SLORuleFile), each checked with rulefmt.Parse, and
// warnings for thresholds that are not bucket boundaries. serverBuckets
// (keyed "server:indicator", may be nil) overrides DefaultServerBuckets key
// by key with the boundaries the scraped servers really expose; a server
// with an empty list is left out.
func RuleFilesWithOptions(objs []Objective, serverBuckets map[string][]float64, o Options) (map[string][]byte, []string, error) {
	if o.GapThreshold == 0 {
		o.GapThreshold = DefaultGapThreshold
	}
	if o.GapFor == 0 {
		o.GapFor = DefaultGapFor
	}
	if o.GapThreshold < 0 || o.GapFor < 0 {
		return nil, nil, fmt.Errorf("slo: negative gap threshold (%s) or duration (%s)", o.GapThreshold, o.GapFor)
	}
	if err := validate(objs); err != nil {
		return nil, nil, err
	}
	buckets := DefaultServerBuckets()
	for k, v := range serverBuckets {
		if !strings.Contains(k, ":") {
			return nil, nil, fmt.Errorf("slo: server bucket key %q is not server:indicator (such as vllm:ttft)", k)
		}
		buckets[k] = slices.Sorted(slices.Values(v))
	}

	files := map[string][]byte{}
	probeFile, err := render(probeRules(o), "the probe's unified series and the client-server gap")
	if err != nil {
		return nil, nil, err
	}
	files[ProbeRuleFile] = probeFile
	if len(objs) == 0 {
		return files, nil, nil
	}
	var (
		groups   []group
		warnings []string
	)
	for _, obj := range objs {
		g, w := sloGroup(obj, buckets)
		groups = append(groups, g)
		warnings = append(warnings, w...)
	}
	sloFile, err := render(groups, "latency SLOs: error ratios over the burn-rate windows, attainment, budget, goodput, burn-rate alerts")
	if err != nil {
		return nil, nil, err
	}
	files[SLORuleFile] = sloFile
	return files, warnings, nil
}

// validate checks every objective and that no two write the same series.
func validate(objs []Objective) error {
	var errs []error
	for i, o := range objs {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("objective %d (%s): %s", i, o.Name(), fmt.Sprintf(format, args...)))
		}
		switch o.Source {
		case SourceProbe, SourceServer:
		default:
			fail("source %q is not %q or %q", o.Source, SourceProbe, SourceServer)
		}
		switch o.Indicator {
		case IndicatorTTFT, IndicatorITL:
		case IndicatorTPOT:
			if o.Source != SourceProbe {
				fail("indicator tpot exists only for source probe (the servers' TPOT histograms differ: TGI's includes prefill)")
			}
		default:
			fail("indicator %q is not ttft, itl or tpot", o.Indicator)
		}
		if o.Threshold <= 0 {
			fail("threshold must be positive, got %s", o.Threshold)
		}
		if math.IsNaN(o.Target) || o.Target <= 0 || o.Target >= 1 {
			fail("target must be between 0 and 1 (exclusive), got %v", o.Target)
		}
		for j := range i {
			p := objs[j]
			if p.Name() == o.Name() && (p.Model == o.Model || p.Model == "" || o.Model == "") {
				fail("overlaps objective %d: same source, indicator and threshold for the same model", j)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("slo: invalid objectives: %w", err)
	}
	return nil
}

// Rule file shapes, marshalled to YAML.
type (
	ruleFile struct {
		Groups []group `yaml:"groups"`
	}
	group struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval,omitempty"`
		Rules    []rule `yaml:"rules"`
	}
	rule struct {
		Record      string            `yaml:"record,omitempty"`
		Alert       string            `yaml:"alert,omitempty"`
		Expr        string            `yaml:"expr"`
		For         string            `yaml:"for,omitempty"`
		Labels      map[string]string `yaml:"labels,omitempty"`
		Annotations map[string]string `yaml:"annotations,omitempty"`
	}
)

// render marshals groups under a header comment and checks the result the
// way the rule manager will.
func render(groups []group, what string) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# tokenpath: %s.\n# Generated by tokenpath's rules/slo package; see scrape/probe/README.md.\n", what)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(ruleFile{Groups: groups}); err != nil {
		return nil, fmt.Errorf("slo: encoding rules: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("slo: encoding rules: %w", err)
	}
	p := parser.NewParser(parser.Options{})
	if _, errs := rulefmt.Parse(buf.Bytes(), false, model.UTF8Validation, p, slog.New(slog.DiscardHandler)); len(errs) > 0 {
		return nil, fmt.Errorf("slo: generated rules do not parse: %w", errors.Join(errs...))
	}
	return buf.Bytes(), nil
}

// num formats a float for PromQL without float noise (0.01, not
// 0.010000000000000009).
func num(f float64) string {
	return strconv.FormatFloat(f, 'g', 12, 64)
}

// promDuration formats d for a rule's `for`.
func promDuration(d time.Duration) string {
	return model.Duration(d).String()
}

// nearestBoundary returns v when it is one of bounds (to 1e-9 relative),
// else the nearest boundary (the lower one on a tie, the stricter choice).
func nearestBoundary(v float64, bounds []float64) (float64, bool) {
	best, bestDist := math.NaN(), math.Inf(1)
	for _, b := range bounds {
		if math.IsInf(b, 0) {
			continue
		}
		if math.Abs(b-v) <= 1e-9*math.Max(math.Abs(v), 1e-12) {
			return b, true
		}
		if d := math.Abs(b - v); d < bestDist {
			best, bestDist = b, d
		}
	}
	return best, false
}

// neighbours names the boundaries around v, for warnings.
func neighbours(v float64, bounds []float64) string {
	i := sort.SearchFloat64s(bounds, v)
	switch {
	case i == 0:
		return "below the first boundary " + num(bounds[0])
	case i == len(bounds):
		return "above the last boundary " + num(bounds[len(bounds)-1])
	default:
		return fmt.Sprintf("between %s and %s", num(bounds[i-1]), num(bounds[i]))
	}
}

// serverKinds returns the servers with boundaries for indicator, sorted.
func serverKinds(indicator string, buckets map[string][]float64) []string {
	var out []string
	for k, v := range buckets {
		server, ind, _ := strings.Cut(k, ":")
		if ind == indicator && len(v) > 0 {
			out = append(out, server)
		}
	}
	sort.Strings(out)
	return out
}
