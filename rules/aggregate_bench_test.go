package rules

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/teststorage"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/metricnames"
)

// aggregateFirst is the restructure of aggregate that issue 14's profile
// suggested and BenchmarkAggregateForms measures (not adopted: see
// docs/benchmarks.md, "Rule evaluation cost"): aggregate by the unified
// labels plus model_name first, so that label_replace runs on the already
// aggregated series, then aggregate model_name away. It gives aggregate's
// results (up to float summation order) wherever aggregate evaluates without
// error; it is kept here, beside the benchmark, as the measured alternative.
func aggregateFirst(server, op, by, expr string) (string, error) {
	labels := "host, instance, job, model"
	if by != "" {
		labels += ", " + by
	}
	inner := expr
	if server == "sglang" {
		inner = fmt.Sprintf("max without (tp_rank, pp_rank, attn_tp_rank, moe_ep_rank) (%s)", expr)
	}
	switch server {
	case "vllm", "sglang":
		return fmt.Sprintf(`%[1]s by (%[2]s) (label_replace(%[1]s by (%[2]s, model_name) (%[3]s), "model", "$1", "model_name", "(.+)"))`, op, labels, inner), nil
	default:
		return aggregate(server, op, by, expr)
	}
}

// BenchmarkAggregateForms evaluates the vLLM bucket recordings (the six
// `agg "vllm" "sum" "le" (rate(…_bucket[1m]))` rules of the token-path group,
// one op evaluating all six) in aggregate's form and in aggregateFirst's, on
// the benchmark's servers with one data-parallel engine per model (what
// scripts/benchtarget serves) and with four; it first checks that both forms
// give the same series and values.
func BenchmarkAggregateForms(b *testing.B) {
	forms := []struct {
		name string
		agg  func(server, op, by, expr string) (string, error)
	}{{"label_replace_first", aggregate}, {"aggregate_first", aggregateFirst}}
	var metrics []string
	for _, q := range []metricnames.Quantity{metricnames.TTFT, metricnames.ITL, metricnames.Queue, metricnames.Prefill, metricnames.Decode, metricnames.E2E} {
		names, err := metricnames.Lookup(metricnames.VLLM, q)
		require.NoError(b, err)
		metrics = append(metrics, names[0])
	}
	for _, engines := range []int{1, 4} {
		b.Run(fmt.Sprintf("engines=%d", engines), func(b *testing.B) {
			db := teststorage.New(b)
			until := benchStart.Add(2 * time.Minute)
			series, _ := loadSimulatedVLLM(b, db, benchStart, until, engines)
			b.Logf("%d series", series)
			engine := promql.NewEngine(promql.EngineOpts{MaxSamples: defaultMaxSamples, Timeout: defaultQueryTimeout, LookbackDelta: defaultLookbackDelta})
			ctx := context.Background()
			eval := func(expr string) promql.Vector {
				q, err := engine.NewInstantQuery(ctx, db, nil, expr, until)
				require.NoError(b, err)
				defer q.Close()
				res := q.Exec(ctx)
				require.NoError(b, res.Err, expr)
				v, err := res.Vector()
				require.NoError(b, err)
				return v
			}
			exprs := make([][]string, len(forms))
			for i, f := range forms {
				for _, m := range metrics {
					e, err := f.agg("vllm", "sum", "le", fmt.Sprintf("rate(%s_bucket[1m])", m))
					require.NoError(b, err)
					exprs[i] = append(exprs[i], e)
				}
			}
			for j := range metrics {
				want, got := map[string]float64{}, map[string]float64{}
				for _, s := range eval(exprs[0][j]) {
					want[s.Metric.String()] = s.F
				}
				for _, s := range eval(exprs[1][j]) {
					got[s.Metric.String()] = s.F
				}
				require.Len(b, got, len(want), metrics[j])
				for k, w := range want {
					require.Contains(b, got, k)
					require.LessOrEqual(b, math.Abs(got[k]-w), 1e-9*math.Abs(w), k)
				}
			}
			for i, f := range forms {
				b.Run(f.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						for _, e := range exprs[i] {
							eval(e)
						}
					}
				})
			}
		})
	}
}
