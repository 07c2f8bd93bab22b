package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// energyGPU is one GPU on the box gpu-a, exported by tokenpath at
// gpu-a:9400, drawing watts (its energy counter grows watts × 15 J per
// sample) with the given GPM SM activity and DRAM bandwidth (percent).
type energyGPU struct {
	gpu, uuid     string
	watts, sm, bw float64
}

func (g energyGPU) load() string {
	l := fmt.Sprintf(`instance="gpu-a:9400", job="tokenpath", gpu=%q, uuid=%q, name="NVIDIA H100 80GB HBM3"`, g.gpu, g.uuid)
	var b strings.Builder
	fmt.Fprintf(&b, "  gpu_energy_joules_total{%s} 1000+%gx%d\n", l, g.watts*15, diagnosisSteps)
	fmt.Fprintf(&b, "  gpu_gpm_sm_activity_percent{%s} %gx%d\n", l, g.sm, diagnosisSteps)
	fmt.Fprintf(&b, "  gpu_gpm_dram_bandwidth_utilization_percent{%s} %gx%d\n", l, g.bw, diagnosisSteps)
	return b.String()
}

// TestEnergyPerToken: two GPUs on gpu-a, GPU 0 at 400 W memory-bound and
// GPU 1 at 200 W compute-bound; two vLLM targets on the box, gpu-a:8000
// generating 1200 tokens/s and gpu-a:8001 300 tokens/s. Per node: 600 W
// over 1500 tokens/s. With the mapping (GPU 0 serves gpu-a:8000) that row
// gets GPU 0's numbers; gpu-a:8001, unmapped, keeps the box's.
func TestEnergyPerToken(t *testing.T) {
	a := with(func(r *rowInputs) { r.Gen = 1200 })
	b := with(func(r *rowInputs) { r.Instance, r.Gen = "gpu-a:8001", 300 })
	gpus := energyGPU{"0", "GPU-0", 400, 30, 85}.load() + energyGPU{"1", "GPU-1", 200, 90, 30}.load()
	// As tokenpath's self-scrape exports it (gpu/procmap); the GPU rules put
	// the target back on job and instance (tokenpath:inference_target_gpu).
	mapping := fmt.Sprintf("  tokenpath_inference_target_gpu{instance=\"gpu-a:9400\", job=\"tokenpath\", target_job=\"vllm\", target_instance=\"gpu-a:8000\", gpu=\"0\", uuid=\"GPU-0\"} 1x%d\n", diagnosisSteps)
	node := lbl("node", "gpu-a", "scope", "node")

	cases := []struct {
		name    string
		mapping string
		numbers map[string]map[string]float64
	}{
		{
			name: "no mapping: per node only, the box's GPU shares for both rows",
			numbers: map[string]map[string]float64{
				`tokenpath:energy_per_token:joules`:      {node: 600.0 / 1500},
				`tokenpath:tokens_per_joule`:             {node: 1500.0 / 600},
				`tokenpath:node_power:watts`:             {lbl("node", "gpu-a"): 600},
				`tokenpath:inference_target_power:watts`: {},
				// One of the box's two GPUs in each state.
				`tokenpath:diagnosis_gpu_memory_bound:ratio`:  {a.row(): 0.5, b.row(): 0.5},
				`tokenpath:diagnosis_gpu_compute_bound:ratio`: {a.row(): 0.5, b.row(): 0.5},
			},
		},
		{
			name:    "GPU 0 mapped to gpu-a:8000: that row from GPU 0 alone",
			mapping: mapping,
			numbers: map[string]map[string]float64{
				`tokenpath:energy_per_token:joules`: {
					node: 600.0 / 1500,
					// 400 W / 1200 tokens/s
					a.row("scope", "row"): 400.0 / 1200,
				},
				`tokenpath:tokens_per_joule`:                  {node: 1500.0 / 600, a.row("scope", "row"): 1200.0 / 400},
				`tokenpath:inference_target_power:watts`:      {lbl("instance", "gpu-a:8000", "job", "vllm"): 400},
				`tokenpath:diagnosis_gpu_memory_bound:ratio`:  {a.row(): 1, b.row(): 0.5},
				`tokenpath:diagnosis_gpu_compute_bound:ratio`: {a.row(): 0, b.row(): 0.5},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRuleHarness(t, Thresholds{}, "load 15s\n"+a.load()+b.load()+gpus+tc.mapping)
			h.EvalUntil(3 * time.Minute)
			for expr, want := range tc.numbers {
				requireSeries(t, h, expr, want)
			}
		})
	}
}

// TestEnergyWithoutTokens: a powered box that generates nothing has no
// joules per token (no division by zero) and 0 tokens per joule; a box
// without GPUs has neither.
func TestEnergyWithoutTokens(t *testing.T) {
	idle := with(func(r *rowInputs) { r.Gen = 0 })
	elsewhere := with(func(r *rowInputs) { r.Instance = "gpu-b:8000" })
	h := newRuleHarness(t, Thresholds{}, "load 15s\n"+idle.load()+elsewhere.load()+energyGPU{"0", "GPU-0", 400, 5, 5}.load())
	h.EvalUntil(3 * time.Minute)
	requireSeries(t, h, "tokenpath:energy_per_token:joules", map[string]float64{})
	requireSeries(t, h, "tokenpath:tokens_per_joule", map[string]float64{lbl("node", "gpu-a", "scope", "node"): 0})
}
