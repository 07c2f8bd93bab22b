package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/rules/internal/rulestest"
)

// evalInterval is the rule evaluation (and sample) interval of every test,
// tokenpath's default scrape interval.
const evalInterval = 15 * time.Second

// newRuleHarness renders DefaultRuleFiles(th) and evaluates them on load (a
// promqltest `load 15s` script).
func newRuleHarness(t *testing.T, th Thresholds, load string) *rulestest.Harness {
	t.Helper()
	opts := ruleOptions(t, th)
	opts.Load = load
	return rulestest.New(t, opts)
}

// ruleOptions are the harness options of DefaultRuleFiles(th): the files in
// ruleFileOrder, evaluated every evalInterval, alerts keyed without
// alertname and severity.
func ruleOptions(t *testing.T, th Thresholds) rulestest.Options {
	t.Helper()
	files, err := DefaultRuleFiles(th)
	require.NoError(t, err)
	ordered := make([]rulestest.File, 0, len(files))
	for _, name := range ruleFileOrder {
		ordered = append(ordered, rulestest.File{Name: name, Content: files[name]})
	}
	return rulestest.Options{Interval: evalInterval, Files: ordered, AlertKeyWithout: []string{"severity"}}
}

// requireSeries asserts that expr returns exactly want (rulestest).
var requireSeries = rulestest.RequireSeries

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
