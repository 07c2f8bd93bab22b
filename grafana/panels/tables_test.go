package panels

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// TestTablesAreWellFormed: every table query has a unique name, parses once
// its variables are filled, and uses no variable but $host, $model and
// $instance.
func TestTablesAreWellFormed(t *testing.T) {
	names := map[string]bool{}
	for _, tb := range append(Tables(), RowDetailTables()...) {
		require.NotEmpty(t, tb.Name)
		require.False(t, names[tb.Name], "duplicate table %q", tb.Name)
		names[tb.Name] = true
		require.NotEmpty(t, tb.Description, tb.Name)
		expr := Expand(tb.Expr, map[string]string{VarHost: Regex("a"), VarModel: Regex("m"), VarInstance: Regex("i:1")})
		require.NotContains(t, expr, "$", "%s: a variable no table may use in %s", tb.Name, tb.Expr)
		_, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
		require.NoError(t, err, "%s: %s", tb.Name, expr)
	}
}

// TestTableSelection: the token-path tables filter on the selection the
// way the charts do; the GPU map on the instance alone.
func TestTableSelection(t *testing.T) {
	vars := map[string]string{VarHost: Regex("box"), VarModel: Regex("llama"), VarInstance: Regex("10.0.0.1:8000")}
	want := `host=~"box",model=~"llama",instance=~"10\\.0\\.0\\.1:8000"`
	for _, tb := range []Table{LatencyQuantiles, ProbeTTFT, Diagnosis, ServerState, SLO, RowDetail, LastBuckets} {
		require.Contains(t, Expand(tb.Expr, vars), want, tb.Name)
	}
	require.Equal(t, `{__name__=~"tokenpath:inference_target_gpu|tokenpath_inference_target_gpu_mapping",instance=~"10\\.0\\.0\\.1:8000"}`, Expand(GPUMap.Expr, vars))
}
