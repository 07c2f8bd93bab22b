package rules

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/rules/slo"
	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

// The load of the rule benchmarks: the 20k samples/s case of
// scripts/bench-vs-prometheus.sh (4 simulated vLLM servers × 16 models, as
// scripts/benchtarget serves them, scraped every second), with enough history
// for the 1 m rates and the long-range group's 5 m windows.
const (
	benchServers = 4
	benchModels  = 16
	benchScrape  = time.Second
	benchHistory = 6 * time.Minute
	// benchEval is the token-path group's interval, the step at which the
	// history's recorded series are written before the measurement.
	benchEval = 15 * time.Second
	// benchTopRules is how many of a group's costliest rules -v logs.
	benchTopRules = 30
)

// benchStart is the first simulated scrape: a fixed instant, so that every
// run evaluates the same series at the same times.
var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ruleBench is a storage loaded with the simulated servers' history and the
// embedded rules' own recorded series up to at, and the engine and groups
// that evaluate the rules there.
type ruleBench struct {
	db     *teststorage.TestStorage
	engine *promql.Engine
	query  promrules.QueryFunc
	groups []*promrules.Group
	at     time.Time
}

// exportedRuleFiles are the rule files `tokenpath rules export` writes with
// its default flags: DefaultRuleFiles and the probe and SLO files of
// rules/slo for the default objectives (cmd/tokenpath ruleFlags.files).
func exportedRuleFiles(b *testing.B) map[string][]byte {
	b.Helper()
	files, err := DefaultRuleFiles(Thresholds{})
	require.NoError(b, err)
	d := DefaultThresholds()
	objectives := slo.DefaultObjectives(d.TTFTWarning, d.ITLWarning)
	for i := range objectives {
		objectives[i].Target = slo.DefaultTarget
	}
	sloFiles, _, err := slo.RuleFilesWithOptions(objectives, nil, slo.Options{})
	require.NoError(b, err)
	maps.Copy(files, sloFiles)
	return files
}

// newRuleBench loads the history and evaluates the groups of files every
// benchEval over it (the files of ruleFileOrder first, in that order, then the
// others by name: each reads the series of those before it), as tokenpath's
// rule manager would have, so that rules reading other rules' series find
// them.
func newRuleBench(b *testing.B, files map[string][]byte) *ruleBench {
	b.Helper()
	db := teststorage.New(b)
	until := benchStart.Add(benchHistory)
	series, samples := loadSimulatedVLLM(b, db, benchStart, until, 1)
	b.Logf("loaded %d series, %d samples (%d servers × %d models, %s at %s)", series, samples, benchServers, benchModels, benchHistory, benchScrape)

	// The engine options of rules.NewManager: Prometheus' defaults.
	engine := promql.NewEngine(promql.EngineOpts{
		Logger: slog.New(slog.DiscardHandler), MaxSamples: defaultMaxSamples, Timeout: defaultQueryTimeout,
		LookbackDelta: defaultLookbackDelta, EnableAtModifier: true, EnableNegativeOffset: true, EnablePerStepStats: true,
	})
	query := promrules.EngineQueryFunc(engine, db)
	m := promrules.NewManager(&promrules.ManagerOptions{
		NameValidationScheme: model.UTF8Validation,
		QueryFunc:            query,
		NotifyFunc:           func(context.Context, string, ...*promrules.Alert) {},
		Context:              context.Background(),
		AppendableV2:         db,
		Queryable:            db,
		Registerer:           prometheus.NewRegistry(),
		Logger:               slog.New(slog.DiscardHandler),
	})
	dir := b.TempDir()
	var paths []string
	names := slices.Clone(ruleFileOrder)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		p := filepath.Join(dir, name)
		require.NoError(b, os.WriteFile(p, files[name], 0o600))
		paths = append(paths, p)
	}
	byKey, errs := m.LoadGroups(benchEval, labels.EmptyLabels(), "", nil, false, paths...)
	require.Empty(b, errs)
	groups := slices.SortedFunc(maps.Values(byKey), func(x, y *promrules.Group) int {
		return cmp.Or(slices.Index(paths, x.File())-slices.Index(paths, y.File()), strings.Compare(x.Name(), y.Name()))
	})
	// The recorded history: every group at each of its evaluations after the
	// first minute (the 1 m rates need one), in file order.
	ctx := context.Background()
	for t := benchStart.Add(time.Minute); !t.After(until); t = t.Add(benchEval) {
		for _, g := range groups {
			if t.Sub(benchStart)%g.Interval() == 0 {
				g.Eval(ctx, t)
			}
		}
	}
	for _, g := range groups {
		for _, r := range g.Rules() {
			require.NoError(b, r.LastError(), "%s: %s", g.Name(), r.Name())
		}
	}
	return &ruleBench{db: db, engine: engine, query: query, groups: groups, at: until.Add(benchEval)}
}

// loadSimulatedVLLM appends the history of benchServers simulated vLLM
// servers from `from` to until, one scrape every benchScrape: each server's
// exposition repeated for benchModels models with model_name rewritten, as
// scripts/benchtarget serves it, and for `engines` data-parallel engines
// (the engine label; benchtarget serves one), under the target labels
// tokenpath's scrape gives a vLLM target (job, instance, server). It returns
// the number of series and samples.
func loadSimulatedVLLM(b *testing.B, db storage.Appendable, from, until time.Time, engines int) (series, samples int) {
	b.Helper()
	ctx := context.Background()
	for i := range benchServers {
		s, err := sim.New(sim.Options{Engine: sim.EngineVLLM, Seed: int64(i + 1), Logger: slog.New(slog.DiscardHandler)})
		require.NoError(b, err)
		target := []string{"job", "vllm", "instance", "127.0.0.1:" + strconv.Itoa(8000+i), "server", "vllm"}
		err = s.RunVirtual(ctx, from, until, benchScrape, func(t time.Time, reg prometheus.Gatherer) error {
			fams, err := reg.Gather()
			if err != nil {
				return err
			}
			app := db.Appender(ctx)
			n := 0
			for m := range benchModels {
				for e := range engines {
					for _, ps := range exposedSamples(fams, target, "model-"+strconv.Itoa(m), strconv.Itoa(e)) {
						if _, err := app.Append(0, ps.lset, t.UnixMilli(), ps.v); err != nil {
							return fmt.Errorf("appending %s: %w", ps.lset, err)
						}
						n++
					}
				}
			}
			// Every scrape exposes the same series (the simulator creates them all at start).
			series = max(series, n)
			samples += n
			return app.Commit()
		})
		require.NoError(b, err)
	}
	return series * benchServers, samples
}

// exposedSample is one sample of an exposition, as a scrape stores it.
type exposedSample struct {
	lset labels.Labels
	v    float64
}

// exposedSamples flattens gathered families into the samples a scrape of
// their text exposition stores (histograms as _bucket, _sum and _count),
// with the target labels added, model_name set to modelName and engine (where
// there is one) to engine.
func exposedSamples(fams []*dto.MetricFamily, target []string, modelName, engine string) []exposedSample {
	var out []exposedSample
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			base := labels.NewBuilder(labels.FromStrings(target...))
			for _, lp := range m.GetLabel() {
				v := lp.GetValue()
				switch lp.GetName() {
				case "model_name":
					v = modelName
				case "engine":
					v = engine
				}
				base.Set(lp.GetName(), v)
			}
			add := func(name string, v float64, extra ...string) {
				lb := labels.NewBuilder(base.Labels())
				lb.Set(model.MetricNameLabel, name)
				for i := 0; i+1 < len(extra); i += 2 {
					lb.Set(extra[i], extra[i+1])
				}
				out = append(out, exposedSample{lb.Labels(), v})
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				add(f.GetName(), m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(f.GetName(), m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, bk := range h.GetBucket() {
					add(f.GetName()+"_bucket", float64(bk.GetCumulativeCount()), "le", strconv.FormatFloat(bk.GetUpperBound(), 'g', -1, 64))
				}
				add(f.GetName()+"_bucket", float64(h.GetSampleCount()), "le", "+Inf")
				add(f.GetName()+"_sum", h.GetSampleSum())
				add(f.GetName()+"_count", float64(h.GetSampleCount()))
			default:
				add(f.GetName(), m.GetUntyped().GetValue())
			}
		}
	}
	return out
}

// ruleKey names a rule in benchmark output: the recorded name (or alert)
// and its server label, the pair that tells the per-server rules apart.
func ruleKey(r promrules.Rule) string {
	if s := r.Labels().Get("server"); s != "" {
		return r.Name() + "{server=" + s + "}"
	}
	if q := r.Labels().Get("quantile"); q != "" {
		return r.Name() + "{quantile=" + q + "}"
	}
	return r.Name()
}

// BenchmarkRuleGroups evaluates every embedded rule group (rendered with the
// default flags, as `tokenpath rules export` writes them) once per
// iteration at the end of the simulated history, rule by rule, without
// writing the results: the query cost of one evaluation of the group. With
// -v it logs the group's costliest rules (mean time per evaluation). The
// groups over long windows (the SLOs' 6h to 30d, the KV-cache knee's 6h) read
// only benchHistory here: their cost grows with the stored history.
func BenchmarkRuleGroups(b *testing.B) {
	rb := newRuleBench(b, exportedRuleFiles(b))
	ctx := context.Background()
	for _, g := range rb.groups {
		b.Run(g.Name(), func(b *testing.B) {
			rules := g.Rules()
			spent := make([]time.Duration, len(rules))
			out := 0
			b.ReportAllocs()
			for b.Loop() {
				out = 0
				for i, r := range rules {
					start := time.Now()
					v, err := r.Eval(ctx, 0, rb.at, rb.query, nil, 0)
					spent[i] += time.Since(start)
					if err != nil {
						b.Fatalf("%s: %v", ruleKey(r), err)
					}
					out += len(v)
				}
			}
			b.ReportMetric(float64(out), "series/op")
			order := make([]int, len(rules))
			for i := range order {
				order[i] = i
			}
			slices.SortFunc(order, func(x, y int) int { return cmp.Compare(spent[y], spent[x]) })
			var total time.Duration
			for _, d := range spent {
				total += d
			}
			for _, i := range order[:min(benchTopRules, len(order))] {
				b.Logf("%5.1f%% %8s/eval  %s", 100*float64(spent[i])/float64(max(total, 1)), (spent[i] / time.Duration(b.N)).Round(time.Microsecond), ruleKey(rules[i]))
			}
		})
	}
}
