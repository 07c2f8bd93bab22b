package rules

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/stretchr/testify/require"
)

// evalInterval is the rule evaluation (and sample) interval of every test,
// tokenpath's default scrape interval.
const evalInterval = 15 * time.Second

// ruleHarness evaluates the rendered default rule files the way the rule
// manager does — every group at every interval, rules in order, outputs
// appended to the storage the next rules read — on series loaded from a
// promqltest `load` script. It is promtool's rule unit test driven from Go.
type ruleHarness struct {
	t      *testing.T
	ll     *promqltest.LazyLoader
	groups []*promrules.Group
	// next is the offset from the Unix epoch of the next evaluation.
	next time.Duration
	// now is the offset of the last evaluation.
	now time.Duration
}

// newRuleHarness renders DefaultRuleFiles(th) into a temporary directory,
// loads them into an upstream rule manager's groups and prepares load (a
// promqltest `load 15s` script) for lazy appending.
func newRuleHarness(t *testing.T, th Thresholds, load string) *ruleHarness {
	t.Helper()
	files, err := DefaultRuleFiles(th)
	require.NoError(t, err)
	dir := t.TempDir()
	paths := make([]string, 0, len(files))
	// The recording groups run before the alerts that read them, as they would
	// after the first interval in a running manager.
	for _, name := range ruleFileOrder {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, files[name], 0o600))
		paths = append(paths, p)
	}

	ll, err := promqltest.NewLazyLoader(load, promqltest.LazyLoaderOpts{
		EnableAtModifier: true, EnableNegativeOffset: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ll.Close()) })
	ll.SubqueryInterval = evalInterval

	m := promrules.NewManager(&promrules.ManagerOptions{
		QueryFunc:    promrules.EngineQueryFunc(ll.QueryEngine(), ll.Storage()),
		AppendableV2: ll.Storage(),
		Queryable:    ll.Storage(),
		Context:      ll.Context(),
		NotifyFunc:   func(context.Context, string, ...*promrules.Alert) {},
		Logger:       slog.New(slog.DiscardHandler),
	})
	byKey, errs := m.LoadGroups(evalInterval, labels.EmptyLabels(), "http://localhost:9090", nil, false, paths...)
	require.Empty(t, errs)
	groups := make([]*promrules.Group, 0, len(byKey))
	for _, g := range byKey {
		groups = append(groups, g)
	}
	order := func(g *promrules.Group) int {
		for i, p := range paths {
			if g.File() == p {
				return i
			}
		}
		return len(paths)
	}
	sort.SliceStable(groups, func(i, j int) bool { return order(groups[i]) < order(groups[j]) })
	for _, g := range groups {
		for _, r := range g.Rules() {
			if ar, ok := r.(*promrules.AlertingRule); ok {
				// As after a restart with nothing to restore, so ALERTS is written.
				ar.SetRestored(true)
			}
		}
	}
	return &ruleHarness{t: t, ll: ll, groups: groups}
}

// evalUntil evaluates every group at each interval up to and including the
// offset until, failing the test on any rule's evaluation error.
func (h *ruleHarness) evalUntil(until time.Duration) {
	h.t.Helper()
	for ; h.next <= until; h.next += evalInterval {
		ts := time.Unix(0, 0).UTC().Add(h.next)
		h.ll.WithSamplesTill(ts, func(err error) {
			require.NoError(h.t, err)
			for _, g := range h.groups {
				g.Eval(h.ll.Context(), ts)
				for _, r := range g.Rules() {
					require.NoError(h.t, r.LastError(), "rule %s at %s", r.Name(), h.next)
				}
			}
		})
		h.now = h.next
	}
}

// series runs expr at the last evaluation time and returns each result's
// labels without the metric name (in Prometheus' {a="b", ...} form) → value.
func (h *ruleHarness) series(expr string) map[string]float64 {
	h.t.Helper()
	ts := time.Unix(0, 0).UTC().Add(h.now)
	q, err := h.ll.QueryEngine().NewInstantQuery(h.ll.Context(), h.ll.Queryable(), nil, expr, ts)
	require.NoError(h.t, err)
	t := h.t
	t.Cleanup(q.Close)
	res := q.Exec(h.ll.Context())
	require.NoError(t, res.Err, expr)
	vec, err := res.Vector()
	require.NoError(t, err, expr)
	out := make(map[string]float64, len(vec))
	for _, s := range vec {
		key := s.Metric.DropReserved(func(n string) bool { return n == model.MetricNameLabel }).String()
		_, dup := out[key]
		require.False(t, dup, "%s returned %s twice", expr, key)
		out[key] = s.F
	}
	return out
}

// alerts returns the active alerts of the alerting rule name, keyed by their
// labels without alertname and severity.
func (h *ruleHarness) alerts(name string) map[string]*promrules.Alert {
	h.t.Helper()
	out := map[string]*promrules.Alert{}
	found := false
	for _, g := range h.groups {
		for _, r := range g.Rules() {
			ar, ok := r.(*promrules.AlertingRule)
			if !ok || ar.Name() != name {
				continue
			}
			found = true
			for _, a := range ar.ActiveAlerts() {
				out[labels.NewBuilder(a.Labels).Del("alertname", "severity").Labels().String()] = a
			}
		}
	}
	require.True(h.t, found, "no alerting rule %s", name)
	return out
}

// requireSeries asserts that expr returns exactly want (labels → value),
// values within 1e-9 relative (zero exactly).
func requireSeries(t *testing.T, h *ruleHarness, expr string, want map[string]float64) {
	t.Helper()
	got := h.series(expr)
	require.Equal(t, sortedKeys(want), sortedKeys(got), "series of %s", expr)
	for k, v := range want {
		if v == 0 {
			require.Zero(t, got[k], "%s %s", expr, k)
			continue
		}
		require.InEpsilon(t, v, got[k], 1e-9, "%s %s", expr, k)
	}
}

// sortedKeys returns the keys of m in order, for readable diffs.
func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// histogram describes a classic histogram that gains the same observations
// every interval: Cum[i] observations at or below Les[i] (the last le is
// "+Inf"), adding up to Sum seconds.
type histogram struct {
	Les []string
	Cum []float64
	Sum float64
}

// lines renders the histogram's _bucket, _count and _sum series for steps
// intervals under name with the extra labels (`a="b", c="d"`), each series
// starting at 0.
func (hi histogram) lines(name, lbls string, steps int) string {
	var b strings.Builder
	sep := ""
	if lbls != "" {
		sep = ", "
	}
	for i, le := range hi.Les {
		fmt.Fprintf(&b, "  %s_bucket{%s%sle=%q} 0+%gx%d\n", name, lbls, sep, le, hi.Cum[i], steps)
	}
	fmt.Fprintf(&b, "  %s_count{%s} 0+%gx%d\n", name, lbls, hi.Cum[len(hi.Cum)-1], steps)
	fmt.Fprintf(&b, "  %s_sum{%s} 0+%gx%d\n", name, lbls, hi.Sum, steps)
	return b.String()
}

// latency returns the profile most tests use: per interval 10 observations, 2 at
// or below 0.1 s, 6 at or below 0.5 s, 9 at or below 1 s, all at or below 10 s,
// 5 s in all. Over a 1m rate: p50 0.4 s, p90 1 s, p99 9.1 s, mean 0.5 s.
func latency() histogram {
	return histogram{
		Les: []string{"0.1", "0.5", "1", "10", "+Inf"},
		Cum: []float64{2, 6, 9, 10, 10},
		Sum: 5,
	}
}

// Expected values of the latency profile.
const (
	latencyP50  = 0.4
	latencyP90  = 1.0
	latencyP99  = 9.1
	latencyMean = 0.5
)

// tokenGaps returns an inter-token profile: per interval 100 gaps, 50 at or below
// 25 ms, 90 at or below 50 ms, 98 at or below 100 ms, all at or below 200 ms,
// 5 s in all. p50 25 ms, p90 50 ms, p99 150 ms, mean 50 ms.
func tokenGaps() histogram {
	return histogram{
		Les: []string{"0.025", "0.05", "0.1", "0.2", "+Inf"},
		Cum: []float64{50, 90, 98, 100, 100},
		Sum: 5,
	}
}

// Expected values of the tokenGaps profile.
const (
	gapsP50  = 0.025
	gapsP90  = 0.05
	gapsP99  = 0.15
	gapsMean = 0.05
)
