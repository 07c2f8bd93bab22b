package export

// gpuSeriesLabels are the labels of every GPU family: the GPU's identity as
// tokenpath's GPU collector labels it, and endpoint, the instance the series
// were scraped from (tokenpath itself, or a remote tokenpath GPU exporter).
func gpuSeriesLabels() []label {
	return []label{
		{Name: "gpu", Source: "gpu"},
		{Name: "uuid", Source: "uuid"},
		{Name: "name", Source: "name"},
		{Name: "pci_bus_id", Source: "pci_bus_id"},
		{Name: "endpoint", Source: "instance"},
	}
}

// gpuMax keeps one series per GPU and instance; max (not sum) because two
// jobs scraping the same GPU see the same value, which must not double.
func gpuMax(expr string) string {
	return "max by (instance, gpu, uuid, name, pci_bus_id) (" + expr + ")"
}

// gpuSame re-exposes a stored GPU series under its own name.
func gpuSame(name, help string, k kind) family {
	return family{
		Name: name, Help: help, Kind: k, Labels: gpuSeriesLabels(), Source: "`" + name + "`",
		Expr: gpuMax(name),
	}
}

// gpuDerived is a seed name computed from stored GPU series.
func gpuDerived(name, help, source, expr string) family {
	return family{Name: name, Help: help, Kind: kindGauge, Labels: gpuSeriesLabels(), Source: source, Expr: gpuMax(expr)}
}

// gpuSeriesFamilies are the GPU names of the seed and of docs/contracts.md,
// read from the GPU series tokenpath stores (the standalone GPU exporter mode
// serves the live collector instead).
func gpuSeriesFamilies() []family {
	return []family{
		gpuSame("gpu_vram_used_bytes", "GPU memory used in bytes.", kindGauge),
		gpuSame("gpu_vram_total_bytes", "Total GPU memory in bytes.", kindGauge),
		gpuSame("gpu_vram_free_bytes", "GPU memory free in bytes.", kindGauge),
		gpuSame("gpu_vram_reserved_bytes", "GPU memory reserved by the driver and firmware, in bytes.", kindGauge),
		gpuSame("gpu_compute_utilization", "GPU compute utilization in percent (0-100).", kindGauge),
		gpuSame("gpu_memory_bandwidth_utilization", "GPU memory bandwidth utilization in percent (0-100).", kindGauge),
		gpuSame("gpu_temperature_celsius", "GPU temperature in degrees Celsius.", kindGauge),
		gpuSame("gpu_power_draw_watts", "GPU power draw in watts.", kindGauge),
		gpuSame("gpu_power_limit_watts", "GPU power limit in watts.", kindGauge),
		gpuSame("gpu_energy_joules_total", "Energy used since the driver was loaded, in joules.", kindCounter),
		gpuSame("gpu_sm_clock_hertz", "SM clock in hertz.", kindGauge),
		gpuSame("gpu_memory_clock_hertz", "Memory clock in hertz.", kindGauge),
		gpuSame("gpu_gpm_sm_activity_percent", "SM activity in percent (GPM, Hopper and later).", kindGauge),
		gpuSame("gpu_gpm_sm_occupancy_percent", "SM occupancy in percent (GPM, Hopper and later).", kindGauge),
		gpuSame("gpu_gpm_tensor_activity_percent", "Tensor core activity in percent (GPM, Hopper and later).", kindGauge),
		gpuSame("gpu_gpm_dram_bandwidth_utilization_percent", "DRAM bandwidth utilization in percent (GPM, Hopper and later).", kindGauge),
		gpuDerived("gpu_vram_utilization_ratio", "GPU memory utilization ratio (0-1).",
			"`gpu_vram_used_bytes` / `gpu_vram_total_bytes`", "gpu_vram_used_bytes / (gpu_vram_total_bytes > 0)"),
		gpuDerived("gpu_compute_utilization_ratio", "GPU compute utilization ratio (0-1).",
			"`gpu_compute_utilization` / 100", "gpu_compute_utilization / 100"),
		gpuDerived("gpu_memory_bandwidth_utilization_ratio", "GPU memory bandwidth utilization ratio (0-1).",
			"`gpu_memory_bandwidth_utilization` / 100", "gpu_memory_bandwidth_utilization / 100"),
		gpuDerived("gpu_power_utilization_ratio", "GPU power draw as a share of the power limit (0-1).",
			"`gpu_power_draw_watts` / `gpu_power_limit_watts`", "gpu_power_draw_watts / (gpu_power_limit_watts > 0)"),
		gpuDerived("gpu_clock_sm_mhz", "SM clock in MHz.", "`gpu_sm_clock_hertz` / 1e6", "gpu_sm_clock_hertz / 1e6"),
		gpuDerived("gpu_clock_memory_mhz", "Memory clock in MHz.", "`gpu_memory_clock_hertz` / 1e6", "gpu_memory_clock_hertz / 1e6"),
		// The flag comes from tokenpath's classification (bandwidth against SM
		// activity on a GPU with work), not the seed's VRAM rule, which calls
		// every idle vLLM GPU memory-bound. The join borrows pci_bus_id from
		// the GPU series, which the rule output does not carry.
		gpuDerived("gpu_memory_bound_flag", "1 when tokenpath classifies the GPU as memory-bound, else 0.",
			"`tokenpath:gpu_state{state=\"memory_bound\"}`",
			`0 * gpu_vram_total_bytes + on (instance, gpu, uuid, name) group_left max by (instance, gpu, uuid, name) (tokenpath:gpu_state{state="memory_bound"})`),
	}
}
