package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRulesKeepHostsApart evaluates the embedded rules as a central
// Prometheus would, on series remote-written or federated by two tokenpaths:
// each carries the external label host, and both boxes look alike from
// inside (vLLM on localhost:8000, tokenpath and its GPU on localhost:9090,
// the same GPU uuid). Nothing of one host may leak into the other: host a
// has running requests on a quiet GPU (balanced: it has work), host b has
// none (idle), and each host's token-path series stay separate.
func TestRulesKeepHostsApart(t *testing.T) {
	var load strings.Builder
	load.WriteString("load 15s\n")
	for host, running := range map[string]float64{"a": 10, "b": 0} {
		gpu := fmt.Sprintf(`host=%q, instance="localhost:9090", job="tokenpath", gpu="0", uuid="GPU-0a1b", name="NVIDIA H100 80GB HBM3"`, host)
		for _, s := range []struct {
			name string
			v    float64
		}{
			{"gpu_vram_used_bytes", 73e9},
			{"gpu_vram_total_bytes", 80e9},
			{"gpu_gpm_sm_activity_percent", 3},
			{"gpu_gpm_dram_bandwidth_utilization_percent", 2},
		} {
			fmt.Fprintf(&load, "  %s{%s} %gx%d\n", s.name, gpu, s.v, gpuSteps)
		}
		fmt.Fprintf(&load, "  vllm:num_requests_running{host=%q, instance=\"localhost:8000\", job=\"vllm\", model_name=\"m\", engine=\"0\"} %gx%d\n",
			host, running, gpuSteps)
	}
	h := newRuleHarness(t, Thresholds{}, load.String())
	h.EvalUntil(2 * time.Minute)

	gpu := func(host, state string) string {
		return lbl("host", host, "instance", "localhost:9090", "job", "tokenpath", "gpu", "0", "uuid", "GPU-0a1b",
			"name", "NVIDIA H100 80GB HBM3", "state", state)
	}
	requireSeries(t, h, `tokenpath:gpu_state == 1`, map[string]float64{
		gpu("a", "balanced"): 1,
		gpu("b", "idle"):     1,
	})
	requireSeries(t, h, "tokenpath:host_requests_running:sum", map[string]float64{
		lbl("host", "a", "node", "localhost"): 10,
		lbl("host", "b", "node", "localhost"): 0,
	})
	requireSeries(t, h, "tokenpath:requests_running", map[string]float64{
		lbl("host", "a", "instance", "localhost:8000", "job", "vllm", "model", "m", "server", "vllm"): 10,
		lbl("host", "b", "instance", "localhost:8000", "job", "vllm", "model", "m", "server", "vllm"): 0,
	})
}
