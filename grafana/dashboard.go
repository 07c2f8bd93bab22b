package grafana

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
)

// SchemaVersion is the Grafana dashboard schema the generated JSON follows
// (Grafana 11). Newer Grafana versions migrate it on load.
const SchemaVersion = 39

// DatasourceUID is the uid of the provisioned tokenpath data source; the
// dashboards' datasource variable defaults to it.
const DatasourceUID = "tokenpath"

// dsRef is how every panel and target names its data source: the dashboard's
// datasource variable, so a user can point the dashboard at any Prometheus
// that holds tokenpath's series (a central one fed by federation, say).
func dsRef() map[string]string {
	return map[string]string{"type": "prometheus", "uid": "${datasource}"}
}

// dashboardSpec lays out one dashboard: rows of panels from package panels.
type dashboardSpec struct {
	File  string // File name under dashboards/.
	UID   string
	Title string
	Tags  []string
	Vars  []varSpec
	Rows  []rowSpec
}

type rowSpec struct {
	Title  string
	Panels []panels.Panel
	Width  int // Grid columns per panel (Grafana's grid is 24 wide).
}

// varSpec is one query variable: label_values(Metric{Filter}, Label).
type varSpec struct {
	Name, Title, Label, Metric, Filter string
}

// specs returns the two dashboards. Both select by host first (the external
// label every tokenpath adds, so a central engine's fleet never merges); the
// token-path dashboard then by model and instance, the GPU dashboard by
// instance and gpu, read from the GPU series so that a box without an
// inference server still lists its GPUs. A panel ID or variable that
// grafana/panels does not have is an error naming it.
func specs() ([]dashboardSpec, error) {
	var missing []string
	pick := func(set []panels.Panel, ids ...string) []panels.Panel { return pickPanels(set, &missing, ids...) }
	out := []dashboardSpec{
		{
			File:  "token_path.json",
			UID:   "tokenpath-token-path",
			Title: "tokenpath: token path",
			Tags:  []string{"tokenpath", "llm", "inference"},
			Vars:  dashboardVars("", &missing, panels.VarHost, panels.VarModel, panels.VarInstance),
			Rows: []rowSpec{
				{Title: "Token path", Width: 12, Panels: pick(panels.TokenPath(), "ttft", "itl_heatmap", "throughput", "e2e_heatmap", "queue", "kv_cache")},
				{Title: "Latency breakdown", Width: 12, Panels: pick(panels.Latency(), "itl_percentiles", "e2e_percentiles", "ttft_heatmap", "phases")},
				{Title: "Energy", Width: 24, Panels: pick(panels.Energy(), "energy_per_token")},
			},
		},
		{
			File:  "gpu_utilization.json",
			UID:   "tokenpath-gpu-utilization",
			Title: "tokenpath: GPU utilization",
			Tags:  []string{"tokenpath", "gpu"},
			Vars:  dashboardVars(gpuVarMetric, &missing, panels.VarHost, panels.VarInstance, panels.VarGPU),
			Rows: []rowSpec{
				{Title: "Memory and compute", Width: 12, Panels: pick(panels.GPU(), "vram", "compute")},
				{Title: "Memory-bound detection", Width: 24, Panels: pick(panels.GPU(), "gpu_state")},
				{Title: "Thermals, power and bandwidth", Width: 8, Panels: pick(panels.GPU(), "temperature", "power", "memory_bandwidth")},
				{Title: "Clocks", Width: 24, Panels: pick(panels.GPU(), "clocks")},
			},
		},
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("dashboards name panels or variables that grafana/panels does not have: %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// pickPanels returns the panels of set with the given IDs, in that order;
// an ID set lacks is added to missing.
func pickPanels(set []panels.Panel, missing *[]string, ids ...string) []panels.Panel {
	out := make([]panels.Panel, 0, len(ids))
	for _, id := range ids {
		i := slices.IndexFunc(set, func(p panels.Panel) bool { return p.ID == id })
		if i < 0 {
			*missing = append(*missing, id)
			continue
		}
		// Long ranges read the 5 m series (the hidden range variables).
		out = append(out, panels.ForGrafana(set[i]))
	}
	return out
}

// gpuVarMetric is the series the GPU dashboard reads every variable from, so
// that a box without an inference server still lists its host and GPUs.
const gpuVarMetric = "gpu_vram_total_bytes"

// dashboardVars takes the named variables from panels.Variables(), in the
// given order, each filtered by the ones before it (a model list narrowed
// to the chosen host). A non-empty metric replaces the variables' own. A
// name panels does not have is added to missing.
func dashboardVars(metric string, missing *[]string, names ...string) []varSpec {
	out := make([]varSpec, 0, len(names))
	var filter []string
	for _, name := range names {
		i := slices.IndexFunc(panels.Variables(), func(v panels.Variable) bool { return v.Name == name })
		if i < 0 {
			*missing = append(*missing, "$"+name)
			continue
		}
		v := panels.Variables()[i]
		out = append(out, varSpec{Name: v.Name, Title: v.Title, Label: v.Label, Metric: cmp.Or(metric, v.Metric), Filter: strings.Join(filter, ",")})
		filter = append(filter, v.Label+`=~"$`+v.Name+`"`)
	}
	return out
}

// Dashboards renders every dashboard as Grafana dashboard JSON, keyed by file
// name (token_path.json, gpu_utilization.json). The output is deterministic,
// so the committed files can be checked against it.
func Dashboards() (map[string][]byte, error) {
	out := map[string][]byte{}
	ss, err := specs()
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		b, err := render(s)
		if err != nil {
			return nil, fmt.Errorf("rendering dashboard %s: %w", s.File, err)
		}
		out[s.File] = b
	}
	return out, nil
}

// obj keeps the JSON close to what Grafana itself exports; encoding/json
// sorts map keys, which keeps the output stable.
type obj = map[string]any

const panelHeight = 8

func render(s dashboardSpec) ([]byte, error) {
	var ps []obj
	id, y := 1, 0
	for _, r := range s.Rows {
		ps = append(ps, obj{
			"id": id, "type": "row", "title": r.Title, "collapsed": false, "panels": []obj{},
			"gridPos": obj{"h": 1, "w": 24, "x": 0, "y": y},
		})
		id++
		y++
		x := 0
		for _, p := range r.Panels {
			if x+r.Width > 24 {
				x = 0
				y += panelHeight
			}
			gp, err := panelJSON(p)
			if err != nil {
				return nil, err
			}
			gp["id"] = id
			gp["gridPos"] = obj{"h": panelHeight, "w": r.Width, "x": x, "y": y}
			ps = append(ps, gp)
			id++
			x += r.Width
		}
		y += panelHeight
	}
	vars := []obj{{
		"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
		"current": obj{"text": "tokenpath", "value": DatasourceUID},
		"hide":    0, "includeAll": false, "multi": false, "options": []obj{}, "refresh": 1, "regex": "",
	}}
	for _, v := range s.Vars {
		sel := v.Metric
		if v.Filter != "" {
			sel += "{" + v.Filter + "}"
		}
		q := "label_values(" + sel + ", " + v.Label + ")"
		vars = append(vars, obj{
			"name": v.Name, "label": v.Title, "type": "query", "datasource": dsRef(),
			"definition": q,
			"query":      obj{"qryType": 1, "query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
			// allValue .* (not Grafana's default alternation of the listed
			// values) so that series with an empty label, such as TGI's model="",
			// are part of "All".
			"includeAll": true, "allValue": panels.AllValue, "multi": true,
			"current": obj{"selected": true, "text": []string{"All"}, "value": []string{"$__all"}},
			"hide":    0, "options": []obj{}, "refresh": 2, "regex": "", "sort": 1,
		})
	}
	// The hidden variables that pick 1 m or 5 m series by the dashboard's
	// range (panels.ForGrafana), where a panel uses them.
	for _, v := range panels.RangeVariables() {
		if !usesVariable(s, v.Name) {
			continue
		}
		vars = append(vars, obj{
			"name": v.Name, "type": "query", "datasource": dsRef(), "definition": v.Query,
			"query": obj{"qryType": 3, "query": v.Query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
			"regex": v.Regex, "hide": 2, "refresh": 2, "includeAll": false, "multi": false, "options": []obj{},
		})
	}
	d := obj{
		"annotations": obj{"list": []obj{{
			"builtIn": 1, "datasource": obj{"type": "grafana", "uid": "-- Grafana --"},
			"enable": true, "hide": true, "iconColor": "rgba(0, 211, 255, 1)",
			"name": "Annotations & Alerts", "type": "dashboard",
		}}},
		"description":          "Generated by tokenpath from grafana/panels; do not edit by hand (go generate ./grafana).",
		"editable":             true,
		"fiscalYearStartMonth": 0,
		"graphTooltip":         1,
		"id":                   nil,
		"links":                []obj{},
		"panels":               ps,
		"refresh":              "30s",
		"schemaVersion":        SchemaVersion,
		"tags":                 s.Tags,
		"templating":           obj{"list": vars},
		"time":                 obj{"from": "now-1h", "to": "now"},
		"timepicker":           obj{},
		"timezone":             "browser",
		"title":                s.Title,
		"uid":                  s.UID,
		"version":              1,
		"weekStart":            "",
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// PromQL is full of <, > and &; Grafana's own exports do not escape them.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encoding dashboard JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// refID names the i-th query of a panel the way Grafana does: A, B, C, ...
func refID(i int) string {
	const ids = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	if i >= 0 && i < len(ids) {
		return ids[i : i+1]
	}
	return "Q" + strconv.Itoa(i)
}

// panelJSON turns one panel into Grafana's panel model for its kind.
func panelJSON(p panels.Panel) (obj, error) {
	var targets []obj
	format := "time_series"
	if p.Kind == panels.KindHeatmap {
		format = "heatmap"
	}
	var overrides []obj
	for i, q := range p.Queries {
		targets = append(targets, obj{
			"datasource": dsRef(), "editorMode": "code", "expr": q.Expr, "format": format,
			"legendFormat": q.Legend, "range": true, "instant": false, "refId": refID(i),
		})
		if q.RightAxis {
			props := []obj{{"id": "custom.axisPlacement", "value": "right"}}
			if q.Unit != "" {
				props = append(props, obj{"id": "unit", "value": q.Unit})
			}
			overrides = append(overrides, obj{
				"matcher":    obj{"id": "byFrameRefID", "options": refID(i)},
				"properties": props,
			})
		}
	}
	defaults := obj{"unit": p.Unit}
	if p.Min != nil {
		defaults["min"] = *p.Min
	}
	if p.Max != nil {
		defaults["max"] = *p.Max
	}
	if overrides == nil {
		overrides = []obj{}
	}
	out := obj{
		"type": string(p.Kind), "title": p.Title, "description": p.Description,
		"datasource": dsRef(), "targets": targets,
		"fieldConfig": obj{"defaults": defaults, "overrides": overrides},
	}
	legend := obj{"showLegend": true, "displayMode": "list", "placement": "bottom", "calcs": []string{}}
	switch p.Kind {
	case panels.KindTimeSeries:
		defaults["color"] = obj{"mode": "palette-classic"}
		defaults["custom"] = obj{
			"drawStyle": "line", "lineInterpolation": "linear", "lineWidth": 1, "fillOpacity": 10,
			"showPoints": "never", "spanNulls": false, "axisPlacement": "auto",
		}
		out["options"] = obj{"legend": legend, "tooltip": obj{"mode": "multi", "sort": "desc"}}
	case panels.KindHeatmap:
		// A heatmap sums its buckets over the selected hosts; repeating the
		// panel per selected host keeps each host's distribution apart.
		out["repeat"] = panels.VarHost
		out["repeatDirection"] = "h"
		// The query already returns per-bucket rates (format heatmap turns the
		// cumulative le series into bucket counts), so Grafana must not bucket
		// them again: calculate false.
		defaults["unit"] = "reqps"
		defaults["custom"] = obj{"scaleDistribution": obj{"type": "linear"}, "hideFrom": obj{"legend": false, "tooltip": false, "viz": false}}
		out["options"] = obj{
			"calculate": false, "cellGap": 1,
			"color":        obj{"mode": "scheme", "scheme": "Oranges", "scale": "exponential", "exponent": 0.5, "steps": 64, "fill": "dark-orange", "reverse": false},
			"filterValues": obj{"le": 1e-9},
			"legend":       obj{"show": true},
			"rowsFrame":    obj{"layout": "auto"},
			"tooltip":      obj{"mode": "single", "yHistogram": true, "showColorScale": false},
			"yAxis":        obj{"axisPlacement": "left", "unit": p.Unit, "reverse": false},
			"exemplars":    obj{"color": "rgba(255,0,255,0.7)"},
		}
	case panels.KindStateBand:
		opts := obj{}
		for i, m := range p.Mappings {
			opts[strconv.FormatFloat(m.Value, 'f', -1, 64)] = obj{"text": m.Text, "color": m.Color, "index": i}
		}
		defaults["mappings"] = []obj{{"type": "value", "options": opts}}
		defaults["color"] = obj{"mode": "thresholds"}
		defaults["thresholds"] = obj{"mode": "absolute", "steps": []obj{{"color": "green", "value": nil}}}
		defaults["custom"] = obj{"fillOpacity": 80, "lineWidth": 0}
		out["options"] = obj{
			"mergeValues": true, "showValue": "auto", "alignValue": "left", "rowHeight": 0.9,
			"legend": legend, "tooltip": obj{"mode": "single", "sort": "none"},
		}
	case panels.KindStat:
		defaults["color"] = obj{"mode": "thresholds"}
		defaults["thresholds"] = obj{"mode": "absolute", "steps": []obj{{"color": "green", "value": nil}}}
		out["options"] = obj{
			"reduceOptions": obj{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
			"colorMode":     "value", "graphMode": "area", "justifyMode": "auto", "orientation": "auto", "textMode": "auto",
		}
	default:
		return nil, fmt.Errorf("panel %s: unknown kind %q", p.ID, p.Kind)
	}
	return out, nil
}

// usesVariable reports whether a query of s refers to the variable name.
func usesVariable(s dashboardSpec, name string) bool {
	for _, r := range s.Rows {
		for _, p := range r.Panels {
			for _, q := range p.Queries {
				if strings.Contains(q.Expr, "${"+name+"}") {
					return true
				}
			}
		}
	}
	return false
}
