package panels

// Energy returns the energy panels: joules per generated token and tokens
// per joule (tokens/s per watt), from the rules' tokenpath:energy_per_token:joules
// and tokenpath:tokens_per_joule (rules/README.md, "Energy per token").
//
// Each query shows both scopes: scope="row" (a row's inference target, from
// the GPUs mapped to it; host, job, instance, server, model) within the
// model and instance selection, and scope="node" (a machine's GPUs over all
// its tokens; host, node), which has no model or instance and so follows
// the host selection only. The two never share a label set, so a plain `or`
// joins them alike on Prometheus and VictoriaMetrics, and a machine without
// the GPU mapping still shows its figure.
func Energy() []Panel {
	return []Panel{
		{
			ID:    "energy_per_token",
			Title: "Energy per token",
			Description: "Joules per generated token (left axis) and generated tokens per joule, i.e. tokens/s per watt (right axis): " +
				"per inference target where its GPUs are known (scope row), and per machine (scope node).",
			Unit: "joule",
			Kind: KindTimeSeries,
			Queries: []Query{
				{Expr: energyScopes("tokenpath:energy_per_token:joules"), Legend: "{{host}} {{node}}{{server}} {{model}} {{instance}} J/token ({{scope}})"},
				{Expr: energyScopes("tokenpath:tokens_per_joule"), Legend: "{{host}} {{node}}{{server}} {{model}} {{instance}} tokens/J ({{scope}})", RightAxis: true, Unit: "short"},
			},
		},
	}
}

// energyScopes selects metric's row series within the selection, or its
// machine series on the selected hosts.
func energyScopes(metric string) string {
	return sel(metric, `scope="row"`) + ` or ` + metric + `{scope="node",host=~"$host"}`
}
