package main

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ritwikareddykancharla/token-path-observability/rules"
	"github.com/ritwikareddykancharla/token-path-observability/rules/slo"
)

// ruleFlags are the flags that shape the embedded rule files: which load,
// their thresholds and `for` durations, the SLO target and the probes'
// client-versus-server gap. They are registered on both the server and
// `tokenpath rules export`, and both render the files with files(), so the
// rules a central Prometheus evaluates are the ones tokenpath would.
type ruleFlags struct {
	defaults     bool
	thresholds   rules.Thresholds
	sloEnabled   bool
	sloTarget    float64
	gapThreshold time.Duration
	gapFor       time.Duration
}

func (r *ruleFlags) register(cmd *kingpin.CmdClause) {
	d := rules.DefaultThresholds()
	cmd.Flag("rules.defaults", "Load the embedded rules: the token-path recording rules, the built-in alerts, the probe and SLO rules (--no-rules.defaults turns them all off; your rule_files still load).").Default("true").BoolVar(&r.defaults)
	cmd.Flag("alert.ttft-warning", "HighTTFT fires when p99 time to first token is above this.").Default(d.TTFTWarning.String()).DurationVar(&r.thresholds.TTFTWarning)
	cmd.Flag("alert.ttft-critical", "CriticalTTFT fires when p99 time to first token is above this.").Default(d.TTFTCritical.String()).DurationVar(&r.thresholds.TTFTCritical)
	cmd.Flag("alert.itl-warning", "HighITL fires when p99 inter-token latency is above this.").Default(d.ITLWarning.String()).DurationVar(&r.thresholds.ITLWarning)
	cmd.Flag("alert.vram-high", "MemoryBound's VRAM condition, as a ratio of total VRAM (0-1).").Default(ratio(d.VRAMHighRatio)).Float64Var(&r.thresholds.VRAMHighRatio)
	cmd.Flag("alert.compute-low", "MemoryBound's SM-activity condition (0-1).").Default(ratio(d.ComputeLowRatio)).Float64Var(&r.thresholds.ComputeLowRatio)
	cmd.Flag("alert.vram-critical", "GPUMemoryExhaustion fires above this ratio of total VRAM (0-1).").Default(ratio(d.VRAMCriticalRatio)).Float64Var(&r.thresholds.VRAMCriticalRatio)
	cmd.Flag("slo.enable", "Generate the SLO rules (multi-window multi-burn-rate alerts, attainment, goodput) for TTFT and ITL, on the probes and on the servers' own histograms.").Default("true").BoolVar(&r.sloEnabled)
	cmd.Flag("slo.target", "Share of requests that must meet the TTFT (--alert.ttft-warning) and ITL (--alert.itl-warning) objectives over 30 days.").Default(ratio(slo.DefaultTarget)).Float64Var(&r.sloTarget)
	cmd.Flag("probe.gap-threshold", "TokenPathClientServerGap fires when the probes' median TTFT exceeds the server's own by this much (time spent in front of the engine).").Default(slo.DefaultGapThreshold.String()).DurationVar(&r.gapThreshold)
	cmd.Flag("probe.gap-for", "How long the client-versus-server gap must last before TokenPathClientServerGap fires.").Default(slo.DefaultGapFor.String()).DurationVar(&r.gapFor)
	r.registerDiagnosis(cmd, d)
	cmd.Flag("alert.for", "How long a condition must hold before the built-in alerts fire (0: each alert's own default: 5m, CriticalTTFT 2m, MemoryBound 10m, InferenceTargetDown 1m).").Default("0s").DurationVar(&r.thresholds.For)
}

// files renders the embedded rule files, file name → rule YAML: the
// token-path rules, the seed's alerts, and the probe and SLO rules; none
// with --no-rules.defaults.
func (r *ruleFlags) files() (map[string][]byte, error) {
	files := map[string][]byte{}
	if !r.defaults {
		return files, nil
	}
	if err := r.validateDiagnosis(); err != nil {
		return nil, err
	}
	defaults, err := rules.DefaultRuleFiles(r.thresholds)
	if err != nil {
		return nil, err
	}
	maps.Copy(files, defaults)
	// The bucket warnings are the caller's to report (the server logs them
	// per server kind that is really there).
	probeFiles, _, err := slo.RuleFilesWithOptions(r.objectives(), nil, r.sloOptions())
	if err != nil {
		return nil, err
	}
	maps.Copy(files, probeFiles)
	return files, nil
}

// objectives are the SLOs of the flags; none with --no-slo.enable or
// --no-rules.defaults.
func (r *ruleFlags) objectives() []slo.Objective {
	if !r.sloEnabled || !r.defaults {
		return nil
	}
	objectives := slo.DefaultObjectives(r.thresholds.TTFTWarning, r.thresholds.ITLWarning)
	for i := range objectives {
		objectives[i].Target = r.sloTarget
	}
	return objectives
}

func (r *ruleFlags) sloOptions() slo.Options {
	return slo.Options{GapThreshold: r.gapThreshold, GapFor: r.gapFor}
}

// diagnosisFlag is one flag of a diagnosis threshold (the Diagnosis… fields
// of rules.Thresholds, rules/README.md "Diagnosis"): its name, and the check
// of its value, which names the flag when it fails.
type diagnosisFlag struct {
	name  string
	check func() error
}

// diagnosisFlags are the diagnosis thresholds' flags, in the order of
// rules/README.md. register and validate both walk them.
func (r *ruleFlags) diagnosisFlags() []diagnosisFlag {
	t := &r.thresholds
	ratioIn := func(v *float64) func() error {
		return func() error {
			// 0 would silently mean the default (a zero field takes it).
			if math.IsNaN(*v) || *v <= 0 || *v > 1 {
				return fmt.Errorf("%v, want a ratio above 0 and at most 1", *v)
			}
			return nil
		}
	}
	above := func(v *float64, floor float64, orEqual bool, what string) func() error {
		return func() error {
			if math.IsNaN(*v) || *v < floor || (!orEqual && *v == floor) {
				return fmt.Errorf("%v, want %s", *v, what)
			}
			return nil
		}
	}
	positive := func(v *time.Duration, floor time.Duration) func() error {
		return func() error {
			if *v < floor || *v <= 0 {
				return fmt.Errorf("%s, want at least %s", *v, max(floor, time.Millisecond))
			}
			if *v%time.Millisecond != 0 {
				return fmt.Errorf("%s, want a whole number of milliseconds", *v)
			}
			return nil
		}
	}
	return []diagnosisFlag{
		{"diagnosis.restart-window", positive(&t.DiagnosisRestartWindow, 0)},
		{"diagnosis.front-gap", positive(&t.DiagnosisFrontGap, 0)},
		{"diagnosis.front-share", ratioIn(&t.DiagnosisFrontShare)},
		{"diagnosis.kv-ratio", ratioIn(&t.DiagnosisKVRatio)},
		{"diagnosis.queue-share", ratioIn(&t.DiagnosisQueueShare)},
		{"diagnosis.itl-spike-ratio", above(&t.DiagnosisITLSpikeRatio, 1, true, "1 or more (p99 ITL over p50)")},
		{"diagnosis.prompt-share", ratioIn(&t.DiagnosisPromptShare)},
		{"diagnosis.gpu-share", ratioIn(&t.DiagnosisGPUShare)},
		{"diagnosis.knee-window", positive(&t.DiagnosisKneeWindow, 20*time.Minute)},
		{"diagnosis.knee-factor", above(&t.DiagnosisKneeFactor, 1, false, "more than 1 (a band's p99 TTFT over the low-usage baseline)")},
		{"diagnosis.knee-headroom", ratioIn(&t.DiagnosisKneeHeadroom)},
		{"diagnosis.lifecycle-tolerance", ratioIn(&t.DiagnosisLifecycleTolerance)},
	}
}

// registerDiagnosis registers the diagnosis thresholds with the defaults d.
func (r *ruleFlags) registerDiagnosis(cmd *kingpin.CmdClause, d rules.Thresholds) {
	t := &r.thresholds
	help := map[string]string{
		"diagnosis.restart-window":      "A target that failed a scrape or whose counters reset within this window is diagnosed engine_restart.",
		"diagnosis.front-gap":           "front_of_engine needs the probes' mean TTFT to exceed the server's own by at least this.",
		"diagnosis.front-share":         "front_of_engine needs that gap to be at least this share of the probes' TTFT (0-1).",
		"diagnosis.kv-ratio":            "kv_cache_pressure needs KV-cache usage at or above this (0-1).",
		"diagnosis.queue-share":         "queue_saturation needs mean queue time to be at least this share of mean TTFT (0-1).",
		"diagnosis.itl-spike-ratio":     "prefill_interference needs p99 ITL to be at least this many times p50 ITL (1 or more).",
		"diagnosis.prompt-share":        "prefill_interference needs prompt tokens to be at least this share of the tokens processed (0-1).",
		"diagnosis.gpu-share":           "memory_bandwidth_bound / compute_bound need at least this share of the row's GPUs in that state (0-1).",
		"diagnosis.knee-window":         "How much stored history the KV-cache knee (tokenpath:kv_cache_knee:ratio) is estimated from (at least 20m).",
		"diagnosis.knee-factor":         "The knee is the lowest KV band whose p99 TTFT is more than this many times the low-usage baseline (more than 1).",
		"diagnosis.knee-headroom":       "KVCacheNearKnee fires when KV usage is less than this below the knee, or past it (0-1).",
		"diagnosis.lifecycle-tolerance": "tokenpath:lifecycle_inconsistent is 1 when e2e / (queue + prefill + decode) is further than this from 1 (0-1).",
	}
	durations := map[string]struct {
		v   *time.Duration
		def time.Duration
	}{
		"diagnosis.restart-window": {&t.DiagnosisRestartWindow, d.DiagnosisRestartWindow},
		"diagnosis.front-gap":      {&t.DiagnosisFrontGap, d.DiagnosisFrontGap},
		"diagnosis.knee-window":    {&t.DiagnosisKneeWindow, d.DiagnosisKneeWindow},
	}
	floats := map[string]struct {
		v   *float64
		def float64
	}{
		"diagnosis.front-share":         {&t.DiagnosisFrontShare, d.DiagnosisFrontShare},
		"diagnosis.kv-ratio":            {&t.DiagnosisKVRatio, d.DiagnosisKVRatio},
		"diagnosis.queue-share":         {&t.DiagnosisQueueShare, d.DiagnosisQueueShare},
		"diagnosis.itl-spike-ratio":     {&t.DiagnosisITLSpikeRatio, d.DiagnosisITLSpikeRatio},
		"diagnosis.prompt-share":        {&t.DiagnosisPromptShare, d.DiagnosisPromptShare},
		"diagnosis.gpu-share":           {&t.DiagnosisGPUShare, d.DiagnosisGPUShare},
		"diagnosis.knee-factor":         {&t.DiagnosisKneeFactor, d.DiagnosisKneeFactor},
		"diagnosis.knee-headroom":       {&t.DiagnosisKneeHeadroom, d.DiagnosisKneeHeadroom},
		"diagnosis.lifecycle-tolerance": {&t.DiagnosisLifecycleTolerance, d.DiagnosisLifecycleTolerance},
	}
	for _, f := range r.diagnosisFlags() {
		if dur, ok := durations[f.name]; ok {
			cmd.Flag(f.name, help[f.name]).Default(dur.def.String()).SetValue(&namedDuration{f.name, dur.v})
			continue
		}
		fl := floats[f.name]
		cmd.Flag(f.name, help[f.name]).Default(ratio(fl.def)).SetValue(&namedFloat{f.name, fl.v})
	}
}

// validateDiagnosis checks every diagnosis flag and names the flag at
// fault (rules.Thresholds.Validate would name only the field).
func (r *ruleFlags) validateDiagnosis() error {
	var errs []error
	for _, f := range r.diagnosisFlags() {
		if err := f.check(); err != nil {
			errs = append(errs, fmt.Errorf("--%s=%w", f.name, err))
		}
	}
	return errors.Join(errs...)
}

// namedFloat is a float flag whose parse error names the flag (kingpin's
// own says only "strconv.ParseFloat: … invalid syntax").
type namedFloat struct {
	name string
	v    *float64
}

func (f *namedFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("--%s=%q: not a number", f.name, s)
	}
	*f.v = v
	return nil
}

func (f *namedFloat) String() string { return ratio(*f.v) }

// namedDuration is namedFloat for durations.
type namedDuration struct {
	name string
	v    *time.Duration
}

func (f *namedDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("--%s=%q: not a duration (e.g. 10m, 1.5s)", f.name, s)
	}
	*f.v = v
	return nil
}

func (f *namedDuration) String() string { return f.v.String() }
