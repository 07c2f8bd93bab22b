package slo

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/stretchr/testify/require"
)

// TestBudgetOverTenMinutes is the fresh install: ten minutes of probes,
// half of them timing out. The 1d attainment is 50% over the ten minutes
// that exist, both windows say they hold ten minutes, and the budget is
// what ten minutes at 50% spend of a 30-day budget of 1%:
// 0.5 × 600 s / 2 592 000 s / 0.01 = 1.157…%, leaving 98.84%, where the
// unweighted formula (1 − 0.5 / 0.01) reads −4900%.
func TestBudgetOverTenMinutes(t *testing.T) {
	t.Parallel()
	obj := Objective{Model: "m", Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe}
	files, _, err := RuleFiles([]Objective{obj}, nil)
	require.NoError(t, err)
	h := newHarness(t, time.Minute, files, "load 1m\n"+probeSeries("m", 10, 10, 10, []string{"5", "+Inf"}, []float64{10, 10}, 10))
	h.EvalUntil(10 * time.Minute)
	key := `{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`
	window := func(w string) string {
		return `{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe", window="` + w + `"}`
	}
	// Evaluations at 1m … 10m have a rate: ten samples, 600 s.
	require.Equal(t, map[string]float64{window("1d"): 600, window("30d"): 600}, h.Series(`tokenpath:slo_window_covered:seconds`))
	require.InDelta(t, 0.5, h.Series(`tokenpath:slo_attainment:ratio_rate1d`)[key], 1e-9)
	require.InDelta(t, 1-0.5*600.0/2592000/0.01, h.Series(`tokenpath:slo_error_budget_remaining:ratio`)[key], 1e-12)
	require.InDelta(t, 0.98842593, h.Series(`tokenpath:slo_error_budget_remaining:ratio`)[key], 1e-8)
}

// TestBudgetOverThirtyDays evaluates the covered-window and budget
// expressions on 31 days of recorded error ratios (0.2% errors, one sample a
// minute, as the SLO group writes them): half way through, the budget
// counts the 15 days that exist; once 30 days are covered it is the
// standard 1 − ratio / (1 − target) = 1 − 0.002 / 0.01 = 80%, and stays so.
func TestBudgetOverThirtyDays(t *testing.T) {
	t.Parallel()
	const minutes = 31 * 24 * 60
	lbls := `slo="probe-ttft-5s", indicator="ttft", source="probe", server="probe", instance="127.0.0.1:8000", model="m"`
	load := fmt.Sprintf("load 1m\n  tokenpath:slo_errors:ratio_rate5m{%[1]s} 0.002x%[2]d\n  tokenpath:slo_errors:ratio_rate3d{%[1]s} 0.002x%[2]d\n", lbls, minutes)
	ll, err := promqltest.NewLazyLoader(load, promqltest.LazyLoaderOpts{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ll.Close()) })
	// 30 days at a minute are 43 200 samples a series: more than the
	// loader's own engine allows a query (10 000), far under tokenpath's
	// --query.max-samples.
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: time.Minute})
	t.Cleanup(func() { require.NoError(t, engine.Close()) })
	sel := `{slo="probe-ttft-5s"}`
	query := func(at time.Duration, expr string) float64 {
		t.Helper()
		var v float64
		ll.WithSamplesTill(time.Unix(0, 0).Add(at), func(err error) {
			require.NoError(t, err)
			q, err := engine.NewInstantQuery(ll.Context(), ll.Queryable(), nil, expr, time.Unix(0, 0).Add(at))
			require.NoError(t, err)
			defer q.Close()
			vec, err := q.Exec(ll.Context()).Vector()
			require.NoError(t, err, expr)
			require.Len(t, vec, 1, expr)
			v = vec[0].F
		})
		return v
	}
	tests := []struct {
		at      time.Duration
		covered float64 // seconds: samples in (at − 30d, at] × 60
		budget  float64
	}{
		// Samples at 0 … 15d: 21 601.
		{at: 15 * 24 * time.Hour, covered: 21601 * 60, budget: 1 - 0.002*(21601*60.0/2592000)/0.01},
		// (1d, 31d]: exactly 43 200 samples, 30 days.
		{at: 31 * 24 * time.Hour, covered: 2592000, budget: 0.8},
	}
	for _, tc := range tests {
		require.InDelta(t, tc.covered, query(tc.at, coveredExpr(coveredMonth, sel)), 1e-9, "covered at %s", tc.at)
		require.InDelta(t, tc.budget, query(tc.at, budgetRemaining(sel, 0.01)), 1e-12, "budget at %s", tc.at)
	}
}
