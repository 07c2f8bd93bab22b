package slo

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness evaluates generated rule files the way the rule manager does —
// every group at every interval, rules in order, outputs appended to the
// storage later rules read — on series from a promqltest `load` script:
// promtool's rule unit tests, driven from Go.
type harness struct {
	t *testing.T
	// interval is the evaluation interval, the sample interval of the load
	// script.
	interval time.Duration
	ll       *promqltest.LazyLoader
	groups   []*promrules.Group
	next     time.Duration
	now      time.Duration
}

func newHarness(t *testing.T, interval time.Duration, files map[string][]byte, load string) *harness {
	t.Helper()
	dir := t.TempDir()
	// The rules package's token-path series (when given) first, then the
	// probe's unified series and gap, then the SLOs.
	var paths []string
	for _, name := range []string{"token_path.rules.yml", ProbeRuleFile, SLORuleFile} {
		content, ok := files[name]
		if !ok {
			continue
		}
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, content, 0o600))
		paths = append(paths, p)
	}
	ll, err := promqltest.NewLazyLoader(load, promqltest.LazyLoaderOpts{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ll.Close()) })
	ll.SubqueryInterval = interval

	m := promrules.NewManager(&promrules.ManagerOptions{
		QueryFunc:    promrules.EngineQueryFunc(ll.QueryEngine(), ll.Storage()),
		AppendableV2: ll.Storage(),
		Queryable:    ll.Storage(),
		Context:      ll.Context(),
		NotifyFunc:   func(context.Context, string, ...*promrules.Alert) {},
		Logger:       slog.New(slog.DiscardHandler),
	})
	byKey, errs := m.LoadGroups(interval, labels.EmptyLabels(), "http://localhost:9090", nil, false, paths...)
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
	sort.SliceStable(groups, func(i, j int) bool {
		if oi, oj := order(groups[i]), order(groups[j]); oi != oj {
			return oi < oj
		}
		return groups[i].Name() < groups[j].Name()
	})
	for _, g := range groups {
		for _, r := range g.Rules() {
			if ar, ok := r.(*promrules.AlertingRule); ok {
				ar.SetRestored(true)
			}
		}
	}
	return &harness{t: t, interval: interval, ll: ll, groups: groups}
}

// evalUntil evaluates every group at each interval up to until, failing on
// any rule's evaluation error.
func (h *harness) evalUntil(until time.Duration) {
	h.t.Helper()
	for ; h.next <= until; h.next += h.interval {
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

// series runs expr at the last evaluation and returns labels (without the
// metric name) → value.
func (h *harness) series(expr string) map[string]float64 {
	h.t.Helper()
	ts := time.Unix(0, 0).UTC().Add(h.now)
	q, err := h.ll.QueryEngine().NewInstantQuery(h.ll.Context(), h.ll.Queryable(), nil, expr, ts)
	require.NoError(h.t, err)
	defer q.Close()
	res := q.Exec(h.ll.Context())
	require.NoError(h.t, res.Err, expr)
	vec, err := res.Vector()
	require.NoError(h.t, err, expr)
	out := make(map[string]float64, len(vec))
	for _, s := range vec {
		out[s.Metric.DropReserved(func(n string) bool { return n == model.MetricNameLabel }).String()] = s.F
	}
	return out
}

// alertStates returns the state ("pending", "firing") of each active alert
// named name, keyed by its labels without alertname, severity and action.
func (h *harness) alertStates(name string) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	found := false
	for _, g := range h.groups {
		for _, r := range g.Rules() {
			ar, ok := r.(*promrules.AlertingRule)
			if !ok || ar.Name() != name {
				continue
			}
			found = true
			for _, a := range ar.ActiveAlerts() {
				out[labels.NewBuilder(a.Labels).Del("alertname", "severity", "action").Labels().String()] = a.State.String()
			}
		}
	}
	require.True(h.t, found, "no alerting rule %s", name)
	return out
}

// alertAnnotation returns annotation ann of each active alert named name,
// keyed like alertStates: what a receiver would read.
func (h *harness) alertAnnotation(name, ann string) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for _, g := range h.groups {
		for _, r := range g.Rules() {
			ar, ok := r.(*promrules.AlertingRule)
			if !ok || ar.Name() != name {
				continue
			}
			for _, a := range ar.ActiveAlerts() {
				out[labels.NewBuilder(a.Labels).Del("alertname", "severity", "action").Labels().String()] = a.Annotations.Get(ann)
			}
		}
	}
	return out
}
