package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// gpuKey is one GPU: its index on a box, the box's instance and the host
// (two hosts' GPU 0 behind the same instance address are two cards).
type gpuKey struct{ host, instance, gpu string }

func (u *UI) gpuPage(r *http.Request) (templ.Component, error) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	p := u.page(r, "GPU", "/gpu", true)
	u.withHosts(ctx, &p)
	host := p.Controls.Host
	var problems errs
	v := components.GPUPage{Page: p}
	up, err := u.instantOnHost(ctx, panels.GPUUp.Expr, host)
	problems.add(err)
	// NVML is usable when some tokenpath_gpu_up without a gpu label is 1.
	on := false
	for _, s := range up {
		if s.Metric["gpu"] == "" && s.Value == 1 {
			on = true
		}
	}
	v.Off = !on
	if !v.Off {
		v.Cards, err = u.gpuCards(ctx, host)
		problems.add(err)
		// The model/instance filter names inference servers, not GPU hosts:
		// it stays in the URL for the other pages but does not apply here.
		// The host filter does.
		unfiltered := p.Controls
		unfiltered.Model, unfiltered.Instance = "", ""
		v.Charts = chartsFrom(unfiltered, "", panels.GPU()...)
	}
	v.Page.Error = problems.String()
	return components.GPU(v), nil
}

// gpuCards reads the current state of every GPU on host ("" for all).
func (u *UI) gpuCards(ctx context.Context, host string) ([]components.GPUCard, error) {
	cards := map[gpuKey]*components.GPUCard{}
	get := func(m model.Metric) *components.GPUCard {
		k := gpuKey{string(m[hostLabel]), string(m["instance"]), string(m["gpu"])}
		c := cards[k]
		if c == nil {
			c = &components.GPUCard{Host: k.host, Index: k.gpu, Instance: k.instance, Up: true}
			cards[k] = c
		}
		if c.Name == "" {
			c.Name = string(m["name"])
		}
		if c.UUID == "" {
			c.UUID = string(m["uuid"])
		}
		return c
	}
	var problems errs
	vals, err := u.instantOnHost(ctx, panels.GPUValues.Expr, host)
	problems.add(err)
	for _, s := range vals {
		c := get(s.Metric)
		setByName(s, map[model.LabelValue]*components.Value{
			"gpu_vram_used_bytes":              &c.VRAMUsed,
			"gpu_vram_total_bytes":             &c.VRAMTotal,
			"gpu_compute_utilization":          &c.Compute,
			"gpu_memory_bandwidth_utilization": &c.Bandwidth,
			"gpu_temperature_celsius":          &c.Temp,
			"gpu_power_draw_watts":             &c.Power,
			"gpu_power_limit_watts":            &c.PowerLimit,
			"gpu_sm_clock_hertz":               &c.SMClock,
			"gpu_memory_clock_hertz":           &c.MemClock,
		})
	}
	devUp, err := u.instantOnHost(ctx, panels.GPUDeviceUp.Expr, host)
	problems.add(err)
	for _, s := range devUp {
		if s.Value == 0 {
			get(s.Metric).Up = false
		}
	}
	states, err := u.instantOnHost(ctx, panels.GPUState.Expr, host)
	problems.add(err)
	for _, s := range states {
		get(s.Metric).State = string(s.Metric["state"])
	}
	thr, err := u.instantOnHost(ctx, panels.GPUThrottle.Expr, host)
	problems.add(err)
	for _, s := range thr {
		c := get(s.Metric)
		c.Throttle = append(c.Throttle, string(s.Metric["reason"]))
	}
	procs, err := u.instantOnHost(ctx, panels.GPUProcesses.Expr, host)
	problems.add(err)
	for _, s := range procs {
		c := get(s.Metric)
		c.Processes = append(c.Processes, components.GPUProcess{
			PID: string(s.Metric["pid"]), Name: string(s.Metric["process_name"]), Memory: float64(s.Value),
		})
	}
	out := make([]components.GPUCard, 0, len(cards))
	for _, c := range cards {
		slices.Sort(c.Throttle)
		slices.SortFunc(c.Processes, func(a, b components.GPUProcess) int { return cmp.Compare(b.Memory, a.Memory) })
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b components.GPUCard) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Instance, b.Instance), cmpNumeric(a.Index, b.Index))
	})
	if len(problems) > 0 {
		return out, fmt.Errorf("reading GPUs: %s", problems.String())
	}
	return out, nil
}

// cmpNumeric orders GPU indices 0, 1, …, 10 rather than 0, 1, 10, 2.
func cmpNumeric(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
}

func (u *UI) alertsPage(r *http.Request) (templ.Component, error) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	p := u.page(r, "Alerts", "/alerts", true)
	u.withHosts(ctx, &p)
	// The bar (its host selector) shows where there are hosts to choose from.
	p.Controls.Show = len(p.Controls.Hosts) > 0 || p.Controls.Host != ""
	var problems errs
	v := components.AlertsPage{Now: u.now(), Engine: u.engine}
	alerts, err := u.api.Alerts(ctx)
	if u.engineLacks(err) {
		v.RulesElsewhere, v.EngineAnswer = true, engineAnswer(err)
		err = nil
	}
	problems.add(err)
	for _, a := range alerts.Alerts {
		if h := p.Controls.Host; h != "" && string(a.Labels[hostLabel]) != h {
			continue // another host's alert, or one of the whole fleet
		}
		v.Alerts = append(v.Alerts, components.AlertRow{
			Name:    string(a.Labels[model.AlertNameLabel]),
			State:   string(a.State),
			Labels:  sortedLabels(a.Labels, model.AlertNameLabel),
			Value:   formatSampleValue(a.Value),
			Since:   a.ActiveAt,
			Summary: string(cmp.Or(a.Annotations["summary"], a.Annotations["description"])),
		})
	}
	slices.SortFunc(v.Alerts, func(a, b components.AlertRow) int {
		// Firing before pending, then by name.
		return cmp.Or(cmp.Compare(stateOrder(a.State), stateOrder(b.State)), cmp.Compare(a.Name, b.Name))
	})
	rules, err := u.api.Rules(ctx, nil)
	switch {
	case u.engineLacks(err):
		v.RulesElsewhere, v.EngineAnswer = true, engineAnswer(err)
	case err == nil && u.engine != "" && len(rules.Groups) == 0:
		// VictoriaMetrics single-node answers an empty list: its rules, if
		// any, are vmalert's.
		v.RulesElsewhere = true
	default:
		problems.add(err)
	}
	for _, g := range rules.Groups {
		for _, rule := range g.Rules {
			switch x := rule.(type) {
			case promv1.AlertingRule:
				v.Rules = append(v.Rules, components.RuleRow{
					Group: g.Name, Name: x.Name, Type: "alerting", Query: x.Query, Health: string(x.Health),
					LastEvaluation: x.LastEvaluation, EvalSeconds: x.EvaluationTime, Error: x.LastError, State: x.State,
				})
			case promv1.RecordingRule:
				v.Rules = append(v.Rules, components.RuleRow{
					Group: g.Name, Name: x.Name, Type: "recording", Query: x.Query, Health: string(x.Health),
					LastEvaluation: x.LastEvaluation, EvalSeconds: x.EvaluationTime, Error: x.LastError,
				})
			}
		}
	}
	p.Error = problems.String()
	v.Page = p
	return components.Alerts(v), nil
}

// formatSampleValue rewrites Prometheus' alert value ("9e-01") as a plain
// number ("0.9"); anything unparsable is shown as it came.
func formatSampleValue(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func stateOrder(s string) int {
	if s == "firing" {
		return 0
	}
	return 1
}

// sortedLabels returns the labels in name order, without the named ones.
func sortedLabels(ls model.LabelSet, drop ...model.LabelName) []components.Label {
	out := make([]components.Label, 0, len(ls))
	for k, v := range ls {
		if slices.Contains(drop, k) {
			continue
		}
		out = append(out, components.Label{Name: string(k), Value: string(v)})
	}
	slices.SortFunc(out, func(a, b components.Label) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (u *UI) targetsPage(r *http.Request) (templ.Component, error) {
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	p := u.page(r, "Targets", "/targets", true)
	p.Controls.Show = false
	var problems errs
	v := components.TargetsPage{Now: u.now()}
	res, err := u.api.Targets(ctx)
	problems.add(err)
	samples := map[[2]string]float64{}
	vec, err := u.instant(ctx, panels.ScrapeSamples.Expr)
	problems.add(err)
	for _, s := range vec {
		samples[[2]string{string(s.Metric["job"]), string(s.Metric["instance"])}] = float64(s.Value)
	}
	for _, t := range res.Active {
		job, inst := string(t.Labels["job"]), string(t.Labels["instance"])
		row := components.TargetRow{
			Job: job, Instance: inst, Server: cmp.Or(string(t.Labels["server"]), "unknown"),
			URL: t.ScrapeURL, Health: string(t.Health), LastScrape: t.LastScrape,
			DurationSecond: t.LastScrapeDuration, Error: t.LastError,
			Labels: sortedLabels(t.Labels, "job", "instance", "server"),
		}
		if n, ok := samples[[2]string{job, inst}]; ok {
			row.Samples = components.Some(n)
		}
		v.Targets = append(v.Targets, row)
	}
	slices.SortFunc(v.Targets, func(a, b components.TargetRow) int {
		return cmp.Or(cmp.Compare(a.Job, b.Job), cmp.Compare(a.Instance, b.Instance))
	})
	p.Error = problems.String()
	v.Page = p
	return components.Targets(v), nil
}
