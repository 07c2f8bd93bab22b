package web

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// hostLabel is the external label naming the tokenpath a series came from
// (server.HostLabel). A central engine holding many tokenpaths' series has
// it on every series; a tokenpath's own TSDB has it on none (external labels
// are added on the way out), so an empty host filter must match series
// without the label too.
const hostLabel = "host"

// promql parses chart expressions to narrow them to a host.
var promql = parser.NewParser(parser.Options{})

// narrowToHost adds host="<host>" to every series selector of expr, so one
// function narrows every chart and GPU query whatever its shape (nested
// aggregations, `or on ()` alternatives, range selectors). The dashboards'
// queries carry $model and $instance but no host matcher: the UI adds it
// here rather than in each query. An empty host leaves expr as it is.
func narrowToHost(expr, host string) (string, error) {
	if host == "" {
		return expr, nil
	}
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return "", fmt.Errorf("narrowing %q to host %q: %w", expr, host, err)
	}
	m, err := labels.NewMatcher(labels.MatchEqual, hostLabel, host)
	if err != nil {
		return "", fmt.Errorf("narrowing %q to host %q: %w", expr, host, err)
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, m)
		}
		return nil
	})
	return e.String(), nil
}
