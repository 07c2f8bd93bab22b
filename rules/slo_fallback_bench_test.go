package rules

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/stretchr/testify/require"
)

// BenchmarkSLOBucketFallback splits the server SLOs' error-ratio rules
// (rules/slo: the classic bucket at the threshold over +Inf, `or` the
// histogram_fraction over every bucket where that boundary is missing) into
// their two operands and evaluates each alone beside the whole rule, on
// BenchmarkRuleGroups' history: how much of a window's cost is the fallback,
// which reads every bucket of every row although its result is discarded
// wherever the exact bucket exists (PromQL evaluates both sides of `or`).
func BenchmarkSLOBucketFallback(b *testing.B) {
	rb := newRuleBench(b, exportedRuleFiles(b))
	ctx := context.Background()
	for _, g := range rb.groups {
		if !strings.HasPrefix(g.Name(), "tokenpath.slo.server-") {
			continue
		}
		for _, r := range g.Rules() {
			rec, ok := r.(*promrules.RecordingRule)
			if !ok || rec.Name() != "tokenpath:slo_errors:ratio_rate1h" {
				continue
			}
			exact, fallback := splitBucketFallback(b, rec.Query())
			for _, form := range []struct{ name, expr string }{
				{"rule", rec.Query().String()}, {"exact_bucket", exact}, {"histogram_fraction", fallback},
			} {
				b.Run(g.Name()+"/"+form.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						_, err := rb.query(ctx, form.expr, rb.at)
						require.NoError(b, err)
					}
				})
			}
		}
	}
}

// splitBucketFallback returns the `or` of every `A or B` operand pair of expr
// whose right side calls histogram_fraction: the A's and the B's.
func splitBucketFallback(b *testing.B, expr parser.Expr) (exact, fallback string) {
	b.Helper()
	var lhs, rhs []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		be, ok := node.(*parser.BinaryExpr)
		if !ok || be.Op != parser.LOR || !strings.Contains(be.RHS.String(), "histogram_fraction(") {
			return nil
		}
		if strings.Contains(be.LHS.String(), "histogram_fraction(") {
			return nil // the outer `or` of the server kinds
		}
		lhs, rhs = append(lhs, be.LHS.String()), append(rhs, be.RHS.String())
		return nil
	})
	require.NotEmpty(b, lhs, "no bucket fallback in %s", expr)
	return strings.Join(lhs, " or "), strings.Join(rhs, " or ")
}
