package panels

import (
	"regexp"
	"strconv"
	"time"
)

// LongRange is the chart range from which heatmaps and percentile charts read
// the 5 m long-range series (rules/defaults/longrange.rules.yml.tmpl) instead
// of the 1 m ones. At 6 h a chart of ~1000 points has a step of ~20 s, still
// finer than 5 m would draw; beyond it the 1 m series' four samples a minute
// are more than the chart can show, and reading them is what makes a 7 d
// heatmap slow.
const LongRange = 6 * time.Hour

// The Grafana variables that hold the series names a dashboard's range
// chooses (RangeVariables): Grafana cannot switch a query by range, but it
// can recompute a hidden variable on every time-range change and put its
// value into the metric name.
const (
	// VarBucketRate is "rate1m" or "rate5m": the suffix of the bucket rates.
	VarBucketRate = "lr_bucket_rate"
	// VarQuantile is "histogram_quantile" or "histogram_quantile_rate5m".
	VarQuantile = "lr_quantile"
)

// rangeSeries matches the series a long range replaces: a quantity's 1 m
// bucket rates and its percentiles (group 1 the quantity's prefix, group 2
// the suffix that changes).
var rangeSeries = regexp.MustCompile(`(tokenpath:(?:ttft|itl|queue|prefill|decode|e2e)_seconds)(_bucket:rate1m|:histogram_quantile)\{`)

// rewrite returns p with every query's long-range series renamed by name
// (given the matched suffix); the other queries are untouched.
func rewrite(p Panel, name func(suffix string) string) Panel {
	qs := make([]Query, len(p.Queries))
	for i, q := range p.Queries {
		q.Expr = rangeSeries.ReplaceAllStringFunc(q.Expr, func(m string) string {
			g := rangeSeries.FindStringSubmatch(m)
			return g[1] + name(g[2]) + "{"
		})
		qs[i] = q
	}
	p.Queries = qs
	return p
}

// ForRange returns p as the web UI draws it over a range of r: from LongRange
// on, heatmaps read tokenpath:*_seconds_bucket:rate5m and percentile charts
// tokenpath:*_seconds:histogram_quantile_rate5m (same labels, one sample per
// 5 minutes); shorter ranges keep the 1 m series.
func ForRange(p Panel, r time.Duration) Panel {
	if r < LongRange {
		return p
	}
	return rewrite(p, func(suffix string) string {
		if suffix == "_bucket:rate1m" {
			return "_bucket:rate5m"
		}
		return ":histogram_quantile_rate5m"
	})
}

// ForGrafana returns p as a Grafana dashboard draws it: the long-range series'
// names take their suffix from the hidden variables of RangeVariables.
func ForGrafana(p Panel) Panel {
	return rewrite(p, func(suffix string) string {
		if suffix == "_bucket:rate1m" {
			return "_bucket:${" + VarBucketRate + "}"
		}
		return ":${" + VarQuantile + "}"
	})
}

// RangeVariable is a hidden Grafana query variable recomputed on every
// time-range change: Query returns one series whose label v is the value,
// which Regex extracts.
type RangeVariable struct {
	Name, Query, Regex string
}

// RangeVariables returns the hidden variables ForGrafana's queries use. Each
// asks the data source a constant query: $__range_s (the dashboard's range in
// seconds, which Grafana substitutes in variable queries) at or above
// LongRange picks the 5 m name, else the 1 m one.
func RangeVariables() []RangeVariable {
	long := int64(LongRange.Seconds())
	choose := func(name, short, longName string) RangeVariable {
		q := `query_result(label_replace(vector($__range_s), "v", "` + longName + `", "", "") >= ` +
			strconv.FormatInt(long, 10) + ` or on () label_replace(vector(0), "v", "` + short + `", "", ""))`
		return RangeVariable{Name: name, Query: q, Regex: `/v="([^"]+)"/`}
	}
	return []RangeVariable{
		choose(VarBucketRate, "rate1m", "rate5m"),
		choose(VarQuantile, "histogram_quantile", "histogram_quantile_rate5m"),
	}
}
