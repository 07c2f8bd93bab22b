package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/a-h/templ"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
	"github.com/ritwikareddykancharla/token-path-observability/internal/apiquery"
	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// controls reads the range, refresh and filter state from the URL query,
// falling back to defaults for values the picker does not offer.
func controls(r *http.Request) components.Controls {
	q := r.URL.Query()
	c := components.Controls{
		Show:     true,
		Range:    q.Get("range"),
		Refresh:  q.Get("refresh"),
		Host:     q.Get("host"),
		Model:    q.Get("model"),
		Instance: q.Get("instance"),
	}
	if c.Range == "custom" {
		c.From, c.To = q.Get("from"), q.Get("to")
		if c.From == "" || c.To == "" {
			// Half a custom range is no range: fall back to the default.
			c.Range, c.From, c.To = "", "", ""
		}
	}
	if c.Range != "custom" && !slices.Contains(components.RangeOptions(), c.Range) {
		c.Range = components.DefaultRange
	}
	// Without a range in the URL, the page picks one that fits the data
	// (UI.page); links then keep leaving it out.
	c.AutoRange = q.Get("range") == "" && c.Range == components.DefaultRange
	if !slices.Contains(components.RefreshOptions(), c.Refresh) {
		c.Refresh = ""
	}
	return c
}

// rangeDuration returns how far back the page looks, for label lookups.
func rangeDuration(c components.Controls) time.Duration {
	if d, err := model.ParseDuration(c.Range); err == nil {
		return time.Duration(d)
	}
	return 24 * time.Hour
}

// chartRange returns the span the page's charts draw: the relative range,
// or the custom one's From–To.
func chartRange(c components.Controls) time.Duration {
	if c.Range == "custom" {
		// datetime-local values, with or without seconds; both ends are in
		// the same zone, so their difference needs none.
		parse := func(v string) (time.Time, error) {
			t, err := time.Parse("2006-01-02T15:04", v)
			if err != nil {
				t, err = time.Parse("2006-01-02T15:04:05", v)
			}
			return t, err
		}
		from, errFrom := parse(c.From)
		to, errTo := parse(c.To)
		if errFrom == nil && errTo == nil && to.After(from) {
			return to.Sub(from)
		}
	}
	return rangeDuration(c)
}

func (u *UI) page(r *http.Request, title, path string, reload bool) components.Page {
	c := controls(r)
	c.Show = path != ""
	if c.AutoRange && c.Show {
		c.Range = u.fittingRange(r.Context())
	}
	p := components.Page{
		Title:    title,
		Path:     path,
		Version:  u.version,
		AssetJS:  u.assetURL("app.js"),
		AssetCSS: u.assetURL("app.css"),
		Controls: c,
		Reload:   reload,
	}
	p.StorageError = u.storageError()
	return p
}

// hostSources are the series whose host label values the host selector
// offers: every tokenpath with an inference server has the first, every
// tokenpath with a GPU collector the second.
var hostSources = []string{"tokenpath:requests_running", "tokenpath_gpu_up"}

// withHosts fills the host selector from the label values of host in the
// page's range. A tokenpath's own series have no host, so it offers none
// there and the page shows everything; behind `tokenpath fleet` it offers
// every host that sent series.
func (u *UI) withHosts(ctx context.Context, p *components.Page) {
	p.Controls.HostFilter = true
	end := u.now()
	start := end.Add(-rangeDuration(p.Controls))
	vals, _, _, err := u.api.LabelValues(ctx, hostLabel, hostSources, start, end)
	if err != nil {
		u.log.Warn("listing label values", "label", hostLabel, "err", err)
		return
	}
	for _, val := range vals {
		if val != "" {
			p.Controls.Hosts = append(p.Controls.Hosts, string(val))
		}
	}
}

// withFilter fills the host, model and instance selectors from the label
// values of the token-path series in the page's range.
func (u *UI) withFilter(ctx context.Context, p *components.Page) {
	u.withHosts(ctx, p)
	p.Controls.Filter = true
	end := u.now()
	start := end.Add(-rangeDuration(p.Controls))
	for _, v := range panels.Variables() {
		var dst *[]string
		switch v.Name {
		case panels.VarModel:
			dst = &p.Controls.Models
		case panels.VarInstance:
			dst = &p.Controls.Instances
		default:
			continue
		}
		vals, _, _, err := u.api.LabelValues(ctx, v.Label, []string{v.Metric}, start, end)
		if err != nil {
			u.log.Warn("listing label values", "label", v.Label, "err", err)
			continue
		}
		for _, val := range vals {
			if val != "" {
				*dst = append(*dst, string(val))
			}
		}
	}
}

// chartsFrom turns dashboard panels into browser charts, substituting the
// URL's filter into the template variables and narrowing every query to the
// URL's host (narrowToHost). Each line's legend starts with its host (the
// legends of grafana/panels begin with {{host}}, empty on a tokenpath's own
// series), so equal instances on two hosts are told apart (heatmaps sum over
// hosts: their legend is the bucket).
func chartsFrom(c components.Controls, empty string, ps ...panels.Panel) []components.Chart {
	vars := map[string]string{}
	if c.Model != "" {
		vars[panels.VarModel] = panels.Regex(c.Model)
	}
	if c.Instance != "" {
		vars[panels.VarInstance] = panels.Regex(c.Instance)
	}
	out := make([]components.Chart, 0, len(ps))
	for _, p := range ps {
		// Long ranges read the 5 m heatmap and percentile series.
		p = panels.ForRange(p, chartRange(c))
		ch := components.Chart{
			ID: p.ID, Title: p.Title, Description: p.Description, Kind: string(p.Kind),
			Unit: p.Unit, Min: p.Min, Max: p.Max, Empty: empty,
		}
		for _, q := range p.Queries {
			expr, err := narrowToHost(panels.Expand(q.Expr, vars), c.Host)
			if err != nil {
				// Never another host's data under this host's name: the chart
				// says why it is empty instead.
				ch.Empty = err.Error()
				continue
			}
			ch.Queries = append(ch.Queries, components.ChartQuery{
				Expr: expr, Legend: q.Legend, Right: q.RightAxis, Unit: q.Unit,
			})
		}
		for _, m := range p.Mappings {
			ch.Mappings = append(ch.Mappings, components.ChartMapping{Value: m.Value, Text: m.Text, Color: m.Color})
		}
		out = append(out, ch)
	}
	return out
}

// setByName stores the sample's value in the field that fields names for
// its metric name; a series of another name changes nothing. It reads one
// table query's series into a row or a card.
func setByName(s *model.Sample, fields map[model.LabelValue]*components.Value) {
	if f, ok := fields[s.Metric[model.MetricNameLabel]]; ok {
		*f = components.Some(float64(s.Value))
	}
}

// instant runs an instant query and returns its vector.
func (u *UI) instant(ctx context.Context, q string) (model.Vector, error) {
	return apiquery.Vector(ctx, u.api, u.log, q, u.now())
}

// instantOnHost runs an instant query narrowed to host (narrowToHost).
func (u *UI) instantOnHost(ctx context.Context, q, host string) (model.Vector, error) {
	q, err := narrowToHost(q, host)
	if err != nil {
		return nil, err
	}
	return u.instant(ctx, q)
}

// errs collects API errors of a page into its banner: a page still renders
// what it could read.
type errs []string

func (e *errs) add(err error) {
	if err != nil {
		*e = append(*e, err.Error())
	}
}

func (e errs) String() string { return strings.Join(e, "; ") }

// rowKey is what makes a token-path row: two hosts serving the same instance
// address (both 127.0.0.1:8000) are two rows, never one.
type rowKey struct{ host, server, model, instance string }

func (u *UI) tokenPathPage(r *http.Request) (templ.Component, error) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	p := u.page(r, "Token path", "/", true)
	u.withFilter(ctx, &p)
	var problems errs
	// One read of the alerts serves the rows' firing alerts and the
	// endpoints' down-since times.
	alerts, err := u.api.Alerts(ctx)
	if err != nil && !u.engineLacks(err) { // an engine without alerts: rows show none
		problems.add(fmt.Errorf("listing alerts: %w", err))
	}
	rows, err := u.serverRows(ctx, p.Controls, alerts.Alerts)
	problems.add(err)
	slos, err := u.sloRows(ctx, p.Controls)
	problems.add(err)
	targets, err := u.inferenceTargets(ctx, p.Controls, alerts.Alerts)
	problems.add(err)
	p.Error = problems.String()
	return components.TokenPath(components.TokenPathPage{
		Page:    p,
		Now:     u.now(),
		Rows:    rows,
		Targets: targets,
		SLOs:    slos,
		Charts:  chartsFrom(p.Controls, components.NoServerHint, panels.TokenPath()...),
	}), nil
}

// sloRows builds one row per objective, server, model and instance from
// the SLO rules' series, within the page's model and instance filters.
func (u *UI) sloRows(ctx context.Context, c components.Controls) ([]components.SLORow, error) {
	var problems errs
	objectives := map[string]components.Value{}
	obj, err := u.instant(ctx, panels.SLOObjective.Expr)
	problems.add(err)
	for _, s := range obj {
		objectives[string(s.Metric["slo"])] = components.Some(float64(s.Value))
	}
	type key struct{ host, slo, server, model, instance string }
	rows := map[key]*components.SLORow{}
	vals, err := u.instant(ctx, tableQuery(panels.SLO, c.Host, c.Model, c.Instance))
	problems.add(err)
	for _, s := range vals {
		m := s.Metric
		k := key{string(m[hostLabel]), string(m["slo"]), string(m["server"]), string(m["model"]), string(m["instance"])}
		row := rows[k]
		if row == nil {
			row = &components.SLORow{
				Host: k.host, SLO: k.slo, Server: k.server, Model: k.model, Instance: k.instance,
				Indicator: string(m["indicator"]), Source: string(m["source"]),
				Objective: objectives[k.slo],
			}
			rows[k] = row
		}
		fields := map[model.LabelValue]*components.Value{
			"tokenpath:slo_attainment:ratio_rate1d":      &row.Attainment,
			"tokenpath:slo_error_budget_remaining:ratio": &row.BudgetRemaining,
			"tokenpath:slo_burn_rate:ratio_rate1h":       &row.BurnRate,
		}
		// Coverage is one series per window: the day's attainment, the month's budget.
		if covered, ok := map[model.LabelValue]*components.Value{"1d": &row.AttainmentCovered, "30d": &row.BudgetCovered}[m["window"]]; ok {
			fields["tokenpath:slo_window_covered:seconds"] = covered
		}
		setByName(s, fields)
	}
	out := make([]components.SLORow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b components.SLORow) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Model, b.Model), cmp.Compare(a.SLO, b.SLO), cmp.Compare(a.Server, b.Server), cmp.Compare(a.Instance, b.Instance))
	})
	if len(problems) > 0 {
		return out, fmt.Errorf("reading the SLOs: %s", problems.String())
	}
	return out, nil
}

// serverRows builds one row per (host, server, model, instance) from the
// recorded token-path series, with the probe's TTFT beside the server's.
func (u *UI) serverRows(ctx context.Context, c components.Controls, alerts []promv1.Alert) ([]components.ServerRow, error) {
	rows := map[rowKey]*components.ServerRow{}
	probes := probesByServer{}
	get := func(m model.Metric) *components.ServerRow {
		k := rowKey{string(m[hostLabel]), string(m["server"]), string(m["model"]), string(m["instance"])}
		if rows[k] == nil {
			rows[k] = &components.ServerRow{Host: k.host, Server: k.server, Model: k.model, Instance: k.instance, Job: string(m["job"])}
		}
		return rows[k]
	}
	var problems errs
	quant, err := u.instant(ctx, tableQuery(panels.LatencyQuantiles, c.Host, c.Model, c.Instance))
	problems.add(err)
	for _, s := range quant {
		m := s.Metric
		name := strings.TrimSuffix(strings.TrimPrefix(string(m[model.MetricNameLabel]), "tokenpath:"), "_seconds:histogram_quantile")
		if m["server"] == "probe" {
			continue // read below, joined to the row of the server probed
		}
		row := get(m)
		var q *components.Quantiles
		switch name {
		case "ttft":
			q = &row.TTFT
			if m["estimate"] != "" {
				row.TTFTEstimate = true
			}
		case "itl":
			q = &row.ITL
			row.ITLMeasure = string(m["measure"])
		case "e2e":
			q = &row.E2E
		case "queue":
			q = &row.Queue
		case "prefill":
			q = &row.Prefill
		case "decode":
			q = &row.Decode
		default:
			continue
		}
		setQuantile(q, string(m["quantile"]), float64(s.Value))
	}
	// The probes within the model filter only: a probe configured as
	// localhost:8001 is the probe of the row 127.0.0.1:8001, which an
	// instance matcher on the probe's own spelling would miss.
	probeQuant, err := u.instant(ctx, tableQuery(panels.ProbeTTFT, c.Host, c.Model, ""))
	problems.add(err)
	for _, s := range probeQuant {
		m := s.Metric
		setQuantile(probes.at(string(m[hostLabel]), string(m["instance"]), string(m["model"])), string(m["quantile"]), float64(s.Value))
	}
	state, err := u.instant(ctx, tableQuery(panels.ServerState, c.Host, c.Model, c.Instance))
	problems.add(err)
	for _, s := range state {
		if s.Metric["server"] == "probe" {
			continue
		}
		row := get(s.Metric)
		setByName(s, map[model.LabelValue]*components.Value{
			"tokenpath:generation_tokens:rate1m":    &row.TokensPerSec,
			"tokenpath:requests_running":            &row.Running,
			"tokenpath:requests_waiting":            &row.Waiting,
			"tokenpath:kv_cache_usage:ratio":        &row.KVCache,
			"tokenpath:request_errors:ratio_rate1m": &row.ErrorRate,
		})
	}
	diag, err := u.instant(ctx, tableQuery(panels.Diagnosis, c.Host, c.Model, c.Instance))
	problems.add(err)
	for _, s := range diag {
		row := get(s.Metric)
		if s.Metric[model.MetricNameLabel] == "tokenpath:diagnosis" && s.Value == 1 {
			row.Diagnosis = string(s.Metric["cause"])
		}
		setByName(s, map[model.LabelValue]*components.Value{
			"tokenpath:diagnosis_tail:ratio":         &row.DiagnosisTail,
			"tokenpath:diagnosis_queue_share:ratio":  &row.DiagnosisQueueShare,
			"tokenpath:diagnosis_itl_spike:ratio":    &row.DiagnosisITLSpike,
			"tokenpath:diagnosis_prompt_share:ratio": &row.DiagnosisPromptShare,
			"tokenpath:diagnosis_front_gap:seconds":  &row.DiagnosisFrontGap,
		})
	}
	detailed := make([]*components.ServerRow, 0, len(rows))
	for _, row := range rows {
		detailed = append(detailed, row)
	}
	problems.add(u.addRowDetails(ctx, c, detailed))
	out := make([]components.ServerRow, 0, len(rows))
	for _, row := range rows {
		row.ProbeTTFT = probes.of(row)
		for _, a := range alerts {
			if a.State == promv1.AlertStateFiring && alertMatches(a.Labels, row) {
				row.Alerts = append(row.Alerts, string(a.Labels[model.AlertNameLabel]))
			}
		}
		slices.Sort(row.Alerts)
		row.Alerts = slices.Compact(row.Alerts)
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b components.ServerRow) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Server, b.Server), cmp.Compare(a.Model, b.Model), cmp.Compare(a.Instance, b.Instance))
	})
	if len(problems) > 0 {
		return out, fmt.Errorf("reading the token path: %s", problems.String())
	}
	return out, nil
}

// alertMatches says whether an alert belongs to a row: same host (when the
// alert has one: a central engine's alerts do), then same instance (and
// model, when the alert has one), or, without an instance, the same model.
func alertMatches(l model.LabelSet, row *components.ServerRow) bool {
	if h := string(l[hostLabel]); h != "" && h != row.Host {
		return false
	}
	inst, mdl := string(l["instance"]), string(l["model"])
	if inst != "" {
		return inst == row.Instance && (mdl == "" || mdl == row.Model)
	}
	return mdl != "" && mdl == row.Model
}

func setQuantile(q *components.Quantiles, quantile string, v float64) {
	switch quantile {
	case "0.5":
		q.P50 = components.Some(v)
	case "0.9":
		q.P90 = components.Some(v)
	case "0.99":
		q.P99 = components.Some(v)
	}
}

func (u *UI) latencyPage(r *http.Request) (templ.Component, error) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	p := u.page(r, "Latency", "/latency", false)
	u.withFilter(ctx, &p)
	ps := panels.Latency()
	if tp, ok := panels.Find("throughput"); ok {
		ps = append(ps, tp)
	}
	return components.Latency(components.LatencyPage{
		Page:   p,
		Charts: chartsFrom(p.Controls, components.NoServerHint, ps...),
	}), nil
}

func (u *UI) explorePage(r *http.Request) (templ.Component, error) {
	p := u.page(r, "Explore", "/explore", false)
	return components.Explore(components.ExplorePage{Page: p, Expr: r.URL.Query().Get("expr")}), nil
}
