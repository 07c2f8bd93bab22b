package main

import (
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/rules"
)

// parseRuleFlags registers the rule flags on a fresh command and parses
// args, as the server and `rules export` do.
func parseRuleFlags(t *testing.T, args ...string) *ruleFlags {
	t.Helper()
	app := kingpin.New("tokenpath", "")
	app.Terminate(nil)
	var r ruleFlags
	r.register(app.Command("run", ""))
	_, err := app.Parse(append([]string{"run"}, args...))
	require.NoError(t, err)
	return &r
}

// TestDiagnosisFlagDefaults: without flags the diagnosis thresholds are the
// rules package's defaults, and they validate.
func TestDiagnosisFlagDefaults(t *testing.T) {
	r := parseRuleFlags(t)
	d := rules.DefaultThresholds()
	got := r.thresholds
	require.Equal(t, d.DiagnosisRestartWindow, got.DiagnosisRestartWindow)
	require.Equal(t, d.DiagnosisFrontGap, got.DiagnosisFrontGap)
	require.Equal(t, d.DiagnosisKneeWindow, got.DiagnosisKneeWindow)
	for name, pair := range map[string][2]float64{
		"front-share":         {d.DiagnosisFrontShare, got.DiagnosisFrontShare},
		"kv-ratio":            {d.DiagnosisKVRatio, got.DiagnosisKVRatio},
		"queue-share":         {d.DiagnosisQueueShare, got.DiagnosisQueueShare},
		"itl-spike-ratio":     {d.DiagnosisITLSpikeRatio, got.DiagnosisITLSpikeRatio},
		"prompt-share":        {d.DiagnosisPromptShare, got.DiagnosisPromptShare},
		"gpu-share":           {d.DiagnosisGPUShare, got.DiagnosisGPUShare},
		"knee-factor":         {d.DiagnosisKneeFactor, got.DiagnosisKneeFactor},
		"knee-headroom":       {d.DiagnosisKneeHeadroom, got.DiagnosisKneeHeadroom},
		"lifecycle-tolerance": {d.DiagnosisLifecycleTolerance, got.DiagnosisLifecycleTolerance},
	} {
		require.Equal(t, pair[0], pair[1], name)
	}
	require.NoError(t, r.validateDiagnosis())
}

// TestDiagnosisFlagsRender: each flag's value lands in the rendered rules.
func TestDiagnosisFlagsRender(t *testing.T) {
	r := parseRuleFlags(t,
		"--diagnosis.kv-ratio=0.8", "--diagnosis.queue-share=0.6", "--diagnosis.front-gap=1500ms",
		"--diagnosis.restart-window=15m", "--diagnosis.knee-window=12h", "--diagnosis.knee-factor=1.5",
		"--diagnosis.knee-headroom=0.1", "--diagnosis.lifecycle-tolerance=0.3", "--diagnosis.itl-spike-ratio=6",
		"--diagnosis.prompt-share=0.7", "--diagnosis.gpu-share=0.75", "--diagnosis.front-share=0.4",
	)
	require.Equal(t, 12*time.Hour, r.thresholds.DiagnosisKneeWindow)
	files, err := r.files()
	require.NoError(t, err)
	diagnosis := string(files[rules.DiagnosisRuleFile])
	for _, want := range []string{
		"(tokenpath:kv_cache_usage:ratio >= 0.8)",
		"tokenpath:diagnosis_queue_share:ratio >= 0.6",
		"tokenpath:diagnosis_front_gap:seconds >= 1.5",
		"tokenpath:diagnosis_front_share:ratio >= 0.4",
		"resets(vllm:request_success_total[15m])",
		"[12h:1m]",
		"group_left 1.5 * tokenpath:kv_cache_knee_baseline:seconds",
		"tokenpath:lifecycle_consistency:ratio < 0.7",
		"tokenpath:lifecycle_consistency:ratio > 1.3",
		"tokenpath:diagnosis_itl_spike:ratio >= 6",
		"tokenpath:diagnosis_prompt_share:ratio >= 0.7",
		"tokenpath:diagnosis_gpu_memory_bound:ratio >= 0.75",
	} {
		require.Contains(t, diagnosis, want)
	}
	require.Contains(t, string(files[rules.AlertRuleFile]), "tokenpath:kv_cache_headroom:ratio < 0.1")
}

// TestDiagnosisFlagErrors: a bad value is an error naming the flag and the
// value, from the same files() the server and `rules export` call.
func TestDiagnosisFlagErrors(t *testing.T) {
	cases := []struct {
		arg, want string
	}{
		{"--diagnosis.kv-ratio=1.5", "--diagnosis.kv-ratio=1.5, want a ratio above 0 and at most 1"},
		{"--diagnosis.kv-ratio=0", "--diagnosis.kv-ratio=0, want a ratio above 0 and at most 1"},
		{"--diagnosis.queue-share=-0.1", "--diagnosis.queue-share=-0.1, want a ratio above 0 and at most 1"},
		{"--diagnosis.front-share=NaN", "--diagnosis.front-share=NaN, want a ratio above 0 and at most 1"},
		{"--diagnosis.itl-spike-ratio=0.5", "--diagnosis.itl-spike-ratio=0.5, want 1 or more (p99 ITL over p50)"},
		{"--diagnosis.knee-factor=1", "--diagnosis.knee-factor=1, want more than 1"},
		{"--diagnosis.knee-window=10m", "--diagnosis.knee-window=10m0s, want at least 20m0s"},
		{"--diagnosis.restart-window=0s", "--diagnosis.restart-window=0s, want at least 1ms"},
		{"--diagnosis.front-gap=1500us", "--diagnosis.front-gap=1.5ms, want a whole number of milliseconds"},
		{"--diagnosis.lifecycle-tolerance=2", "--diagnosis.lifecycle-tolerance=2, want a ratio above 0 and at most 1"},
		{"--diagnosis.knee-headroom=1.01", "--diagnosis.knee-headroom=1.01, want a ratio above 0 and at most 1"},
		{"--diagnosis.gpu-share=3", "--diagnosis.gpu-share=3, want a ratio above 0 and at most 1"},
		{"--diagnosis.prompt-share=0", "--diagnosis.prompt-share=0, want a ratio above 0 and at most 1"},
	}
	for _, tc := range cases {
		t.Run(tc.arg, func(t *testing.T) {
			r := parseRuleFlags(t, tc.arg)
			_, err := r.files()
			require.ErrorContains(t, err, tc.want)
		})
	}
	// A value that is not a number fails the parse, naming the flag too.
	app := kingpin.New("tokenpath", "")
	var r ruleFlags
	r.register(app.Command("run", ""))
	_, err := app.Parse([]string{"run", "--diagnosis.kv-ratio=lots"})
	require.ErrorContains(t, err, `--diagnosis.kv-ratio="lots": not a number`)
	_, err = app.Parse([]string{"run", "--diagnosis.knee-window=a day"})
	require.ErrorContains(t, err, `--diagnosis.knee-window="a day": not a duration`)
	// Without the embedded rules nothing is rendered, so nothing is checked.
	off := parseRuleFlags(t, "--no-rules.defaults", "--diagnosis.kv-ratio=7")
	files, err := off.files()
	require.NoError(t, err)
	require.Empty(t, files)
}
