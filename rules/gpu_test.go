package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// gpuSteps is how many intervals the GPU fixtures run: 15 minutes, enough
// for MemoryBound's 10-minute `for`.
const gpuSteps = 60

// gpuFixture is one GPU as tokenpath's gpu collector exports it (percent
// gauges, bytes), scraped by the built-in job at Instance. A negative
// GPM value leaves that GPM series out (a GPU before Hopper).
type gpuFixture struct {
	Instance              string
	VRAMUsed, VRAMTotal   float64
	GPMSM, GPMDRAM        float64
	NVMLCompute, NVMLBand float64
}

func (g gpuFixture) load() string {
	var b strings.Builder
	l := fmt.Sprintf(`instance=%q, job="tokenpath", gpu="0", uuid="GPU-0a1b", name="NVIDIA H100 80GB HBM3", pci_bus_id="00000000:1B:00.0"`, g.Instance)
	series := []struct {
		name string
		v    float64
	}{
		{"gpu_vram_used_bytes", g.VRAMUsed},
		{"gpu_vram_total_bytes", g.VRAMTotal},
		{"gpu_compute_utilization", g.NVMLCompute},
		{"gpu_memory_bandwidth_utilization", g.NVMLBand},
		{"gpu_gpm_sm_activity_percent", g.GPMSM},
		{"gpu_gpm_dram_bandwidth_utilization_percent", g.GPMDRAM},
	}
	for _, s := range series {
		if s.v < 0 {
			continue
		}
		fmt.Fprintf(&b, "  %s{%s} %gx%d\n", s.name, l, s.v, gpuSteps)
	}
	return b.String()
}

// runningLoad is a vLLM server at instance with running requests.
func runningLoad(instance string, running float64) string {
	return fmt.Sprintf("  vllm:num_requests_running{instance=%q, job=\"vllm\", model_name=\"m\", engine=\"0\"} %gx%d\n",
		instance, running, gpuSteps)
}

// gpuStateWant is the state set with 1 for state and 0 for the others.
func gpuStateWant(instance, state string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range []string{"idle", "memory_bound", "compute_bound", "balanced"} {
		v := 0.0
		if s == state {
			v = 1
		}
		out[lbl("instance", instance, "job", "tokenpath", "gpu", "0", "uuid", "GPU-0a1b",
			"name", "NVIDIA H100 80GB HBM3", "state", s)] = v
	}
	return out
}

// TestGPUState classifies GPUs from bandwidth, SM activity and work, never
// from VRAM occupancy.
func TestGPUState(t *testing.T) {
	const total = 80e9
	cases := []struct {
		name       string
		thresholds Thresholds
		gpu        gpuFixture
		servers    string
		want       string
	}{
		{
			// vLLM reserved 91% of VRAM at start-up and serves nothing.
			name:    "idle vLLM GPU with VRAM reserved",
			gpu:     gpuFixture{Instance: "localhost:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 3, GPMDRAM: 2, NVMLCompute: 1, NVMLBand: 1},
			servers: runningLoad("127.0.0.1:8000", 0),
			want:    "idle",
		},
		{
			name:    "busy decode-heavy GPU is memory bound",
			gpu:     gpuFixture{Instance: "localhost:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 35, GPMDRAM: 80, NVMLCompute: 100, NVMLBand: 60},
			servers: runningLoad("localhost:8000", 24),
			want:    "memory_bound",
		},
		{
			name:    "prefill-heavy GPU is compute bound",
			gpu:     gpuFixture{Instance: "gpu-a:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 85, GPMDRAM: 40, NVMLCompute: 100, NVMLBand: 40},
			servers: runningLoad("gpu-a:8000", 4),
			want:    "compute_bound",
		},
		{
			name:    "both saturated is balanced",
			gpu:     gpuFixture{Instance: "gpu-a:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 80, GPMDRAM: 75, NVMLCompute: 100, NVMLBand: 70},
			servers: runningLoad("gpu-a:8000", 16),
			want:    "balanced",
		},
		{
			name:    "running requests with a quiet GPU is balanced, not idle",
			gpu:     gpuFixture{Instance: "gpu-a:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 5, GPMDRAM: 4, NVMLCompute: 8, NVMLBand: 3},
			servers: runningLoad("gpu-a:8000", 3),
			want:    "balanced",
		},
		{
			name:    "requests on another host do not make a GPU busy",
			gpu:     gpuFixture{Instance: "gpu-b:9400", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 3, GPMDRAM: 2, NVMLCompute: 1, NVMLBand: 1},
			servers: runningLoad("gpu-a:8000", 10),
			want:    "idle",
		},
		{
			name: "NVML signals before Hopper",
			gpu:  gpuFixture{Instance: "gpu-a:9090", VRAMUsed: 30e9, VRAMTotal: total, GPMSM: -1, GPMDRAM: -1, NVMLCompute: 30, NVMLBand: 70},
			want: "memory_bound",
		},
		{
			name: "a GPU busy without a scraped server has work",
			gpu:  gpuFixture{Instance: "gpu-a:9090", VRAMUsed: 10e9, VRAMTotal: total, GPMSM: 90, GPMDRAM: 20, NVMLCompute: 100, NVMLBand: 20},
			want: "compute_bound",
		},
		{
			name:       "a higher saturation threshold makes the decode-heavy GPU balanced",
			thresholds: Thresholds{GPUSaturatedRatio: 0.9},
			gpu:        gpuFixture{Instance: "localhost:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 35, GPMDRAM: 80, NVMLCompute: 100, NVMLBand: 60},
			servers:    runningLoad("localhost:8000", 24),
			want:       "balanced",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRuleHarness(t, tc.thresholds, "load 15s\n"+tc.gpu.load()+tc.servers)
			h.EvalUntil(2 * time.Minute)
			requireSeries(t, h, "tokenpath:gpu_state", gpuStateWant(tc.gpu.Instance, tc.want))
			// Exactly one state holds.
			requireSeries(t, h, "sum without (state) (tokenpath:gpu_state)", map[string]float64{
				lbl("instance", tc.gpu.Instance, "job", "tokenpath", "gpu", "0", "uuid", "GPU-0a1b", "name", "NVIDIA H100 80GB HBM3"): 1,
			})
		})
	}
}

// TestGPURatios checks the ratios the state and the alerts are built on:
// GPM wins over NVML where both exist, percentages become 0–1.
func TestGPURatios(t *testing.T) {
	g := gpuFixture{Instance: "localhost:9090", VRAMUsed: 73e9, VRAMTotal: 80e9, GPMSM: 35, GPMDRAM: 80, NVMLCompute: 100, NVMLBand: 60}
	h := newRuleHarness(t, Thresholds{}, "load 15s\n"+g.load()+runningLoad("[::1]:8000", 24))
	h.EvalUntil(time.Minute)
	gpu := lbl("instance", "localhost:9090", "job", "tokenpath", "gpu", "0", "uuid", "GPU-0a1b", "name", "NVIDIA H100 80GB HBM3")
	cases := []struct {
		expr string
		want map[string]float64
	}{
		{"tokenpath:gpu_memory_bandwidth:ratio", map[string]float64{gpu: 0.80}},
		{"tokenpath:gpu_sm_activity:ratio", map[string]float64{gpu: 0.35}},
		{"tokenpath:gpu_vram_usage:ratio", map[string]float64{gpu: 73.0 / 80}},
		{"tokenpath:gpu_has_work", map[string]float64{gpu: 1}},
		// [::1]:8000 and localhost:9090 are the same box.
		{"tokenpath:host_requests_running:sum", map[string]float64{lbl("node", "localhost"): 24}},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			requireSeries(t, h, tc.expr, tc.want)
		})
	}
}

// TestGPURulesWithoutGPUs checks that a host without GPUs (no NVML) gets no
// GPU series and no rule errors.
func TestGPURulesWithoutGPUs(t *testing.T) {
	h := newRuleHarness(t, Thresholds{}, "load 15s\n"+runningLoad("localhost:8000", 2))
	h.EvalUntil(time.Minute)
	requireSeries(t, h, `{__name__=~"tokenpath:gpu.*"}`, map[string]float64{})
	requireSeries(t, h, "tokenpath:host_requests_running:sum", map[string]float64{lbl("node", "localhost"): 2})
}
