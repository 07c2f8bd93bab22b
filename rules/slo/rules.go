package slo

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ritwikareddykancharla/token-path-observability/rules/cause"
	"github.com/ritwikareddykancharla/token-path-observability/scrape/probe"
)

// probeHistogram is one probe latency histogram and the unified quantity it
// maps onto.
type probeHistogram struct {
	quantity string // ttft, itl, e2e
	metric   string
	labels   map[string]string
}

// probeHistograms returns the probe histograms with a unified name.
func probeHistograms() []probeHistogram {
	return []probeHistogram{
		{quantity: "ttft", metric: "tokenpath_probe_ttft_seconds"},
		// Every gap between text chunks: what vLLM's own inter-token histogram
		// observes (one sample per engine step that emits tokens).
		{quantity: "itl", metric: "tokenpath_probe_inter_chunk_seconds", labels: map[string]string{"measure": "itl"}},
		{quantity: "e2e", metric: "tokenpath_probe_e2e_seconds"},
	}
}

// targetHostPort captures the host:port of a probe's `target` URL.
const targetHostPort = `(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?([^/]+).*`

// instanceFromTarget turns the probe's `target` (a URL) into `instance`
// (host:port), so that a probe's unified series sit next to the scraped
// server's, and drops `target`. by lists extra grouping labels (", le").
func instanceFromTarget(expr, by string) string {
	return fmt.Sprintf(`sum without (target) (label_replace(sum by (host, job, model, target%s) (%s), "instance", "$1", "target", %q))`, by, expr, targetHostPort)
}

// probedInstance replaces the `instance` of raw probe series (tokenpath's
// own self-scrape address) with the host:port the probe sent its requests
// to, so that a `sum by (instance, model)` keeps every probed server apart:
// two replicas of one model are two instances, never one model.
func probedInstance(expr string) string {
	return fmt.Sprintf(`label_replace(%s, "instance", "$1", "target", %q)`, expr, targetHostPort)
}

// probeBy groups probe-derived series per probed server and model, and per
// host: the external label a central engine's copies carry, so that rules
// evaluated there (tokenpath rules export) never merge two boxes. Locally
// the series have no host and the label changes nothing.
const probeBy = "host, instance, model"

func withLabels(base map[string]string, extra ...string) map[string]string {
	out := map[string]string{"server": "probe"}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

// probeRules are the probe's unified series and the client-server gap.
func probeRules(o Options) []group {
	var unified []rule
	for _, h := range probeHistograms() {
		q := h.quantity
		unified = append(unified,
			rule{
				Record: "tokenpath:" + q + "_seconds_bucket:rate1m",
				Labels: withLabels(h.labels),
				Expr:   instanceFromTarget(fmt.Sprintf("rate(%s_bucket[1m])", h.metric), ", le"),
			},
			// Classic first (scraped by default); the native histogram when
			// only it is ingested.
			rule{
				Record: "tokenpath:" + q + "_seconds_count:rate1m",
				Labels: withLabels(h.labels),
				Expr: instanceFromTarget(fmt.Sprintf("rate(%s_count[1m])", h.metric), "") + "\nor\n" +
					instanceFromTarget(fmt.Sprintf("histogram_count(rate(%s[1m]))", h.metric), ""),
			},
			rule{
				Record: "tokenpath:" + q + "_seconds_sum:rate1m",
				Labels: withLabels(h.labels),
				Expr: instanceFromTarget(fmt.Sprintf("rate(%s_sum[1m])", h.metric), "") + "\nor\n" +
					instanceFromTarget(fmt.Sprintf("histogram_sum(rate(%s[1m]))", h.metric), ""),
			},
		)
		for _, p := range []string{"0.5", "0.9", "0.99"} {
			// The native histogram first: exponential buckets everywhere; the
			// fine classic buckets otherwise. `>= 0` drops the NaN of a window
			// without probes.
			unified = append(unified, rule{
				Record: "tokenpath:" + q + "_seconds:histogram_quantile",
				Labels: withLabels(h.labels, "quantile", p),
				Expr: fmt.Sprintf("histogram_quantile(%s, %s) >= 0\nor\nhistogram_quantile(%s, %s) >= 0",
					p, instanceFromTarget(fmt.Sprintf("rate(%s[1m])", h.metric), ""),
					p, instanceFromTarget(fmt.Sprintf("rate(%s_bucket[1m])", h.metric), ", le")),
			})
		}
		sel := `{server="probe"` + labelMatchers(h.labels) + `}`
		unified = append(unified, rule{
			Record: "tokenpath:" + q + "_seconds:mean_rate1m",
			Labels: withLabels(h.labels),
			Expr: fmt.Sprintf("tokenpath:%s_seconds_sum:rate1m%s\n/\n(tokenpath:%s_seconds_count:rate1m%s > 0)",
				q, sel, q, sel),
		})
	}
	// The probe's TPOT has no unified name (TGI's measure="tpot" includes
	// prefill; the probe's does not).
	for _, p := range []string{"0.5", "0.9", "0.99"} {
		unified = append(unified, rule{
			Record: "tokenpath:probe_tpot_seconds:histogram_quantile",
			Labels: withLabels(nil, "quantile", p),
			Expr: fmt.Sprintf("histogram_quantile(%s, %s) >= 0\nor\nhistogram_quantile(%s, %s) >= 0",
				p, instanceFromTarget("rate(tokenpath_probe_tpot_seconds[1m])", ""),
				p, instanceFromTarget("rate(tokenpath_probe_tpot_seconds_bucket[1m])", ", le")),
		})
	}
	all := instanceFromTarget("rate(tokenpath_probe_requests_total[1m])", "")
	unified = append(unified, rule{
		Record: "tokenpath:request_errors:ratio_rate1m",
		Labels: withLabels(nil),
		Expr: fmt.Sprintf("(\n  %s\n  or\n  %s * 0\n)\n/\n(%s > 0)",
			instanceFromTarget(`rate(tokenpath_probe_requests_total{outcome!~"ok|no_usage"}[1m])`, ""), all, all),
	})

	// The gap per probed server (instance) and model over 5 minutes: a
	// probe every 30 s puts about ten probes in the window. Server side:
	// every server with a TTFT histogram (vLLM, SGLang) at the same
	// instance. Replicas of one model are separate instances, so a slow
	// replica's gap never borrows a healthy replica's numbers.
	probeP50 := fmt.Sprintf(`histogram_quantile(0.5, sum by (%[1]s) (%[2]s)) >= 0`, probeBy, probedInstance(`rate(tokenpath_probe_ttft_seconds{model!=""}[5m])`)) +
		"\n  or\n  " +
		fmt.Sprintf(`histogram_quantile(0.5, sum by (%[1]s, le) (%[2]s)) >= 0`, probeBy, probedInstance(`rate(tokenpath_probe_ttft_seconds_bucket{model!=""}[5m])`))
	serverP50 := `histogram_quantile(0.5, sum by (host, instance, model, le) (avg_over_time(tokenpath:ttft_seconds_bucket:rate1m{server!="probe", model!=""}[5m]))) >= 0`
	probeMean := fmt.Sprintf(`sum by (%[1]s) (%[2]s) / (sum by (%[1]s) (%[3]s) > 0)`, probeBy,
		probedInstance(`rate(tokenpath_probe_ttft_seconds_sum{model!=""}[5m])`),
		probedInstance(`rate(tokenpath_probe_ttft_seconds_count{model!=""}[5m])`)) +
		"\n  or\n  " +
		// histogram_sum / histogram_count rather than histogram_avg, which
		// Prometheus 2.x (Debian's, where exported rules also run) lacks.
		fmt.Sprintf(`histogram_sum(sum by (%[1]s) (%[2]s)) / (histogram_count(sum by (%[1]s) (%[2]s)) > 0)`, probeBy, probedInstance(`rate(tokenpath_probe_ttft_seconds{model!=""}[5m])`))
	serverMean := `sum by (host, instance, model) (avg_over_time(tokenpath:ttft_seconds_sum:rate1m{server!="probe", model!=""}[5m]))` +
		"\n  /\n  " +
		`(sum by (host, instance, model) (avg_over_time(tokenpath:ttft_seconds_count:rate1m{server!="probe", model!=""}[5m])) > 0)`
	gap := []rule{
		{
			Record: "tokenpath:ttft_client_server_gap_seconds",
			Labels: map[string]string{"quantile": "0.5"},
			Expr:   fmt.Sprintf("(\n  %s\n)\n- on (host, instance, model)\n(\n  %s\n)", probeP50, serverP50),
		},
		{
			Record: "tokenpath:ttft_client_server_gap_seconds:mean_rate5m",
			Expr:   fmt.Sprintf("(\n  %s\n)\n- on (host, instance, model)\n(\n  %s\n)", probeMean, serverMean),
		},
		{
			Alert: AlertClientServerGap,
			Expr:  `tokenpath:ttft_client_server_gap_seconds{quantile="0.5"} > ` + num(o.GapThreshold.Seconds()),
			For:   promDuration(o.GapFor),
			Labels: map[string]string{
				"severity": "warning",
			},
			Annotations: map[string]string{
				"summary": "Requests for {{ $labels.model }} on {{ $labels.instance }} wait {{ $value | humanizeDuration }} in front of the engine",
				"description": "The probes' median time to first token of {{ $labels.instance }} is {{ $value | humanizeDuration }} above that server's own median for " +
					"{{ $labels.model }} over 5 minutes (threshold " + o.GapThreshold.String() + "). The servers start their clock when a request " +
					"reaches the engine, so the difference is spent before it: a proxy or gateway, the HTTP accept queue, authentication, " +
					"tokenisation threads, or the network.",
			},
		},
	}
	return []group{
		{Name: "tokenpath.probe", Rules: unified},
		{Name: "tokenpath.probe_gap", Rules: gap},
	}
}

func labelMatchers(l map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(l) {
		fmt.Fprintf(&b, ", %s=%q", k, l[k])
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// sloInterval is the evaluation interval of the SLO groups.
const sloInterval = "1m"

// windows are the error-ratio windows the burn-rate alerts read.
func windows() []string { return []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"} }

// burn is one multi-window burn-rate condition.
type burn struct {
	long, short string
	factor      float64
}

// pageBurns and ticketBurns are the Google SRE workbook's pairs for a
// 30-day objective.
func pageBurns() []burn   { return []burn{{"1h", "5m", 14.4}, {"6h", "30m", 6}} }
func ticketBurns() []burn { return []burn{{"1d", "2h", 3}, {"3d", "6h", 1}} }

// probeMetric is the probe histogram and its classic boundaries for an
// indicator.
func probeMetric(indicator string) (string, []float64) {
	switch indicator {
	case IndicatorTTFT:
		return "tokenpath_probe_ttft_seconds", probe.LatencyBuckets()
	case IndicatorTPOT:
		return "tokenpath_probe_tpot_seconds", probe.TokenBuckets()
	default:
		return "tokenpath_probe_inter_chunk_seconds", probe.TokenBuckets()
	}
}

// sloGroup generates one objective's rules and its warnings.
func sloGroup(obj Objective, buckets map[string][]float64) (group, []string) {
	name := obj.Name()
	base := map[string]string{"slo": name, "indicator": obj.Indicator, "source": obj.Source}
	modelSel := ""
	if obj.Model != "" {
		modelSel = fmt.Sprintf("model=%q", obj.Model)
	}
	var (
		rules    []rule
		warnings []string
		goodput  []rule
	)
	threshold := obj.Threshold.Seconds()
	switch obj.Source {
	case SourceProbe:
		metric, bounds := probeMetric(obj.Indicator)
		tb, exact := nearestBoundary(threshold, bounds)
		if !exact {
			warnings = append(warnings, fmt.Sprintf(
				"SLO %s: the threshold %s is not a boundary of the probe's %s buckets (%s); good events are counted at the nearest boundary, %s s, not interpolated",
				name, obj.Threshold, metric, neighbours(threshold, bounds), num(tb),
			))
		}
		sel := braces(modelSel)
		lbls := withLabels(base)
		for _, w := range windows() {
			rules = append(rules, rule{
				Record: "tokenpath:slo_errors:ratio_rate" + w,
				Labels: lbls,
				Expr:   probeErrorRatio(obj.Indicator, metric, num(tb), sel, w),
			})
		}
		goodput = append(goodput, rule{
			Record: "tokenpath:slo_goodput:rate5m",
			Labels: lbls,
			Expr:   probeGood(obj.Indicator, metric, num(tb), sel, "5m"),
		})
	case SourceServer:
		// One rule per window over every server kind (joined with `or`;
		// their series differ by the server label): two rules recording the
		// same name with the same labels in one file are what promtool's
		// duplicate-rules lint rejects.
		quantity := obj.Indicator
		errs := map[string][]string{}
		var good []string
		for _, server := range serverKinds(obj.Indicator, buckets) {
			bounds := buckets[server+":"+obj.Indicator]
			tb, exact := nearestBoundary(threshold, bounds)
			if !exact {
				warnings = append(warnings, fmt.Sprintf(
					"SLO %s: the threshold %s is not a bucket boundary of %s's %s histogram (%s); good requests are counted at the nearest boundary, %s s, not interpolated — use source %q for an exact %s",
					name, obj.Threshold, server, obj.Indicator, neighbours(threshold, bounds), num(tb), SourceProbe, obj.Threshold,
				))
			}
			matchers := []string{fmt.Sprintf("server=%q", server)}
			if obj.Indicator == IndicatorITL {
				matchers = append(matchers, `measure="itl"`)
			}
			if modelSel != "" {
				matchers = append(matchers, modelSel)
			}
			sel := "{" + strings.Join(matchers, ", ") + "}"
			for _, w := range windows() {
				// The bucket at the threshold over all events (exact, and
				// understood by Prometheus 2.x too); where the server's real
				// buckets lack that boundary, histogram_fraction interpolates
				// (Prometheus 3 only).
				errs[w] = append(errs[w], fmt.Sprintf("1 - (\n  (\n    sum by (host, server, instance, model) (avg_over_time(tokenpath:%[1]s_seconds_bucket:rate1m%[2]s[%[4]s]))\n    /\n    (sum by (host, server, instance, model) (avg_over_time(tokenpath:%[1]s_seconds_bucket:rate1m%[3]s[%[4]s])) > 0)\n  )\n  or\n  (histogram_fraction(0, %[6]s, sum by (host, server, instance, model, le) (avg_over_time(tokenpath:%[1]s_seconds_bucket:rate1m%[5]s[%[4]s]))) >= 0)\n)",
					quantity, withMatcher(sel, leMatcher(tb)), withMatcher(sel, `le="+Inf"`), w, sel, num(tb)))
			}
			good = append(good, fmt.Sprintf("sum by (host, server, instance, model) (avg_over_time(tokenpath:%[1]s_seconds_bucket:rate1m%[2]s[5m]))\nor\n(histogram_fraction(0, %[4]s, sum by (host, server, instance, model, le) (avg_over_time(tokenpath:%[1]s_seconds_bucket:rate1m%[3]s[5m]))) >= 0)\n* on (host, server, instance, model)\nsum by (host, server, instance, model) (avg_over_time(tokenpath:%[1]s_seconds_count:rate1m%[3]s[5m]))",
				quantity, withMatcher(sel, leMatcher(tb)), sel, num(tb)))
		}
		if len(good) > 0 {
			lbls := maps.Clone(base)
			for _, w := range windows() {
				rules = append(rules, rule{
					Record: "tokenpath:slo_errors:ratio_rate" + w,
					Labels: lbls,
					Expr:   orAll(errs[w]),
				})
			}
			goodput = append(goodput, rule{
				Record: "tokenpath:slo_goodput:rate5m",
				Labels: lbls,
				Expr:   orAll(good),
			})
		}
	}
	rules = append(rules, goodput...)

	sloSel := fmt.Sprintf("{slo=%q", name)
	if modelSel != "" {
		sloSel += ", " + modelSel
	}
	sloSel += "}"
	budget := 1 - obj.Target
	meta := map[string]string{"slo": name, "indicator": obj.Indicator, "source": obj.Source}
	if obj.Model != "" {
		meta["model"] = obj.Model
	}
	rules = append(rules,
		rule{Record: "tokenpath:slo_objective:ratio", Labels: meta, Expr: fmt.Sprintf("vector(%s)", num(obj.Target))},
		rule{Record: "tokenpath:slo_threshold:seconds", Labels: meta, Expr: fmt.Sprintf("vector(%s)", num(threshold))},
		// Every derived series names its objective in the rule's labels too
		// (the same values the selected series carry), so that the rules of
		// several objectives in one file are told apart by promtool.
		rule{Record: "tokenpath:slo_attainment:ratio_rate1d", Labels: meta, Expr: "1 - tokenpath:slo_errors:ratio_rate1d" + sloSel},
		// The 30-day figures average the 5-minute ratios, as Sloth does: no
		// 30-day range over raw counters on every evaluation.
		rule{Record: "tokenpath:slo_attainment:ratio_rate30d", Labels: meta, Expr: fmt.Sprintf("1 - avg_over_time(tokenpath:slo_errors:ratio_rate5m%s[30d])", sloSel)},
		// How much of each nominal window holds data, so that a figure
		// computed from ten minutes says so.
		coveredRule(coveredDay, sloSel, meta),
		coveredRule(coveredMonth, sloSel, meta),
		rule{Record: "tokenpath:slo_error_budget_remaining:ratio", Labels: meta, Expr: budgetRemaining(sloSel, budget)},
		rule{Record: "tokenpath:slo_burn_rate:ratio_rate1h", Labels: meta, Expr: fmt.Sprintf("tokenpath:slo_errors:ratio_rate1h%s / %s", sloSel, num(budget))},
		burnAlert(AlertFastBurn, "critical", "page", "2m", pageBurns(), sloSel, budget, obj),
		burnAlert(AlertSlowBurn, "warning", "ticket", "15m", ticketBurns(), sloSel, budget, obj),
	)
	gname := "tokenpath.slo." + name
	if obj.Model != "" {
		gname += "." + obj.Model
	}
	// Once a minute is enough for windows of 5 minutes to 3 days, and keeps
	// the day-long ranges off every 15 s evaluation.
	return group{Name: gname, Interval: sloInterval, Rules: rules}, warnings
}

func braces(m string) string {
	if m == "" {
		return ""
	}
	return "{" + m + "}"
}

// coveredWindow is a nominal SLO window and the error-ratio series whose
// presence marks the minutes the window has data.
type coveredWindow struct {
	name    string  // "1d", "30d": the `window` label.
	seconds float64 // the nominal length.
	marker  string  // the error ratio that exists while the window has events.
}

var (
	// coveredDay: the 1d ratio exists from the first event until a day
	// without any.
	coveredDay = coveredWindow{name: "1d", seconds: 86400, marker: "tokenpath:slo_errors:ratio_rate1d"}
	// coveredMonth: the 3d ratio, the longest recorded, marks the 30 days
	// (an objective idle for more than three days loses that gap).
	coveredMonth = coveredWindow{name: "30d", seconds: 30 * 86400, marker: "tokenpath:slo_errors:ratio_rate3d"}
)

// sloIntervalSeconds is sloInterval in seconds: each evaluation of a group
// adds one sample, so samples × interval is the time covered.
const sloIntervalSeconds = 60

// coveredExpr is the seconds of w that hold data: one sample of the marker
// per evaluation in the window.
func coveredExpr(w coveredWindow, sel string) string {
	return fmt.Sprintf("count_over_time(%s%s[%s]) * %d", w.marker, sel, w.name, sloIntervalSeconds)
}

// coveredRule records tokenpath:slo_window_covered:seconds{window}.
func coveredRule(w coveredWindow, sel string, meta map[string]string) rule {
	lbls := maps.Clone(meta)
	lbls["window"] = w.name
	return rule{
		Record: "tokenpath:slo_window_covered:seconds",
		Labels: lbls,
		Expr:   coveredExpr(w, sel),
	}
}

// budgetRemaining is the share of the 30-day error budget left, counting
// only the data that exists: the average 5-minute error ratio weighted by
// the share of the 30 days covered. Ten minutes at 50% errors spend
// 0.5 × 10 min / 30 d of the period's errors, not 0.5 of them: the budget
// is not extrapolated from a few minutes to a month. Once the 30 days are
// covered the weight is 1 and this is Sloth's 1 − avg / (1 − target). Both
// sides carry the same labels (slo, indicator, source, server, instance,
// model), so they match one to one.
func budgetRemaining(sel string, budget float64) string {
	return fmt.Sprintf("1 - (\n  avg_over_time(tokenpath:slo_errors:ratio_rate5m%s[30d])\n  *\n  clamp_max(%s / %s, 1)\n) / %s",
		sel, coveredExpr(coveredMonth, sel), num(coveredMonth.seconds), num(budget))
}

// probeGood is good events per second over w, per probed instance and
// model: probes (ttft, tpot) or gaps (itl) at or under tb seconds. Classic
// buckets first (exact at a boundary); the native histogram when only it is
// ingested, where the fraction is interpolated inside one native bucket
// (about 9% wide).
func probeGood(indicator, metric, tb, sel, w string) string {
	rate := func(series string) string {
		return probedInstance(fmt.Sprintf("rate(%s%s[%s])", series, sel, w))
	}
	rateWith := func(series, matcher string) string {
		return probedInstance(fmt.Sprintf("rate(%s%s[%s])", series, withMatcher(sel, matcher), w))
	}
	// The classic bucket at the boundary counts the good events exactly (and
	// Prometheus 2.x understands it); histogram_fraction covers buckets that
	// lack the boundary.
	classic := fmt.Sprintf("sum by (%[1]s) (%[2]s)\n  or\n  (histogram_fraction(0, %[3]s, sum by (%[1]s, le) (%[4]s)) >= 0)\n  * on (%[1]s) sum by (%[1]s) (%[5]s)",
		probeBy, rateWith(metric+"_bucket", leMatcher(tbValue(tb))), tb, rate(metric+"_bucket"), rate(metric+"_count"))
	native := fmt.Sprintf("histogram_fraction(0, %[1]s, sum by (%[2]s) (%[3]s))\n  * on (%[2]s) histogram_count(sum by (%[2]s) (%[3]s))",
		tb, probeBy, rate(metric))
	good := fmt.Sprintf("(\n  %s\n) >= 0\nor\n(\n  %s\n) >= 0", classic, native)
	if indicator == IndicatorITL {
		return good
	}
	// A target whose probes all fail has no latency in the window: 0 good.
	return fmt.Sprintf("%s\nor\n0 * sum by (%s) (%s)", good, probeBy, rate("tokenpath_probe_requests_total"))
}

// probeErrorRatio is the share of bad events over w, per probed instance
// and model. For ttft and tpot the events are probes of every outcome (a
// failed probe is bad); for itl they are the gaps of completed probes.
func probeErrorRatio(indicator, metric, tb, sel, w string) string {
	rate := func(series string) string {
		return probedInstance(fmt.Sprintf("rate(%s%s[%s])", series, sel, w))
	}
	if indicator == IndicatorITL {
		bucket := func(matcher string) string {
			return probedInstance(fmt.Sprintf("rate(%s_bucket%s[%s])", metric, withMatcher(sel, matcher), w))
		}
		return fmt.Sprintf("1 - (\n  sum by (%[2]s) (%[3]s) / (sum by (%[2]s) (%[4]s) > 0)\n  or\n  histogram_fraction(0, %[1]s, sum by (%[2]s, le) (%[6]s)) >= 0\n  or\n  histogram_fraction(0, %[1]s, sum by (%[2]s) (%[5]s)) >= 0\n)",
			tb, probeBy, bucket(leMatcher(tbValue(tb))), bucket(`le="+Inf"`), rate(metric), rate(metric+"_bucket"))
	}
	return fmt.Sprintf("1 - (\n%[1]s\n)\n/ on (%[2]s)\n(sum by (%[2]s) (%[3]s) > 0)",
		probeGood(indicator, metric, tb, sel, w), probeBy, rate("tokenpath_probe_requests_total"))
}

// burnAlert is one multi-window multi-burn-rate alert: any of the burns,
// each when both its long and its short window exceed factor × budget.
func burnAlert(name, severity, action, forDur string, burns []burn, sel string, budget float64, obj Objective) rule {
	parts := make([]string, 0, len(burns))
	var windows []string
	for _, b := range burns {
		limit := num(b.factor * budget)
		parts = append(parts, fmt.Sprintf("(\n  tokenpath:slo_errors:ratio_rate%s%s > %s\n  and\n  tokenpath:slo_errors:ratio_rate%s%s > %s\n)",
			b.long, sel, limit, b.short, sel, limit))
		windows = append(windows, fmt.Sprintf("%s/%s at %s×", b.long, b.short, num(b.factor)))
	}
	return rule{
		Alert: name,
		Expr:  strings.Join(parts, "\nor\n"),
		For:   forDur,
		Labels: map[string]string{
			"severity": severity,
			"action":   action,
			// The objective's name keeps the alerts of several objectives
			// apart in one file (promtool's duplicate-rules lint).
			"slo": obj.Name(),
		},
		Annotations: map[string]string{
			"summary": fmt.Sprintf("SLO {{ $labels.slo }} of {{ $labels.model }} on {{ $labels.instance }} burns its error budget (%s)", action),
			"description": fmt.Sprintf("{{ $value | humanizePercentage }} of %s events of {{ $labels.instance }} are over %s (objective: %s good over 30 days, error budget %s). "+
				"Windows: %s.", obj.Indicator, obj.Threshold, num(obj.Target), num(budget), strings.Join(windows, ", ")),
			// Why the budget burns: the diagnosis of the server the events
			// came from (the probes' instance is the probed server's).
			"diagnosis":   cause.Annotation(diagnosisSelector(obj.Source)),
			"runbook_url": cause.RunbookURL(diagnosisSelector(obj.Source)),
		},
	}
}

// diagnosisSelector selects the diagnosis row of a burn alert: the
// server's own series carry its server label; the probes' carry
// server="probe", so their row is found by instance and model alone.
func diagnosisSelector(source string) string {
	if source == SourceProbe {
		return cause.InstanceSelector
	}
	return cause.ServerSelector
}

// orAll joins expressions with `or`, one per line.
func orAll(exprs []string) string { return strings.Join(exprs, "\nor\n") }

// leMatcher selects the classic bucket whose upper bound is tb seconds.
// Counting the events of that bucket, rather than histogram_fraction over
// the buckets, is exact at a boundary (the only thresholds the rules use,
// see nearestBoundary) and works in every Prometheus version the exported
// rules may run in (2.x answers histogram_fraction for native histograms
// only). Prometheus 3 writes a whole-number bound as "5.0", 2.x as "5":
// both match.
func leMatcher(tb float64) string {
	s := num(tb)
	if strings.ContainsAny(s, ".eInf") {
		return fmt.Sprintf("le=%q", s)
	}
	return fmt.Sprintf(`le=~"%s|%s\\.0"`, s, s)
}

// withMatcher adds a label matcher to a selector's braces ("" or "{…}").
func withMatcher(sel, matcher string) string {
	if sel == "" {
		return "{" + matcher + "}"
	}
	return strings.TrimSuffix(sel, "}") + ", " + matcher + "}"
}

// tbValue parses a boundary formatted by num back into a number.
func tbValue(tb string) float64 {
	v, err := strconv.ParseFloat(tb, 64)
	if err != nil {
		// tb is always num() of a float64: it parses.
		panic(fmt.Sprintf("slo: boundary %q: %v", tb, err))
	}
	return v
}
