package export

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkGPU compares the GPU endpoint with hand-written queries of the stored
// GPU series and with numbers read off the fixture.
func checkGPU(t *testing.T, env *exportTestEnv, h http.Handler) {
	status, body := scrape(t, h, PathGPU)
	require.Equal(t, http.StatusOK, status)
	exp := parseExposition(t, body)
	gpu := func(i string) map[string]string {
		m := map[string]string{"gpu": i, "endpoint": env.gpu, "name": "NVIDIA H100 80GB HBM3"}
		if i == "0" {
			m["uuid"], m["pci_bus_id"] = "GPU-5a1c7f0e-0d7b-4f43-9d55-1b2c3d4e5f60", "00000000:18:00.0"
		} else {
			m["uuid"], m["pci_bus_id"] = "GPU-9e8d7c6b-5a49-4c3b-8a2d-1f0e9d8c7b6a", "00000000:2A:00.0"
		}
		return m
	}
	q := func(expr, i string) string {
		return fmt.Sprintf(expr, fmt.Sprintf(`instance=%q,gpu=%q`, env.gpu, i))
	}
	tests := []struct {
		name, gpu, query string
		want             float64
	}{
		{"gpu_vram_used_bytes", "0", "gpu_vram_used_bytes{%s}", 76235636736},
		{"gpu_vram_total_bytes", "1", "gpu_vram_total_bytes{%s}", 85520809984},
		{"gpu_compute_utilization", "0", "gpu_compute_utilization{%s}", 97},
		{"gpu_memory_bandwidth_utilization", "0", "gpu_memory_bandwidth_utilization{%s}", 88},
		{"gpu_temperature_celsius", "1", "gpu_temperature_celsius{%s}", 34},
		{"gpu_power_draw_watts", "0", "gpu_power_draw_watts{%s}", 612.5},
		{"gpu_power_limit_watts", "0", "gpu_power_limit_watts{%s}", 700},
		{"gpu_energy_joules_total", "0", "gpu_energy_joules_total{%s}", 98765432.5},
		{"gpu_gpm_dram_bandwidth_utilization_percent", "0", "gpu_gpm_dram_bandwidth_utilization_percent{%s}", 83.5},
		{"gpu_vram_utilization_ratio", "0", "gpu_vram_used_bytes{%[1]s} / gpu_vram_total_bytes{%[1]s}", 76235636736.0 / 85520809984},
		{"gpu_compute_utilization_ratio", "0", "gpu_compute_utilization{%s} / 100", 0.97},
		{"gpu_memory_bandwidth_utilization_ratio", "0", "gpu_memory_bandwidth_utilization{%s} / 100", 0.88},
		{"gpu_power_utilization_ratio", "1", "gpu_power_draw_watts{%[1]s} / gpu_power_limit_watts{%[1]s}", 71.25 / 700},
		{"gpu_clock_sm_mhz", "0", "gpu_sm_clock_hertz{%s} / 1e6", 1980},
		{"gpu_clock_memory_mhz", "1", "gpu_memory_clock_hertz{%s} / 1e6", 2619},
		// GPU 0 is memory-bound, GPU 1 idle (with its VRAM nearly empty).
		{"gpu_memory_bound_flag", "0", `tokenpath:gpu_state{state="memory_bound",%s}`, 1},
		{"gpu_memory_bound_flag", "1", `tokenpath:gpu_state{state="memory_bound",%s}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/gpu"+tt.gpu, func(t *testing.T) {
			got, ok := exp.find(t, tt.name, gpu(tt.gpu))
			require.True(t, ok, "%s%v not exported", tt.name, gpu(tt.gpu))
			require.InDelta(t, tt.want, got, 1e-9)
			require.InDelta(t, queryOne(t, env.api, q(tt.query, tt.gpu)), got, 1e-9)
		})
	}
}
