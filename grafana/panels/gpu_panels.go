package panels

// gpuLine is one line per GPU of a GPU panel: a gauge of the seed's gpu_*
// names and the word its legend ends with ("" for none).
type gpuLine struct{ metric, name string }

// gpuPanel is a time-series panel of one or more gauges per GPU, each line
// named by host, GPU index and instance (two hosts' GPU 0 stay apart).
func gpuPanel(id, title, description, unit string, lines ...gpuLine) Panel {
	p := Panel{ID: id, Title: title, Description: description, Unit: unit, Kind: KindTimeSeries}
	for _, l := range lines {
		legend := "{{host}} GPU {{gpu}} {{instance}}"
		if l.name != "" {
			legend += " " + l.name
		}
		p.Queries = append(p.Queries, Query{Expr: gsel(l.metric), Legend: legend})
	}
	return p
}

// percentOfTime bounds a panel of NVML's utilisation percentages to 0–100.
func percentOfTime(p Panel) Panel {
	p.Min, p.Max = ptr(0), ptr(100)
	return p
}

// clocks is the GPU page's clocks chart: SM and memory clocks per GPU.
func clocks() Panel {
	return gpuPanel("clocks", "Clocks",
		"SM and memory clocks; a falling SM clock under load means throttling (see the reasons on each card).", "hertz",
		gpuLine{"gpu_sm_clock_hertz", "SM"}, gpuLine{"gpu_memory_clock_hertz", "memory"})
}
