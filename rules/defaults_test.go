package rules

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// TestDefaultRuleFilesParse checks the five embedded files: every one
// passes rulefmt.Parse, has the expected groups, and promtool's check
// counts its rules.
func TestDefaultRuleFilesParse(t *testing.T) {
	files, err := DefaultRuleFiles(DefaultThresholds())
	require.NoError(t, err)
	require.Len(t, files, 5)

	cases := []struct {
		file   string
		groups []string
		alerts []string
	}{
		{TokenPathRuleFile, []string{"tokenpath.token_path"}, nil},
		{GPURuleFile, []string{"tokenpath.gpu"}, nil},
		{DiagnosisRuleFile, []string{"tokenpath.diagnosis", "tokenpath.energy", "tokenpath.kv_cache_knee"}, nil},
		{AlertRuleFile, []string{"tokenpath.alerts"}, []string{"HighTTFT", "CriticalTTFT", "HighITL", "KVCacheNearKnee", "MemoryBound", "GPUMemoryExhaustion", "InferenceTargetDown"}},
		{LongRangeRuleFile, []string{"tokenpath.long_range"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			rgs, errs := rulefmt.Parse(files[tc.file], false, model.UTF8Validation, parser.NewParser(parser.Options{}), nil)
			require.Empty(t, errs)
			var groups, alerts []string
			count := 0
			for _, g := range rgs.Groups {
				groups = append(groups, g.Name)
				count += len(g.Rules)
				for _, r := range g.Rules {
					if r.Alert != "" {
						alerts = append(alerts, r.Alert)
						continue
					}
					require.True(t, strings.HasPrefix(r.Record, "tokenpath:"), "record %s", r.Record)
				}
			}
			require.Equal(t, tc.groups, groups)
			require.Equal(t, tc.alerts, alerts)

			// The same file on disk passes the promtool-style check.
			p := filepath.Join(t.TempDir(), tc.file)
			require.NoError(t, os.WriteFile(p, files[tc.file], 0o600))
			var out bytes.Buffer
			require.NoError(t, CheckRuleFiles(&out, p))
			require.Equal(t, "Checking "+p+"\n  SUCCESS: "+strconv.Itoa(count)+" rules found\n\n", out.String())
		})
	}
}

// TestThresholdsRender checks that overridden thresholds and `for`
// durations land in the alert file and that zero fields take the defaults.
func TestThresholdsRender(t *testing.T) {
	cases := []struct {
		name string
		in   Thresholds
		want []string
	}{
		{
			name: "defaults",
			in:   Thresholds{},
			want: []string{
				`estimate=""} > 5` + "\n        for: 5m\n",
				`estimate=""} > 10` + "\n        for: 2m\n",
				`{quantile="0.99"} > 0.1` + "\n        for: 5m\n",
				"tokenpath:gpu_vram_usage:ratio > 0.9\n",
				"(tokenpath:gpu_sm_activity:ratio < 0.5)",
				"for: 10m\n",
				"tokenpath:gpu_vram_usage:ratio > 0.95\n        for: 5m\n",
			},
		},
		{
			name: "overrides",
			in: Thresholds{
				TTFTWarning: 2500 * time.Millisecond, TTFTCritical: 7 * time.Second, ITLWarning: 80 * time.Millisecond,
				VRAMHighRatio: 0.85, ComputeLowRatio: 0.3, VRAMCriticalRatio: 0.98,
				For: 90 * time.Second, MemoryBoundFor: 15 * time.Minute,
			},
			want: []string{
				`estimate=""} > 2.5` + "\n        for: 1m30s\n",
				// For set alone replaces CriticalTTFT's default 2m as well.
				`estimate=""} > 7` + "\n        for: 1m30s\n",
				`{quantile="0.99"} > 0.08` + "\n        for: 1m30s\n",
				"tokenpath:gpu_vram_usage:ratio > 0.85\n",
				"(tokenpath:gpu_sm_activity:ratio < 0.3)",
				"for: 15m\n",
				"tokenpath:gpu_vram_usage:ratio > 0.98\n        for: 1m30s\n",
				"the warning threshold is 2.5s for 1m30s",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files, err := DefaultRuleFiles(tc.in)
			require.NoError(t, err)
			alerts := string(files[AlertRuleFile])
			for _, w := range tc.want {
				require.Contains(t, alerts, w)
			}
		})
	}
}

// TestThresholdsValidate rejects thresholds that cannot make sense.
func TestThresholdsValidate(t *testing.T) {
	cases := []struct {
		name    string
		in      Thresholds
		wantErr string
	}{
		{"zero is defaults", Thresholds{}, ""},
		{"defaults", DefaultThresholds(), ""},
		{"negative duration", Thresholds{TTFTWarning: -time.Second}, "TTFTWarning is negative"},
		{"sub-millisecond for", Thresholds{For: time.Microsecond}, "For (1µs) is not a whole number of milliseconds"},
		{"ratio above 1", Thresholds{VRAMCriticalRatio: 95}, "VRAMCriticalRatio is 95, want a ratio between 0 and 1"},
		{"negative ratio", Thresholds{GPUBusyRatio: -0.1}, "GPUBusyRatio is -0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate()
			_, renderErr := DefaultRuleFiles(tc.in)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NoError(t, renderErr)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
			require.ErrorContains(t, renderErr, tc.wantErr)
			// Named for the user: the thresholds, not a Go source file.
			require.ErrorContains(t, err, "invalid thresholds of the embedded rules: ")
			require.NotContains(t, err.Error(), ".go")
		})
	}
}

// TestRenderErrorsNameTheRuleFile: a template that asks for a server name
// metricnames lacks, or an unknown server kind, fails with the rule file,
// its template line and the name at fault, and no Go source file.
func TestRenderErrorsNameTheRuleFile(t *testing.T) {
	cases := []struct {
		name, expr string
		want       []string
	}{
		{
			"unknown quantity", `[[ metric "vllm" "ttft_typo" ]]`,
			[]string{"rendering the embedded rule file token_path.rules.yml: ", "token_path.rules.yml.tmpl:5:", `server kind "vllm" reports no "ttft_typo" in metricnames`},
		},
		{
			"unknown server", `[[ agg "triton" "sum" "" "up" ]]`,
			[]string{"rendering the embedded rule file token_path.rules.yml: ", "token_path.rules.yml.tmpl:5:", `unknown server kind "triton" (want vllm, sglang, tgi or llamacpp)`},
		},
		{
			"invalid PromQL", `rate(up[1m]`,
			[]string{"the embedded rule file token_path.rules.yml, rendered, is not a valid rule file: ", "could not parse expression"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, name := range ruleFileOrder {
				fsys["defaults/"+name+".tmpl"] = &fstest.MapFile{Data: []byte("groups: []\n")}
			}
			fsys["defaults/"+TokenPathRuleFile+".tmpl"] = &fstest.MapFile{Data: []byte(
				"groups:\n  - name: g\n    rules:\n      - record: r\n        expr: " + tc.expr + "\n")}
			_, err := renderRuleFiles(fsys, templateData{Thresholds: DefaultThresholds().withDefaults()})
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			require.NotContains(t, err.Error(), ".go")
		})
	}
}
