package slo

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// probeLabels are the labels a probe series has after the built-in
// self-scrape (job tokenpath, server other).
const probeLabels = `job="tokenpath", instance="127.0.0.1:9090", server="other", target="http://127.0.0.1:8000", api="chat", target_server="vllm"`

// probeLabelsAt are probeLabels for a probe of target instead.
func probeLabelsAt(target string) string {
	return strings.Replace(probeLabels, `target="http://127.0.0.1:8000"`, fmt.Sprintf("target=%q", target), 1)
}

// probeSeries renders a probe's raw series as a load script: every interval
// `ok` probes complete, with cum[i] of them at or under les[i] seconds of
// TTFT (the last le must be +Inf, equal to ok) and sum seconds in all, and
// `timeouts` time out.
func probeSeries(model string, steps int, ok, timeouts float64, les []string, cum []float64, sum float64) string {
	return probeSeriesAt("http://127.0.0.1:8000", model, steps, ok, timeouts, les, cum, sum)
}

// probeSeriesAt is probeSeries for a probe of target.
func probeSeriesAt(target, model string, steps int, ok, timeouts float64, les []string, cum []float64, sum float64) string {
	var b strings.Builder
	l := fmt.Sprintf(`%s, model=%q`, probeLabelsAt(target), model)
	fmt.Fprintf(&b, "  tokenpath_probe_requests_total{%s, outcome=\"ok\", code=\"200\"} 0+%gx%d\n", l, ok, steps)
	if timeouts > 0 {
		fmt.Fprintf(&b, "  tokenpath_probe_requests_total{%s, outcome=\"timeout\", code=\"\"} 0+%gx%d\n", l, timeouts, steps)
	}
	if ok > 0 {
		for i, le := range les {
			fmt.Fprintf(&b, "  tokenpath_probe_ttft_seconds_bucket{%s, le=%q} 0+%gx%d\n", l, le, cum[i], steps)
		}
		fmt.Fprintf(&b, "  tokenpath_probe_ttft_seconds_count{%s} 0+%gx%d\n", l, ok, steps)
		fmt.Fprintf(&b, "  tokenpath_probe_ttft_seconds_sum{%s} 0+%gx%d\n", l, sum, steps)
	}
	return b.String()
}

// serverTTFT renders the unified per-bucket rates of one server's TTFT
// (constant rates: requests/s at or under each le).
func serverTTFT(server, model string, steps int, les []string, rates []float64, sumRate float64) string {
	return serverTTFTAt("127.0.0.1:8000", server, model, steps, les, rates, sumRate)
}

// serverTTFTAt is serverTTFT for the server scraped at instance.
func serverTTFTAt(instance, server, model string, steps int, les []string, rates []float64, sumRate float64) string {
	var b strings.Builder
	l := fmt.Sprintf(`server=%q, model=%q, instance=%q, job=%q`, server, model, instance, server)
	for i, le := range les {
		fmt.Fprintf(&b, "  tokenpath:ttft_seconds_bucket:rate1m{%s, le=%q} %gx%d\n", l, le, rates[i], steps)
	}
	fmt.Fprintf(&b, "  tokenpath:ttft_seconds_count:rate1m{%s} %gx%d\n", l, rates[len(rates)-1], steps)
	fmt.Fprintf(&b, "  tokenpath:ttft_seconds_sum:rate1m{%s} %gx%d\n", l, sumRate, steps)
	return b.String()
}

// TestRuleFiles checks that the default objectives produce files that the
// rule manager accepts, with the expected groups, records and alerts, and
// only the warning the default buckets call for.
func TestRuleFiles(t *testing.T) {
	t.Parallel()
	files, warnings, err := RuleFiles(DefaultObjectives(0, 0), nil)
	require.NoError(t, err)
	require.Len(t, files, 2)
	p := parser.NewParser(parser.Options{})
	records, alerts := map[string]bool{}, map[string]int{}
	var groups []string
	for _, name := range []string{ProbeRuleFile, SLORuleFile} {
		rgs, errs := rulefmt.Parse(files[name], false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
		require.Empty(t, errs, name)
		for _, g := range rgs.Groups {
			groups = append(groups, g.Name)
			if name == SLORuleFile {
				require.Equal(t, model.Duration(time.Minute), g.Interval, g.Name)
			} else {
				require.Zero(t, g.Interval, "the probe groups follow the global interval")
			}
			for _, r := range g.Rules {
				_, err := p.ParseExpr(r.Expr)
				require.NoError(t, err, r.Expr)
				if r.Record != "" {
					records[r.Record] = true
				} else {
					alerts[r.Alert]++
				}
			}
		}
	}
	require.Equal(t, []string{
		"tokenpath.probe", "tokenpath.probe_gap",
		"tokenpath.slo.probe-ttft-5s", "tokenpath.slo.probe-itl-100ms",
		"tokenpath.slo.server-ttft-5s", "tokenpath.slo.server-itl-100ms",
	}, groups)
	for _, r := range []string{
		"tokenpath:ttft_seconds:histogram_quantile", "tokenpath:itl_seconds:histogram_quantile",
		"tokenpath:e2e_seconds:histogram_quantile", "tokenpath:ttft_seconds_bucket:rate1m",
		"tokenpath:ttft_seconds:mean_rate1m", "tokenpath:request_errors:ratio_rate1m",
		"tokenpath:ttft_client_server_gap_seconds", "tokenpath:ttft_client_server_gap_seconds:mean_rate5m",
		"tokenpath:slo_errors:ratio_rate5m", "tokenpath:slo_errors:ratio_rate3d",
		"tokenpath:slo_attainment:ratio_rate1d", "tokenpath:slo_attainment:ratio_rate30d",
		"tokenpath:slo_error_budget_remaining:ratio", "tokenpath:slo_goodput:rate5m",
		"tokenpath:slo_objective:ratio", "tokenpath:slo_burn_rate:ratio_rate1h",
	} {
		require.True(t, records[r], "record %s", r)
	}
	require.Equal(t, map[string]int{AlertClientServerGap: 1, AlertFastBurn: 4, AlertSlowBurn: 4}, alerts)
	// SGLang has no 5 s TTFT bucket; every other default lines up.
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0], "server-ttft-5s")
	require.Contains(t, warnings[0], "sglang")
	require.Contains(t, warnings[0], "between 4 and 6")

	// Without objectives only the probe file comes back.
	files, warnings, err = RuleFiles(nil, nil)
	require.NoError(t, err)
	require.Len(t, files, 1)
	require.Contains(t, files, ProbeRuleFile)
	require.Empty(t, warnings)
}

// TestBucketWarnings checks the warning for a threshold between two bucket
// boundaries and that the rules use the nearest boundary, not the threshold.
func TestBucketWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		obj     Objective
		buckets map[string][]float64
		// want are substrings of the warnings, one entry per warning.
		want [][]string
		// use must appear in the SLO file, never must not.
		use, never []string
	}{
		{
			name: "vLLM has no 2 s TTFT bucket",
			obj:  Objective{Indicator: IndicatorTTFT, Threshold: 2 * time.Second, Target: 0.99, Source: SourceServer},
			want: [][]string{{"vllm", "between 1 and 2.5", "2.5 s", `use source "probe"`}},
			use: []string{
				`avg_over_time(tokenpath:ttft_seconds_bucket:rate1m{server="vllm", le="2.5"}`,
				// SGLang has a 2 s bucket.
				`avg_over_time(tokenpath:ttft_seconds_bucket:rate1m{server="sglang", le=~"2|2\\.0"}`,
			},
			never: []string{`avg_over_time(tokenpath:ttft_seconds_bucket:rate1m{server="vllm", le=~"2|2\\.0"}`},
		},
		{
			name:  "SGLang has no 5 s TTFT bucket: the stricter of 4 and 6",
			obj:   Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceServer},
			want:  [][]string{{"sglang", "between 4 and 6", "4 s"}},
			use:   []string{`avg_over_time(tokenpath:ttft_seconds_bucket:rate1m{server="sglang", le=~"4|4\\.0"}`},
			never: []string{`avg_over_time(tokenpath:ttft_seconds_bucket:rate1m{server="sglang", le=~"5|5\\.0"}`},
		},
		{
			name:    "scraped buckets override the defaults",
			obj:     Objective{Indicator: IndicatorITL, Threshold: 100 * time.Millisecond, Target: 0.99, Source: SourceServer},
			buckets: map[string][]float64{"vllm:itl": {0.08, 0.12, 0.2}, "sglang:itl": nil},
			want:    [][]string{{"vllm", "between 0.08 and 0.12", "0.12 s"}},
			use:     []string{`avg_over_time(tokenpath:itl_seconds_bucket:rate1m{server="vllm", measure="itl", le="0.12"}`},
			never:   []string{`server="sglang"`, `le="0.1"`},
		},
		{
			name: "a threshold on a boundary warns about nothing",
			obj:  Objective{Indicator: IndicatorITL, Threshold: 100 * time.Millisecond, Target: 0.99, Source: SourceServer},
			use:  []string{`avg_over_time(tokenpath:itl_seconds_bucket:rate1m{server="vllm", measure="itl", le="0.1"}`},
		},
		{
			name:  "the probe's own buckets",
			obj:   Objective{Indicator: IndicatorTTFT, Threshold: 3300 * time.Millisecond, Target: 0.99, Source: SourceProbe},
			want:  [][]string{{"probe-ttft-3.3s", "between 3 and 4", "3 s"}},
			use:   []string{`label_replace(rate(tokenpath_probe_ttft_seconds_bucket{le=~"3|3\\.0"}[5m])`},
			never: []string{`le="3.3"`},
		},
		{
			name:  "a threshold above the last bucket",
			obj:   Objective{Indicator: IndicatorTPOT, Threshold: 9 * time.Second, Target: 0.99, Source: SourceProbe},
			want:  [][]string{{"above the last boundary 5", "5 s"}},
			use:   []string{`label_replace(rate(tokenpath_probe_tpot_seconds_bucket{le=~"5|5\\.0"}[5m])`},
			never: []string{`le=~"9|9\\.0"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files, warnings, err := RuleFiles([]Objective{tc.obj}, tc.buckets)
			require.NoError(t, err)
			require.Len(t, warnings, len(tc.want), "%q", warnings)
			for i, subs := range tc.want {
				for _, s := range subs {
					require.Contains(t, warnings[i], s)
				}
			}
			text := string(files[SLORuleFile])
			for _, u := range tc.use {
				require.Contains(t, text, u, "the rules do not contain %s", u)
			}
			for _, n := range tc.never {
				require.NotContains(t, text, n, "the rules contain %s", n)
			}
		})
	}
}

// TestValidate rejects objectives that cannot be generated.
func TestValidate(t *testing.T) {
	t.Parallel()
	good := Objective{Indicator: IndicatorTTFT, Threshold: time.Second, Target: 0.99, Source: SourceProbe}
	tests := []struct {
		name string
		objs []Objective
		want string
	}{
		{"bad source", []Objective{{Indicator: "ttft", Threshold: time.Second, Target: 0.99, Source: "client"}}, `source "client"`},
		{"bad indicator", []Objective{{Indicator: "e2e", Threshold: time.Second, Target: 0.99, Source: SourceProbe}}, `indicator "e2e"`},
		{"server tpot", []Objective{{Indicator: "tpot", Threshold: time.Second, Target: 0.99, Source: SourceServer}}, "tpot exists only"},
		{"zero threshold", []Objective{{Indicator: "ttft", Target: 0.99, Source: SourceProbe}}, "threshold must be positive"},
		{"target 1", []Objective{{Indicator: "ttft", Threshold: time.Second, Target: 1, Source: SourceProbe}}, "target must be"},
		{"target 0", []Objective{{Indicator: "ttft", Threshold: time.Second, Target: 0, Source: SourceProbe}}, "target must be"},
		{"overlap", []Objective{good, func() Objective { o := good; o.Model = "m"; return o }()}, "overlaps objective 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := RuleFiles(tc.objs, nil)
			require.ErrorContains(t, err, tc.want)
		})
	}
	// Two models with their own objectives do not overlap.
	a, b := good, good
	a.Model, b.Model = "a", "b"
	_, _, err := RuleFiles([]Objective{a, b}, nil)
	require.NoError(t, err)
	_, _, err = RuleFiles(nil, map[string][]float64{"vllm": {1}})
	require.ErrorContains(t, err, "server:indicator")
}

// TestBurnAlerts evaluates the generated SLO rules on probe and server
// series that burn the error budget at known rates: 20× (page and ticket),
// 4× (ticket only), 0.5× (nothing), and probes that all fail with no
// latency series at all (page).
func TestBurnAlerts(t *testing.T) {
	t.Parallel()
	const steps = 40 // minutes
	les := []string{"1", "5", "10", "+Inf"}
	type state map[string]string
	tests := []struct {
		name string
		obj  Objective
		load string
		// at is when the alerts are checked.
		at         time.Duration
		wantErrors map[string]float64 // tokenpath:slo_errors:ratio_rate1h by labels
		// covered is the seconds of data the windows hold at `at`: one
		// evaluation a minute from the first with a rate (1m for raw probe
		// counters, 0m for the loaded server rates) to `at`.
		covered    float64
		wantPage   state
		wantTicket state
	}{
		{
			name: "probe TTFT: 20% bad, timeouts included, pages",
			obj:  Objective{Model: "m", Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe},
			// 100 probes a minute: 20 time out, 80 complete, all within 5 s.
			load:    probeSeries("m", steps, 80, 20, les, []float64{70, 80, 80, 80}, 64),
			at:      30 * time.Minute,
			covered: 1800, // 30 min of evaluations, 1m to 30m
			wantErrors: map[string]float64{
				`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: 0.2,
			},
			wantPage:   state{`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: "firing"},
			wantTicket: state{`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: "firing"},
		},
		{
			name:    "probe TTFT: 4% slower than 5 s, a ticket and no page",
			obj:     Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe},
			load:    probeSeries("m", steps, 100, 0, les, []float64{90, 96, 100, 100}, 150),
			at:      35 * time.Minute,
			covered: 2100, // 1m to 35m
			wantErrors: map[string]float64{
				`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: 0.04,
			},
			wantPage:   state{},
			wantTicket: state{`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: "firing"},
		},
		{
			name:    "probe TTFT: 0.5% bad stays within budget",
			obj:     Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe},
			load:    probeSeries("m", steps, 200, 0, les, []float64{150, 199, 200, 200}, 300),
			at:      35 * time.Minute,
			covered: 2100, // 1m to 35m
			wantErrors: map[string]float64{
				`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: 0.005,
			},
			wantPage:   state{},
			wantTicket: state{},
		},
		{
			name:    "every probe fails: no latency series, all bad",
			obj:     Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe},
			load:    probeSeries("m", steps, 0, 10, nil, nil, 0),
			at:      30 * time.Minute,
			covered: 1800, // 1m to 30m
			wantErrors: map[string]float64{
				`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: 1,
			},
			wantPage:   state{`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: "firing"},
			wantTicket: state{`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`: "firing"},
		},
		{
			name: "server TTFT: vLLM 20% over 5 s pages, SGLang 5% over 4 s (its nearest bucket) tickets",
			obj:  Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceServer},
			load: serverTTFT("vllm", "m", steps, []string{"2.5", "5", "7.5", "+Inf"}, []float64{0.7, 0.8, 0.9, 1}, 3) +
				serverTTFT("sglang", "m", steps, []string{"2", "4", "6", "+Inf"}, []float64{0.5, 0.95, 1, 1}, 2),
			at:      35 * time.Minute,
			covered: 2160, // 0m to 35m: the loaded rates exist from the start
			wantErrors: map[string]float64{
				`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="vllm", slo="server-ttft-5s", source="server"}`:   0.2,
				`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="sglang", slo="server-ttft-5s", source="server"}`: 0.05,
			},
			wantPage: state{`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="vllm", slo="server-ttft-5s", source="server"}`: "firing"},
			wantTicket: state{
				`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="vllm", slo="server-ttft-5s", source="server"}`:   "firing",
				`{indicator="ttft", instance="127.0.0.1:8000", model="m", server="sglang", slo="server-ttft-5s", source="server"}`: "firing",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files, _, err := RuleFiles([]Objective{tc.obj}, nil)
			require.NoError(t, err)
			h := newHarness(t, time.Minute, files, "load 1m\n"+tc.load)
			h.EvalUntil(tc.at)
			got := h.Series(`tokenpath:slo_errors:ratio_rate1h`)
			require.Len(t, got, len(tc.wantErrors), "%v", got)
			for k, v := range tc.wantErrors {
				require.Contains(t, got, k)
				require.InDelta(t, v, got[k], 1e-9, k)
			}
			require.Equal(t, map[string]string(tc.wantPage), h.AlertStates(AlertFastBurn), "page")
			require.Equal(t, map[string]string(tc.wantTicket), h.AlertStates(AlertSlowBurn), "ticket")

			// Attainment and budget follow from the same ratio.
			att := h.Series(`tokenpath:slo_attainment:ratio_rate1d`)
			for k, v := range tc.wantErrors {
				require.InDelta(t, 1-v, att[k], 1e-9, k)
			}
			// Both windows hold the same few minutes; neither is full.
			covered := h.Series(`tokenpath:slo_window_covered:seconds`)
			require.Len(t, covered, 2*len(tc.wantErrors), "%v", covered)
			for k := range tc.wantErrors {
				for _, w := range []string{"1d", "30d"} {
					// window sorts last among the labels.
					withWindow := strings.TrimSuffix(k, "}") + `, window="` + w + `"}`
					require.InDelta(t, tc.covered, covered[withWindow], 1e-9, withWindow)
				}
			}
			// The budget counts the errors of the minutes that exist against
			// the 30 days' budget: ratio × covered / 30 d / (1 − target), not
			// ratio / (1 − target), which ten minutes would take to −1900%.
			budget := h.Series(`tokenpath:slo_error_budget_remaining:ratio`)
			for k, v := range tc.wantErrors {
				require.InDelta(t, 1-v*tc.covered/(30*86400)/0.01, budget[k], 1e-9, k)
			}
		})
	}
}

// TestFastBurnNeedsTheShortWindow: a burn that stopped 10 minutes ago keeps
// the 1h window high, but the 5m window has recovered, so the page resolves
// (the short window is what makes multi-window alerts reset quickly).
func TestFastBurnNeedsTheShortWindow(t *testing.T) {
	t.Parallel()
	obj := Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe}
	files, _, err := RuleFiles([]Objective{obj}, nil)
	require.NoError(t, err)
	l := probeLabels + `, model="m"`
	// 30 minutes with 50% timeouts, then 40 minutes without errors.
	load := fmt.Sprintf(`load 1m
  tokenpath_probe_requests_total{%[1]s, outcome="ok", code="200"} 0+50x30 1500+100x40
  tokenpath_probe_requests_total{%[1]s, outcome="timeout", code=""} 0+50x30 1500+0x40
  tokenpath_probe_ttft_seconds_bucket{%[1]s, le="5"} 0+50x30 1500+100x40
  tokenpath_probe_ttft_seconds_bucket{%[1]s, le="+Inf"} 0+50x30 1500+100x40
  tokenpath_probe_ttft_seconds_count{%[1]s} 0+50x30 1500+100x40
`, l)
	key := `{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`
	h := newHarness(t, time.Minute, files, load)
	h.EvalUntil(25 * time.Minute)
	require.Equal(t, map[string]string{key: "firing"}, h.AlertStates(AlertFastBurn))
	// 45m: the 30m window still holds 15 minutes of the burn.
	h.EvalUntil(45 * time.Minute)
	require.Equal(t, map[string]string{key: "firing"}, h.AlertStates(AlertFastBurn))
	// 65m: both short windows are clean while the long ones still are not.
	h.EvalUntil(65 * time.Minute)
	require.Greater(t, h.Series(`tokenpath:slo_errors:ratio_rate1h`)[key], 0.144)
	require.Greater(t, h.Series(`tokenpath:slo_errors:ratio_rate6h`)[key], 0.06)
	require.Zero(t, h.Series(`tokenpath:slo_errors:ratio_rate30m`)[key])
	require.Empty(t, h.AlertStates(AlertFastBurn))
}

// TestProbeUnified maps probe series onto the unified series: instance from
// the probe's target, server="probe", classic and native histograms.
func TestProbeUnified(t *testing.T) {
	t.Parallel()
	files, _, err := RuleFiles(nil, nil)
	require.NoError(t, err)
	l := probeLabels + `, model="m"`
	// Every 15 s: 2 probes with TTFT 0.3 and 0.45 s (buckets 0.25, 0.5), one
	// timing out; 4 gaps of 20 ms.
	load := fmt.Sprintf(`load 15s
  tokenpath_probe_requests_total{%[1]s, outcome="ok", code="200"} 0+2x20
  tokenpath_probe_requests_total{%[1]s, outcome="timeout", code=""} 0+1x20
  tokenpath_probe_ttft_seconds_bucket{%[1]s, le="0.25"} 0+0x20
  tokenpath_probe_ttft_seconds_bucket{%[1]s, le="0.5"} 0+2x20
  tokenpath_probe_ttft_seconds_bucket{%[1]s, le="+Inf"} 0+2x20
  tokenpath_probe_ttft_seconds_count{%[1]s} 0+2x20
  tokenpath_probe_ttft_seconds_sum{%[1]s} 0+0.75x20
  tokenpath_probe_e2e_seconds{%[1]s} {{schema:0 sum:0 count:0 buckets:[0 0]}}+{{schema:0 sum:2 count:2 buckets:[0 2]}}x20
`, l)
	h := newHarness(t, 15*time.Second, files, load)
	h.EvalUntil(3 * time.Minute)
	unified := `{instance="127.0.0.1:8000", job="tokenpath", model="m", server="probe"}`
	withQ := func(q string) string {
		return `{instance="127.0.0.1:8000", job="tokenpath", model="m", quantile="` + q + `", server="probe"}`
	}
	// p50: half of the 0.25–0.5 bucket.
	require.Equal(t, map[string]float64{withQ("0.5"): 0.375}, h.Series(`tokenpath:ttft_seconds:histogram_quantile{quantile="0.5"}`))
	require.InDelta(t, 0.375, h.Series(`tokenpath:ttft_seconds:mean_rate1m`)[unified], 1e-9)
	require.InDelta(t, 2.0/15, h.Series(`tokenpath:ttft_seconds_count:rate1m`)[unified], 1e-9)
	require.InDelta(t, 2.0/15, h.Series(`tokenpath:ttft_seconds_bucket:rate1m{le="0.5"}`)[`{instance="127.0.0.1:8000", job="tokenpath", le="0.5", model="m", server="probe"}`], 1e-9)
	require.InDelta(t, 1.0/3, h.Series(`tokenpath:request_errors:ratio_rate1m`)[unified], 1e-9)
	// e2e exists only as a native histogram: schema 0 bucket (1, 2].
	e2e := h.Series(`tokenpath:e2e_seconds:histogram_quantile{quantile="0.5"}`)
	require.Len(t, e2e, 1)
	require.Greater(t, e2e[withQ("0.5")], 1.0)
	require.LessOrEqual(t, e2e[withQ("0.5")], 2.0)
	require.InDelta(t, 1.0, h.Series(`tokenpath:e2e_seconds:mean_rate1m`)[unified], 1e-9)
}

// TestClientServerGap: a probe that waits in front of the engine (median
// TTFT 2.25 s) against a server whose own median is 0.375 s records the gap
// and fires TokenPathClientServerGap after its 10 minutes; a small gap does
// not.
func TestClientServerGap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		probeLes []string
		probeCum []float64
		probeSum float64
		wantP50  float64
		wantMean float64
		fires    bool
	}{
		{
			name:     "2 s in front of the engine",
			probeLes: []string{"2", "2.5", "+Inf"}, probeCum: []float64{0, 10, 10}, probeSum: 22,
			wantP50: 2.25 - 0.375, wantMean: 2.2 - 0.4, fires: true,
		},
		{
			name:     "no proxy",
			probeLes: []string{"0.4", "0.5", "+Inf"}, probeCum: []float64{0, 10, 10}, probeSum: 4.5,
			wantP50: 0.45 - 0.375, wantMean: 0.45 - 0.4,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files, _, err := RuleFiles(nil, nil)
			require.NoError(t, err)
			load := "load 1m\n" + probeSeries("m", 40, 10, 0, tc.probeLes, tc.probeCum, tc.probeSum) +
				serverTTFT("vllm", "m", 40, []string{"0.25", "0.5", "+Inf"}, []float64{0, 1, 1}, 0.4) +
				// Another model's server without probes has no gap.
				serverTTFT("vllm", "other", 40, []string{"0.25", "0.5", "+Inf"}, []float64{0, 1, 1}, 0.4)
			h := newHarness(t, time.Minute, files, load)
			// Pending until the gap has lasted 10 minutes.
			h.EvalUntil(8 * time.Minute)
			pending := map[string]string{}
			if tc.fires {
				pending[`{instance="127.0.0.1:8000", model="m", quantile="0.5"}`] = "pending"
			}
			require.Equal(t, pending, h.AlertStates(AlertClientServerGap))
			h.EvalUntil(25 * time.Minute)
			p50 := h.Series(`tokenpath:ttft_client_server_gap_seconds`)
			require.Len(t, p50, 1)
			require.InDelta(t, tc.wantP50, p50[`{instance="127.0.0.1:8000", model="m", quantile="0.5"}`], 1e-9)
			mean := h.Series(`tokenpath:ttft_client_server_gap_seconds:mean_rate5m`)
			require.Len(t, mean, 1)
			require.InDelta(t, tc.wantMean, mean[`{instance="127.0.0.1:8000", model="m"}`], 1e-9)
			want := map[string]string{}
			if tc.fires {
				want[`{instance="127.0.0.1:8000", model="m", quantile="0.5"}`] = "firing"
			}
			require.Equal(t, want, h.AlertStates(AlertClientServerGap))
		})
	}
}
