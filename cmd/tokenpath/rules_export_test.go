package main_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

const promtoolBinary = "/usr/bin/promtool"

// exportRules runs `tokenpath rules export` with the rule flags and returns
// the directory and the files written.
func exportRules(t *testing.T, flags ...string) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rules")
	out, err := exec.Command(testbin.Binary(t), append([]string{"rules", "export", "--dir", dir}, flags...)...).CombinedOutput()
	require.NoError(t, err, "tokenpath rules export: %s", out)
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	require.NoError(t, err)
	return dir, files
}

// TestRulesExportPromtool: every exported file passes Debian's promtool,
// which checks them as the central Prometheus will load them (its own,
// older, PromQL and its duplicate-rule lint).
func TestRulesExportPromtool(t *testing.T) {
	testbin.RequirePeer(t, promtoolBinary, "prometheus")
	for name, flags := range map[string][]string{
		"defaults":   nil,
		"thresholds": {"--alert.ttft-warning=2s", "--alert.for=3m", "--slo.target=0.95", "--probe.gap-threshold=1s"},
		"no SLOs":    {"--no-slo.enable"},
	} {
		t.Run(name, func(t *testing.T) {
			_, files := exportRules(t, flags...)
			names := make([]string, 0, len(files))
			for _, f := range files {
				names = append(names, filepath.Base(f))
			}
			require.Subset(t, names, []string{"token_path.rules.yml", "gpu.rules.yml", "alerts.rules.yml", "probe.rules.yml"})
			if !slices.Contains(flags, "--no-slo.enable") {
				require.Contains(t, names, "slo.rules.yml")
			}
			out, err := exec.Command(promtoolBinary, append([]string{"check", "rules"}, files...)...).CombinedOutput()
			require.NoError(t, err, "promtool check rules:\n%s", out)
		})
	}
}

// TestRulesExportMatchesServer: the exported files are the rules a tokenpath
// started with the same flags evaluates, group by group, rule by rule.
func TestRulesExportMatchesServer(t *testing.T) {
	flags := []string{"--alert.ttft-warning=2s", "--alert.itl-warning=50ms", "--alert.for=3m", "--slo.target=0.95", "--probe.gap-for=7m"}
	_, files := exportRules(t, flags...)

	type ruleKey struct{ Group, Name, Query, For string }
	want := map[ruleKey]bool{}
	promql := parser.NewParser(parser.Options{})
	for _, f := range files {
		groups, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
		require.Empty(t, errs, f)
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				expr, err := promql.ParseExpr(r.Expr)
				require.NoError(t, err)
				want[ruleKey{g.Name, r.Record + r.Alert, expr.String(), time.Duration(r.For).String()}] = true
			}
		}
	}

	p := start(t, procOpts{keepRules: true, args: append([]string{"--no-gpu.enable", "--no-probe.enable"}, flags...)})
	res, err := p.api().Rules(ctxT(t), nil)
	require.NoError(t, err)
	got := map[ruleKey]bool{}
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			switch r := r.(type) {
			case promv1.RecordingRule:
				got[ruleKey{g.Name, r.Name, r.Query, "0s"}] = true
			case promv1.AlertingRule:
				got[ruleKey{g.Name, r.Name, r.Query, (time.Duration(r.Duration) * time.Second).String()}] = true
			}
		}
	}
	require.NotEmpty(t, want)
	require.Equal(t, want, got, "tokenpath evaluates exactly the exported rules")
}

// linearTarget serves a frozen snapshot of a simulator's /metrics in which
// every counter, histogram bucket, count and sum grows linearly with time
// (value(t) = v0·(1 + (t−t0)/1m)) and every gauge stays at v0, each sample
// stamped with the time it was computed for.
//
// Why: two scrapers of a live simulator never see the same samples (their
// scrapes and rule evaluations fall at different phases), so comparing them
// would be flaky or need a loose tolerance. On this target rate() over any
// window of any phase is exactly v0/60 per second (rate's extrapolation of a
// line is the line), so every recording rule — per-bucket rates, quantiles,
// means, ratios, SLO windows — has one true value that both tokenpath and the
// central Prometheus must compute, whenever they scrape or evaluate. The
// explicit timestamps (honor_timestamps is Prometheus' default) remove the
// last bit of phase: the value matches its timestamp, not the moment the
// scrape started. The names, types, labels and buckets are the simulator's,
// i.e. the real servers'.
func linearTarget(t *testing.T, engine sim.Engine) string {
	t.Helper()
	s, err := sim.New(sim.Options{Engine: engine, Seed: 7, Load: 5})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	require.NoError(t, s.Run(ctx))
	families, err := s.Registry().Gather()
	require.NoError(t, err)
	t0 := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now().Truncate(time.Millisecond)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		writeLinear(w, families, 1+now.Sub(t0).Seconds()/60, now.UnixMilli())
	}))
	t.Cleanup(srv.Close)
	return hostOf(srv)
}

// writeLinear writes families in the text format with every cumulative
// value multiplied by factor, stamped ts.
func writeLinear(w io.Writer, families []*dto.MetricFamily, factor float64, ts int64) {
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	line := func(name string, labels []*dto.LabelPair, extra string, v float64) {
		var ls []string
		for _, l := range labels {
			ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		if extra != "" {
			ls = append(ls, extra)
		}
		fmt.Fprintf(w, "%s{%s} %s %d\n", name, strings.Join(ls, ","), num(v), ts)
	}
	for _, f := range families {
		name := f.GetName()
		fmt.Fprintf(w, "# TYPE %s %s\n", name, strings.ToLower(f.GetType().String()))
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				line(name, m.GetLabel(), "", m.GetCounter().GetValue()*factor)
			case dto.MetricType_GAUGE:
				line(name, m.GetLabel(), "", m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					line(name+"_bucket", m.GetLabel(), fmt.Sprintf("le=%q", num(b.GetUpperBound())), float64(b.GetCumulativeCount())*factor)
				}
				line(name+"_bucket", m.GetLabel(), `le="+Inf"`, float64(h.GetSampleCount())*factor)
				line(name+"_sum", m.GetLabel(), "", h.GetSampleSum()*factor)
				line(name+"_count", m.GetLabel(), "", float64(h.GetSampleCount())*factor)
			case dto.MetricType_SUMMARY:
				line(name+"_sum", m.GetLabel(), "", m.GetSummary().GetSampleSum()*factor)
				line(name+"_count", m.GetLabel(), "", float64(m.GetSummary().GetSampleCount())*factor)
			default:
				line(name, m.GetLabel(), "", m.GetUntyped().GetValue())
			}
		}
	}
}

// TestRulesExportInPrometheus: Debian's Prometheus, loaded with the
// exported files and scraping the same targets as tokenpath, records the same
// tokenpath:* series with the same values.
//
// Design (so that it does not flake on timing): the targets are
// linearTargets, on which every rate has one true value whenever it is
// scraped or evaluated, provided its window is full of samples. Both sides
// use a 1s scrape and evaluation interval. The test waits until every group
// has evaluated on both sides (the SLO groups run once a minute, at an offset
// of their own) and both hold 75s of samples of every target, so every 1m
// window is full; then it queries {__name__=~"tokenpath:.*"} at three common
// explicit timestamps, each side returning its latest evaluation:
//   - label sets: exactly the same on both sides, for every group;
//   - values: for the series of the 1m groups (token path, GPU) within 5%
//     relative. Rate extrapolates to a window's start only when the first
//     sample is within 1.1 scrape intervals of it, so one scrape delayed by a
//     loaded machine at a window's start costs up to ~1-2%; a wrong rule
//     (a lost label, a doubled sum, another bucket) is off by far more. The
//     SLO windows (5m to 30d) are not full within a test, and a partly filled
//     window depends on when each side started, so for those the label sets
//     are compared, not the values.
//
// The SLO rules count good events from the classic bucket at the
// threshold (le selection, understood by 2.42) and fall back to
// histogram_fraction only where a server's buckets lack that boundary
// (Prometheus 3 only), so the SLO series exist on both sides.
//
// One thing differs by Prometheus version, not by rules, and are normalised:
// Prometheus 3 (tokenpath's library) stores le="1.0" where 2.42 keeps the
// exposed le="1", so `le` is compared as a number.
func TestRulesExportInPrometheus(t *testing.T) {
	ruleFlags := []string{"--alert.ttft-warning=2s", "--alert.itl-warning=50ms", "--slo.target=0.95"}
	rulesDir, files := exportRules(t, ruleFlags...)
	oneMinute := recordedNames(t, files, "tokenpath.token_path", "tokenpath.gpu")

	engines := []sim.Engine{sim.EngineVLLM, sim.EngineTGI, sim.EngineSGLang, sim.EngineLlamaCPP}
	targets := make([]string, len(engines))
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Go(func() { targets[i] = linearTarget(t, e) })
	}
	wg.Wait()
	var scrape strings.Builder
	for i, e := range engines {
		job := strings.TrimSuffix(string(e), "-v0")
		fmt.Fprintf(&scrape, "- job_name: %s\n  static_configs:\n  - targets: [%q]\n    labels: {server: %s}\n", job, targets[i], job)
	}
	global := "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
	prom := testbin.StartPrometheus(t, testbin.PrometheusOptions{Config: global + "rule_files: [" + strconv.Quote(filepath.Join(rulesDir, "*.yml")) + "]\nscrape_configs:\n" + scrape.String()})
	tp := start(t, procOpts{keepRules: true, args: append([]string{
		"--no-gpu.enable", "--no-probe.enable",
		"--config.file=" + writeFile(t, t.TempDir(), "tokenpath.yml", global+"scrape_configs:\n"+scrape.String()),
	}, ruleFlags...)})

	// Both sides have recorded every series: every group has evaluated
	// (the SLO groups run every minute, at an offset of their own; there is
	// one tokenpath:slo_objective:ratio per SLO group, four with the probe
	// and server SLOs of TTFT and ITL) and the counts are the same.
	// The long-range group runs every 5 minutes at an offset of its own on
	// each side, longer than this test waits; rules/testdata/longrange.promqltest checks
	// its values.
	const all = `{__name__=~"tokenpath:.+", __name__!~"tokenpath:.+_seconds(_bucket:rate5m|:histogram_quantile_rate5m)"}`
	var at time.Time
	waitFor(t, 3*time.Minute, "both sides to evaluate every group", func() (bool, string) {
		at = time.Now().Add(-2 * time.Second)
		a, b := instant(t, tp.api(), all, at), instant(t, prom.API(), all, at)
		objectives := func(v model.Vector) (n int) {
			for _, s := range v {
				if s.Metric[model.MetricNameLabel] == "tokenpath:slo_objective:ratio" {
					n++
				}
			}
			return n
		}
		full := `count(count_over_time(up{job=~"vllm|tgi|sglang|llamacpp"}[90s]) >= 75) == 4`
		return objectives(a) == 4 && objectives(b) == 4 && len(a) == len(b) &&
				len(instant(t, tp.api(), full, at)) == 1 && len(instant(t, prom.API(), full, at)) == 1,
			fmt.Sprintf("tokenpath %d series (%d SLOs), prometheus %d (%d SLOs); only in tokenpath %v; only in prometheus %v",
				len(a), objectives(a), len(b), objectives(b), onlyIn(t, a, b), onlyIn(t, b, a))
	})
	// A few seconds more, then compare at three common timestamps.
	time.Sleep(5 * time.Second)
	for i := range 3 {
		ts := at.Add(time.Duration(i+1) * 2 * time.Second)
		want := byLabels(t, instant(t, tp.api(), all, ts))
		got := byLabels(t, instant(t, prom.API(), all, ts))
		require.Equal(t, sortedKeys(want), sortedKeys(got), "the same tokenpath:* series at %s", ts)
		compared := 0
		for k, w := range want {
			if !oneMinute[strings.SplitN(k, "{", 2)[0]] {
				continue
			}
			compared++
			g := got[k]
			require.InDeltaf(t, w, g, 0.05*math.Abs(w)+1e-9, "%s at %s: tokenpath %v, prometheus %v", k, ts, w, g)
		}
		require.Greater(t, compared, 100, "values compared")
	}
	// The comparison covered the token-path rules of every server and the
	// server-side SLO rules.
	names := map[string]bool{}
	for _, s := range instant(t, tp.api(), all, at) {
		names[string(s.Metric[model.MetricNameLabel])+"/"+string(s.Metric["server"])] = true
	}
	for _, n := range []string{
		"tokenpath:ttft_seconds:histogram_quantile/vllm", "tokenpath:ttft_seconds:histogram_quantile/sglang",
		"tokenpath:itl_seconds:histogram_quantile/tgi", "tokenpath:itl_seconds:mean_rate1m/llamacpp",
		"tokenpath:kv_cache_usage:ratio/vllm", "tokenpath:requests:rate1m/tgi",
	} {
		require.Truef(t, names[n], "%s recorded (have %v)", n, sortedKeys(names))
	}
	require.NotEmpty(t, instant(t, prom.API(), `{__name__=~"tokenpath:slo_.+"}`, at), "the SLO rules evaluate on Prometheus")
}

// recordedNames are the series recorded by the named groups of files.
func recordedNames(t *testing.T, files []string, groups ...string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, f := range files {
		rgs, errs := rulefmt.ParseFile(f, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		require.Empty(t, errs, f)
		for _, g := range rgs.Groups {
			if slices.Contains(groups, g.Name) {
				for _, r := range g.Rules {
					if r.Record != "" {
						names[r.Record] = true
					}
				}
			}
		}
	}
	require.NotEmpty(t, names, "rules of %v", groups)
	return names
}

// byLabels maps each sample's label set (le as a number) to its value.
func byLabels(t *testing.T, v model.Vector) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for _, s := range v {
		l := s.Metric.Clone()
		if le, ok := l["le"]; ok {
			f, err := strconv.ParseFloat(string(le), 64)
			require.NoError(t, err)
			l["le"] = model.LabelValue(strconv.FormatFloat(f, 'g', -1, 64))
		}
		m[l.String()] = float64(s.Value)
	}
	return m
}

// onlyIn lists the label sets of a that b lacks (at most ten).
func onlyIn(t *testing.T, a, b model.Vector) []string {
	in := byLabels(t, b)
	var out []string
	for _, k := range sortedKeys(byLabels(t, a)) {
		if _, ok := in[k]; !ok && len(out) < 10 {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
