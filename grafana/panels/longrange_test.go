package panels

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// TestForRangePicksSeriesByRange checks that from LongRange on every heatmap
// reads the 5 m bucket rates and every percentile chart the 5 m percentiles,
// that shorter ranges keep the 1 m series, and that no other query changes.
func TestForRangePicksSeriesByRange(t *testing.T) {
	all := append(append(TokenPath(), Latency()...), GPU()...)
	cases := []struct {
		name           string
		r              time.Duration
		bucket, pctile string
	}{
		{"1h", time.Hour, "_seconds_bucket:rate1m{", "_seconds:histogram_quantile{"},
		{"just under 6h", LongRange - time.Minute, "_seconds_bucket:rate1m{", "_seconds:histogram_quantile{"},
		{"6h", LongRange, "_seconds_bucket:rate5m{", "_seconds:histogram_quantile_rate5m{"},
		{"7d", 7 * 24 * time.Hour, "_seconds_bucket:rate5m{", "_seconds:histogram_quantile_rate5m{"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			heatmaps, pctiles := 0, 0
			for _, p := range all {
				got := ForRange(p, tc.r)
				require.Len(t, got.Queries, len(p.Queries), p.ID)
				for i, q := range got.Queries {
					orig := p.Queries[i].Expr
					if p.Kind == KindHeatmap {
						heatmaps++
						require.Contains(t, q.Expr, "tokenpath:")
						require.Contains(t, q.Expr, tc.bucket, p.ID)
					}
					if strings.Contains(orig, "_seconds:histogram_quantile{") {
						pctiles++
						require.Contains(t, q.Expr, tc.pctile, p.ID)
					}
					// Only the names change: undo them and the query is the original.
					undone := strings.NewReplacer("_bucket:rate5m{", "_bucket:rate1m{", ":histogram_quantile_rate5m{", ":histogram_quantile{").Replace(q.Expr)
					require.Equal(t, orig, undone, p.ID)
				}
			}
			require.Positive(t, heatmaps)
			require.Positive(t, pctiles)
		})
	}
	// The panel set itself is left alone.
	require.Equal(t, all, append(append(TokenPath(), Latency()...), GPU()...))
}

// TestForGrafanaUsesTheRangeVariables checks that the dashboards' heatmaps
// and percentile charts name their series through the hidden variables, and
// that each variable's query offers exactly the 1 m and the 5 m name.
func TestForGrafanaUsesTheRangeVariables(t *testing.T) {
	for _, p := range append(TokenPath(), Latency()...) {
		for _, q := range ForGrafana(p).Queries {
			require.NotContains(t, q.Expr, "_seconds_bucket:rate1m{", p.ID)
			require.NotContains(t, q.Expr, "_seconds:histogram_quantile{", p.ID)
			if p.Kind == KindHeatmap {
				require.Contains(t, q.Expr, "_seconds_bucket:${"+VarBucketRate+"}{", p.ID)
			}
		}
	}
	want := map[string][2]string{
		VarBucketRate: {`"rate1m"`, `"rate5m"`},
		VarQuantile:   {`"histogram_quantile"`, `"histogram_quantile_rate5m"`},
	}
	vars := RangeVariables()
	require.Len(t, vars, len(want))
	for _, v := range vars {
		names, ok := want[v.Name]
		require.True(t, ok, v.Name)
		require.Contains(t, v.Query, "vector($__range_s), \"v\", "+names[1]+", \"\", \"\") >= 21600")
		require.Contains(t, v.Query, "or on () label_replace(vector(0), \"v\", "+names[0])
		require.Equal(t, `/v="([^"]+)"/`, v.Regex)
		// What Grafana sends once it has unwrapped query_result and
		// substituted the range is PromQL.
		inner := strings.TrimSuffix(strings.TrimPrefix(v.Query, "query_result("), ")")
		_, err := parser.NewParser(parser.Options{}).ParseExpr(strings.ReplaceAll(inner, "$__range_s", "86400"))
		require.NoError(t, err, v.Query)
	}
}
