package web

import (
	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
)

// Every query the UI runs for its tables is a panels.Table and every chart
// a panels.Panel (grafana/panels, shared with the Grafana dashboards); the
// handlers pick them by name and fill in the selection here.

// serverSelector filters token-path series on the host, model and instance
// of the URL; values are escaped with panels.Regex. An empty host matches
// series without the label (a tokenpath's own).
func serverSelector(host, model, instance string) string {
	// Concatenated, not %q: panels.Regex has already escaped the values for
	// a double-quoted PromQL string.
	return `host=~"` + regexOrAll(host) + `",model=~"` + regexOrAll(model) + `",instance=~"` + regexOrAll(instance) + `"`
}

func regexOrAll(v string) string {
	if v == "" {
		return panels.AllValue
	}
	return panels.Regex(v)
}

// tableQuery is t's expression for the selected host, model and instance
// ("" for all), each escaped as serverSelector escapes it.
func tableQuery(t panels.Table, host, model, instance string) string {
	return panels.Expand(t.Expr, map[string]string{
		panels.VarHost: regexOrAll(host), panels.VarModel: regexOrAll(model), panels.VarInstance: regexOrAll(instance),
	})
}
