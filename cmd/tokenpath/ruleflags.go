package main

import (
	"maps"
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
