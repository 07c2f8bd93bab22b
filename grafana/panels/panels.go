// Package panels is the one place where the PromQL behind every chart lives.
// The web UI and the Grafana dashboards both read their queries from here, so a
// renamed series cannot leave one of them behind.
package panels

// Kind says how a panel draws its queries.
type Kind string

// Panel kinds.
const (
	KindTimeSeries Kind = "timeseries"
	KindHeatmap    Kind = "heatmap"
	KindStat       Kind = "stat"
	KindStateBand  Kind = "state-timeline"
)

// Query is one PromQL expression of a panel. Expressions may use the template
// variables $model, $instance and $gpu (Grafana's syntax); the web UI
// substitutes them the same way (see Expand).
type Query struct {
	Expr   string
	Legend string // Grafana legend format, e.g. "{{model}} p99".
	// RightAxis draws the query on a second y axis (batch size over tokens/s).
	RightAxis bool
}

// Panel is one chart.
type Panel struct {
	ID      string // Stable identifier, used in URLs and data-testid attributes.
	Title   string
	Unit    string // Grafana unit id: "s", "percent", "percentunit", "bytes", "watt", "celsius", "short", "reqps", "hertz".
	Kind    Kind
	Queries []Query
}
