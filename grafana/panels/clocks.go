package panels

// clocks is the GPU page's clocks chart: SM and memory clocks per GPU. Kept
// in its own file so GPU() only lists it.
func clocks() Panel {
	return Panel{
		ID:          "clocks",
		Title:       "Clocks",
		Description: "SM and memory clocks; a falling SM clock under load means throttling (see the reasons on each card).",
		Unit:        "hertz",
		Kind:        KindTimeSeries,
		Queries: []Query{
			{Expr: gsel("gpu_sm_clock_hertz"), Legend: "{{host}} GPU {{gpu}} {{instance}} SM"},
			{Expr: gsel("gpu_memory_clock_hertz"), Legend: "{{host}} GPU {{gpu}} {{instance}} memory"},
		},
	}
}
