package web

import "github.com/ritwikareddykancharla/token-path-observability/grafana/panels"

// TableQueries returns the instant queries behind the server-rendered page
// tables (panels.Tables), unfiltered, keyed by their name. The fleet tests
// run them on every central engine `tokenpath fleet` supports and require
// the same answer from each, as they do for the chart queries of
// grafana/panels.
func TableQueries() map[string]string {
	out := map[string]string{}
	for _, t := range panels.Tables() {
		out[t.Name] = tableQuery(t, "", "", "")
	}
	return out
}
