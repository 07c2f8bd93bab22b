package panels

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		name string
		expr string
		vars map[string]string
		want string
	}{
		{"given", `a{model=~"$model"}`, map[string]string{"model": "llama"}, `a{model=~"llama"}`},
		{"braces", `a{model=~"${model}"}`, map[string]string{"model": "llama"}, `a{model=~"llama"}`},
		{"braces with format", `a{model=~"${model:regex}"}`, map[string]string{"model": "x"}, `a{model=~"x"}`},
		{"missing known becomes all", `a{gpu=~"$gpu",instance=~"$instance"}`, nil, `a{gpu=~".*",instance=~".*"}`},
		{"unknown left alone", `rate(a[$__rate_interval]) + $foo`, nil, `rate(a[$__rate_interval]) + $foo`},
		{"unknown given", `$foo`, map[string]string{"foo": "1"}, `1`},
		{"longer name is not a prefix match", `$models $model`, map[string]string{"model": "m"}, `$models m`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Expand(tt.expr, tt.vars))
		})
	}
}

func TestRegexMatchesOnlyTheValues(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		match   []string
		noMatch []string
	}{
		{"none is all", nil, []string{"", "anything"}, nil},
		{"one", []string{"meta-llama/Llama-3.1-8B"}, []string{"meta-llama/Llama-3.1-8B"}, []string{"meta-llama/Llama-3x1-8B", "meta-llama/Llama-3.1-8B-Instruct"}},
		{"two", []string{"a.b", "c"}, []string{"a.b", "c"}, []string{"axb", "ac"}},
		{"quotes and backslashes", []string{`we"ird\name`}, []string{`we"ird\name`}, []string{`weird`}},
		// Found by FuzzFilterSelector: a raw newline ended the PromQL string.
		{"control characters", []string{"line\nbreak", "tab\t"}, []string{"line\nbreak", "tab\t"}, []string{"line break", "tab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr := Expand(`up{model=~"$model"}`, map[string]string{"model": Regex(tt.values...)})
			e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
			require.NoError(t, err, expr)
			vs, ok := e.(*parser.VectorSelector)
			require.True(t, ok)
			var m *labels.Matcher
			for _, lm := range vs.LabelMatchers {
				if lm.Name == "model" {
					m = lm
				}
			}
			require.NotNil(t, m)
			for _, v := range tt.match {
				require.True(t, m.Matches(v), "%q should match %q", m, v)
			}
			for _, v := range tt.noMatch {
				require.False(t, m.Matches(v), "%q should not match %q", m, v)
			}
		})
	}
}

func TestPanelsAreWellFormed(t *testing.T) {
	sets := map[string][]Panel{"TokenPath": TokenPath(), "Latency": Latency(), "GPU": GPU(), "Energy": Energy()}
	for name, set := range sets {
		t.Run(name, func(t *testing.T) {
			require.NotEmpty(t, set)
			ids := map[string]bool{}
			for _, p := range set {
				require.NotEmpty(t, p.ID)
				require.False(t, ids[p.ID], "duplicate panel id %q", p.ID)
				ids[p.ID] = true
				require.NotEmpty(t, p.Title, p.ID)
				require.NotEmpty(t, p.Unit, p.ID)
				require.NotEmpty(t, p.Queries, p.ID)
				for _, q := range p.Queries {
					expr := Expand(q.Expr, nil)
					require.NotContains(t, expr, "$", "%s: unexpanded variable in %s", p.ID, expr)
					e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
					require.NoError(t, err, "%s: %s", p.ID, expr)
					if p.Kind == KindHeatmap {
						// A heatmap needs one series per bucket bound: every
						// alternative of the chain sums by le alone.
						for _, agg := range orAlternatives(t, e) {
							require.Equal(t, []string{"le"}, agg.Grouping, p.ID)
						}
					}
					// Every query filters on the variables of its group.
					if name == "GPU" {
						require.Contains(t, q.Expr, `gpu=~"$gpu"`, p.ID)
					} else {
						require.Contains(t, q.Expr, `model=~"$model"`, p.ID)
					}
					require.Contains(t, q.Expr, `instance=~"$instance"`, p.ID)
					require.Contains(t, q.Expr, `host=~"$host"`, p.ID)
				}
				if p.Kind == KindStateBand {
					require.NotEmpty(t, p.Mappings, p.ID)
				}
			}
		})
	}
}

// orAlternatives returns the operands of an `A or (B unless on () count(…))
// or …` chain: each an aggregation, every one but the first dropped where an
// earlier one has data.
func orAlternatives(t *testing.T, e parser.Expr) []*parser.AggregateExpr {
	t.Helper()
	switch e := e.(type) {
	case *parser.BinaryExpr:
		if e.Op.String() == "or" {
			require.False(t, e.VectorMatching != nil && e.VectorMatching.On, "a plain or joins alternatives that never overlap: %s", e)
			return append(orAlternatives(t, e.LHS), orAlternatives(t, e.RHS)...)
		}
		require.Equal(t, "unless", e.Op.String(), "%s", e)
		require.True(t, e.VectorMatching.On, "unless on () drops the alternative at every step an earlier one has data")
		require.Empty(t, e.VectorMatching.MatchingLabels)
		return orAlternatives(t, e.LHS)
	case *parser.ParenExpr:
		return orAlternatives(t, e.Expr)
	}
	agg, ok := e.(*parser.AggregateExpr)
	require.True(t, ok, "heatmap alternative %s is not an aggregation", e)
	return []*parser.AggregateExpr{agg}
}

// TestHeatmapPicksOneServerKind evaluates a heatmap query over buckets of
// vLLM and TGI together and alone: it must return one server's bounds only.
func TestHeatmapPicksOneServerKind(t *testing.T) {
	p, ok := Find("e2e_heatmap")
	require.True(t, ok)
	vllm := `tokenpath:e2e_seconds_bucket:rate1m{server="vllm",model="m",instance="a",le="%s"} %s`
	tgi := `tokenpath:e2e_seconds_bucket:rate1m{server="tgi",model="",instance="b",le="%s"} %s`
	series := func(tmpl string, les ...string) string {
		var b strings.Builder
		for _, le := range les {
			fmt.Fprintf(&b, "  "+tmpl+"\n", le, "1")
		}
		return b.String()
	}
	vllmLes := []string{"0.3", "0.5", "+Inf"}
	tgiLes := []string{"0.332526", "0.498789", "+Inf"}
	tests := []struct {
		name    string
		data    string
		vars    map[string]string
		wantLes []string
	}{
		{"both: vLLM wins", series(vllm, vllmLes...) + series(tgi, tgiLes...), nil, vllmLes},
		{"TGI alone", series(tgi, tgiLes...), nil, tgiLes},
		{"TGI selected by instance", series(vllm, vllmLes...) + series(tgi, tgiLes...), map[string]string{"instance": "b"}, tgiLes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evalInstant(t, tt.data, Expand(p.Queries[0].Expr, tt.vars))
			require.ElementsMatch(t, tt.wantLes, got)
		})
	}
}

// TestHeatmapPicksOneServerKindPerStep: where vLLM's buckets start in the
// middle of a range, the steps before show TGI's bounds and the steps after
// vLLM's only, never one kind's counts under the other's bounds (what
// VictoriaMetrics makes of `A or on () B`).
func TestHeatmapPicksOneServerKindPerStep(t *testing.T) {
	p, ok := Find("itl_heatmap")
	require.True(t, ok)
	var data strings.Builder
	for _, le := range []string{"0.3", "0.5", "+Inf"} {
		fmt.Fprintf(&data, "  tokenpath:itl_seconds_bucket:rate1m{server=\"vllm\",model=\"m\",instance=\"a\",le=%q} _ _ _ 1 1 1\n", le)
	}
	for _, le := range []string{"0.332526", "0.498789", "+Inf"} {
		fmt.Fprintf(&data, "  tokenpath:itl_seconds_bucket:rate1m{server=\"tgi\",model=\"\",instance=\"b\",le=%q} 1 1 1 1 1 1\n", le)
	}
	expr := Expand(p.Queries[0].Expr, nil)
	require.ElementsMatch(t, []string{"0.332526", "0.498789", "+Inf"}, evalInstantAt(t, data.String(), expr, 2*time.Minute))
	require.ElementsMatch(t, []string{"0.3", "0.5", "+Inf"}, evalInstantAt(t, data.String(), expr, 4*time.Minute))
}

func TestFind(t *testing.T) {
	p, ok := Find("gpu_state")
	require.True(t, ok)
	require.Equal(t, KindStateBand, p.Kind)
	require.Len(t, p.Mappings, 4)
	_, ok = Find("no such panel")
	require.False(t, ok)
}

func TestGPUStateQueryCoversEveryState(t *testing.T) {
	p, ok := Find("gpu_state")
	require.True(t, ok)
	for _, m := range p.Mappings {
		state := strings.ReplaceAll(m.Text, "-", "_")
		require.Contains(t, p.Queries[0].Expr, `state="`+state+`"`)
	}
}

// evalInstant loads series (promqltest "load" lines) into a test storage,
// evaluates expr at time 0 with Prometheus' engine and returns the le label
// of every result series.
func evalInstant(t *testing.T, series, expr string) []string {
	t.Helper()
	return evalInstantAt(t, series, expr, 0)
}

// evalInstantAt is evalInstant at offset at from time 0.
func evalInstantAt(t *testing.T, series, expr string, at time.Duration) []string {
	t.Helper()
	st := promqltest.LoadedStorage(t, "load 1m\n"+series)
	ng := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	q, err := ng.NewInstantQuery(t.Context(), st, nil, expr, time.Unix(0, 0).Add(at))
	require.NoError(t, err, expr)
	t.Cleanup(q.Close)
	res := q.Exec(t.Context())
	require.NoError(t, res.Err, expr)
	vec, err := res.Vector()
	require.NoError(t, err)
	var les []string
	for _, s := range vec {
		require.Equal(t, 1, s.Metric.Len(), "heatmap series carry le only: %s", s.Metric)
		les = append(les, s.Metric.Get("le"))
	}
	return les
}

// TestQueriesAvoidEngineDifferences: no chart query uses `or` with on() or
// ignoring(), which VictoriaMetrics (MetricsQL) evaluates series by series,
// filling the left side's missing steps with the right side's values, where
// Prometheus takes the right side's own series at those steps. The chart
// queries run on Prometheus, VictoriaMetrics and Mimir alike (`tokenpath
// fleet`, the Grafana dashboards on a central engine); cmd/tokenpath's
// TestFleetHosts compares the two engines' answers.
func TestQueriesAvoidEngineDifferences(t *testing.T) {
	for _, set := range [][]Panel{TokenPath(), Latency(), GPU(), Energy()} {
		for _, p := range set {
			for _, q := range p.Queries {
				e, err := parser.NewParser(parser.Options{}).ParseExpr(Expand(q.Expr, nil))
				require.NoError(t, err)
				parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
					if b, ok := n.(*parser.BinaryExpr); ok && b.Op.String() == "or" && b.VectorMatching != nil {
						require.False(t, b.VectorMatching.On || len(b.VectorMatching.MatchingLabels) > 0,
							"%s: %s uses or with on()/ignoring(), which VictoriaMetrics answers differently", p.ID, b)
					}
					return nil
				})
			}
		}
	}
}
