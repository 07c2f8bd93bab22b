// Package rulestest evaluates rule files in tests the way Prometheus' rule
// manager does — every group at every interval, rules in order, outputs
// appended to the storage that later rules read — on series loaded from a
// promqltest `load` script: promtool's rule unit tests, driven from Go. The
// tests of rules and rules/slo share it.
package rulestest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

// File is one rule file to load: its name and content.
type File struct {
	Name    string
	Content []byte
}

// Options configure a Harness.
type Options struct {
	// Interval is the evaluation interval, the sample interval of Load.
	Interval time.Duration
	// Files are evaluated in this order at every interval, and the groups of
	// one file in the order the file lists them: each file reads the series
	// of the files before it, as after the first interval in a running
	// manager.
	Files []File
	// Load is a promqltest `load` script, appended lazily up to each
	// evaluation.
	Load string
	// AlertKeyWithout are the labels, besides alertname, that Alerts leaves
	// out of its keys.
	AlertKeyWithout []string
}

// Harness is a set of rule groups evaluated on a promqltest storage.
type Harness struct {
	t        *testing.T
	interval time.Duration
	ll       *promqltest.LazyLoader
	groups   []*promrules.Group
	without  []string
	// next is the offset from the Unix epoch of the next evaluation.
	next time.Duration
	// now is the offset of the last evaluation.
	now time.Duration
}

// New writes opts.Files into a temporary directory, loads them into an
// upstream rule manager's groups and prepares opts.Load for lazy appending.
func New(t *testing.T, opts Options) *Harness {
	t.Helper()
	dir := t.TempDir()
	paths := make([]string, 0, len(opts.Files))
	// rank orders the groups: file first, then the group's place in it.
	rank := map[[2]string]int{}
	for _, f := range opts.Files {
		p := filepath.Join(dir, f.Name)
		require.NoError(t, os.WriteFile(p, f.Content, 0o600))
		paths = append(paths, p)
		rgs, errs := rulefmt.Parse(f.Content, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		require.Empty(t, errs, f.Name)
		for _, g := range rgs.Groups {
			rank[[2]string{p, g.Name}] = len(rank)
		}
	}

	ll, err := promqltest.NewLazyLoader(opts.Load, promqltest.LazyLoaderOpts{
		EnableAtModifier: true, EnableNegativeOffset: true,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ll.Close()) })
	ll.SubqueryInterval = opts.Interval

	m := promrules.NewManager(&promrules.ManagerOptions{
		QueryFunc:    promrules.EngineQueryFunc(ll.QueryEngine(), ll.Storage()),
		AppendableV2: ll.Storage(),
		Queryable:    ll.Storage(),
		Context:      ll.Context(),
		NotifyFunc:   func(context.Context, string, ...*promrules.Alert) {},
		Logger:       slog.New(slog.DiscardHandler),
	})
	byKey, errs := m.LoadGroups(opts.Interval, labels.EmptyLabels(), "http://localhost:9090", nil, false, paths...)
	require.Empty(t, errs)
	groups := make([]*promrules.Group, 0, len(byKey))
	for _, g := range byKey {
		groups = append(groups, g)
		for _, r := range g.Rules() {
			if ar, ok := r.(*promrules.AlertingRule); ok {
				// As after a restart with nothing to restore, so ALERTS is written.
				ar.SetRestored(true)
			}
		}
	}
	slices.SortFunc(groups, func(a, b *promrules.Group) int {
		return rank[[2]string{a.File(), a.Name()}] - rank[[2]string{b.File(), b.Name()}]
	})
	return &Harness{t: t, interval: opts.Interval, ll: ll, groups: groups, without: append([]string{"alertname"}, opts.AlertKeyWithout...)}
}

// EvalUntil evaluates every group at each interval up to and including the
// offset until, failing the test on any rule's evaluation error.
func (h *Harness) EvalUntil(until time.Duration) {
	h.t.Helper()
	for ; h.next <= until; h.next += h.interval {
		ts := time.Unix(0, 0).UTC().Add(h.next)
		h.ll.WithSamplesTill(ts, func(err error) {
			require.NoError(h.t, err)
			for _, err := range h.evalAt(ts) {
				require.NoError(h.t, err, "at %s", h.next)
			}
		})
		h.now = h.next
	}
}

// EvalOnceAt evaluates every group once at the offset at, whatever the
// evaluations before (as a clock stepped back would), and returns the
// rules' errors, each naming its rule. It appends no loaded samples.
func (h *Harness) EvalOnceAt(at time.Duration) []error {
	return h.evalAt(time.Unix(0, 0).UTC().Add(at))
}

// evalAt evaluates every group once at ts and returns the rules' errors.
func (h *Harness) evalAt(ts time.Time) []error {
	var errs []error
	for _, g := range h.groups {
		g.Eval(h.ll.Context(), ts)
		for _, r := range g.Rules() {
			if err := r.LastError(); err != nil {
				errs = append(errs, fmt.Errorf("rule %s: %w", r.Name(), err))
			}
		}
	}
	return errs
}

// Series runs expr at the last evaluation time and returns each result's
// labels without the metric name (in Prometheus' {a="b", ...} form) → value.
func (h *Harness) Series(expr string) map[string]float64 {
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
		key := s.Metric.DropReserved(func(n string) bool { return n == model.MetricNameLabel }).String()
		_, dup := out[key]
		require.False(h.t, dup, "%s returned %s twice", expr, key)
		out[key] = s.F
	}
	return out
}

// Alerts returns the active alerts of the alerting rule name, keyed by
// their labels without alertname and Options.AlertKeyWithout.
func (h *Harness) Alerts(name string) map[string]*promrules.Alert {
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
				out[labels.NewBuilder(a.Labels).Del(h.without...).Labels().String()] = a
			}
		}
	}
	require.True(h.t, found, "no alerting rule %s", name)
	return out
}

// AlertStates returns the state ("pending", "firing") of each active alert
// named name, keyed like Alerts.
func (h *Harness) AlertStates(name string) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for k, a := range h.Alerts(name) {
		out[k] = a.State.String()
	}
	return out
}

// AlertAnnotation returns annotation ann of each active alert named name,
// keyed like Alerts: what a receiver would read.
func (h *Harness) AlertAnnotation(name, ann string) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for k, a := range h.Alerts(name) {
		out[k] = a.Annotations.Get(ann)
	}
	return out
}

// RequireSeries asserts that expr returns exactly want (labels → value) on
// h, values within 1e-9 relative (zero exactly).
func RequireSeries(t *testing.T, h *Harness, expr string, want map[string]float64) {
	t.Helper()
	got := h.Series(expr)
	require.Equal(t, SortedKeys(want), SortedKeys(got), "series of %s", expr)
	for k, v := range want {
		if v == 0 {
			require.Zero(t, got[k], "%s %s", expr, k)
			continue
		}
		require.InEpsilon(t, v, got[k], 1e-9, "%s %s", expr, k)
	}
}

// SortedKeys returns the keys of m in order, for readable diffs.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// evalAt matches the time of a promqltest instant evaluation.
var evalAt = regexp.MustCompile(`^eval\S* +instant +at +(\S+)`)

// RunScript runs the promqltest script file path against rule files: its
// `load` commands (everything before the first `eval`) become opts.Load,
// the rules are evaluated every opts.Interval up to the latest `eval instant
// at`, and the script's eval commands then check the stored series, the
// rules' outputs among them, with promqltest's own expectations.
func RunScript(t *testing.T, opts Options, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	first := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "eval") })
	require.Positive(t, first, "%s: no load before the first eval", path)
	var until time.Duration
	for _, l := range lines[first:] {
		m := evalAt.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		at, err := model.ParseDuration(m[1])
		require.NoError(t, err, "%s: %s", path, l)
		until = max(until, time.Duration(at))
	}
	require.Positive(t, until, "%s: no `eval instant at` after the load", path)

	opts.Load = strings.Join(lines[:first], "")
	h := New(t, opts)
	h.EvalUntil(until)
	// Blank lines in place of the load keep promqltest's line numbers the file's.
	promqltest.RunTestWithStorage(t, strings.Repeat("\n", first)+strings.Join(lines[first:], ""), h.ll.QueryEngine(),
		func(testing.TB) storage.Storage { return openStorage{h.ll.Storage()} })
}

// openStorage keeps the harness's storage open when promqltest closes the
// storage it ran on: the harness closes it in its cleanup.
type openStorage struct{ storage.Storage }

func (openStorage) Close() error { return nil }
