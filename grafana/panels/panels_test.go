package panels

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
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
	sets := map[string][]Panel{"TokenPath": TokenPath(), "Latency": Latency(), "GPU": GPU()}
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
						// A heatmap needs one series per bucket bound.
						agg, ok := e.(*parser.AggregateExpr)
						require.True(t, ok, "%s: heatmap query must aggregate by le: %s", p.ID, expr)
						require.Equal(t, []string{"le"}, agg.Grouping, p.ID)
					}
					// Every query filters on the variables of its group.
					if name == "GPU" {
						require.Contains(t, q.Expr, `gpu=~"$gpu"`, p.ID)
					} else {
						require.Contains(t, q.Expr, `model=~"$model"`, p.ID)
					}
					require.Contains(t, q.Expr, `instance=~"$instance"`, p.ID)
				}
				if p.Kind == KindStateBand {
					require.NotEmpty(t, p.Mappings, p.ID)
				}
			}
		})
	}
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
