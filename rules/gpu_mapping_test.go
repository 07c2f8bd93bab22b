package rules

import (
	"testing"
	"time"
)

// TestInferenceTargetGPU: tokenpath's own mapping series, self-scraped under job
// "tokenpath", becomes tokenpath:inference_target_gpu on the inference target's job
// and instance, one series per GPU, with the host kept apart and the mapping's other
// labels dropped.
func TestInferenceTargetGPU(t *testing.T) {
	self := `job="tokenpath", instance="localhost:9090"`
	load := "load 15s\n" +
		// Host a: vLLM on GPUs 1 and 3 (tensor parallel), TGI on GPU 0.
		`  tokenpath_inference_target_gpu{host="a", ` + self + `, target_job="vllm", target_instance="localhost:8000", gpu="1", uuid="GPU-1"} 1x8` + "\n" +
		`  tokenpath_inference_target_gpu{host="a", ` + self + `, target_job="vllm", target_instance="localhost:8000", gpu="3", uuid="GPU-3"} 1x8` + "\n" +
		`  tokenpath_inference_target_gpu{host="a", ` + self + `, target_job="tgi", target_instance="localhost:3000", gpu="0", uuid="GPU-0"} 1x8` + "\n" +
		// Host b looks the same from inside: the same job, instance and GPU index.
		`  tokenpath_inference_target_gpu{host="b", ` + self + `, target_job="vllm", target_instance="localhost:8000", gpu="1", uuid="GPU-b1"} 1x8` + "\n" +
		// The mapping states have no series of their own in the rule.
		`  tokenpath_inference_target_gpu_mapping{host="a", ` + self + `, target_job="sglang", target_instance="10.0.0.9:30000", state="remote"} 1x8` + "\n"
	h := newRuleHarness(t, Thresholds{}, load)
	h.EvalUntil(time.Minute)
	requireSeries(t, h, "tokenpath:inference_target_gpu", map[string]float64{
		lbl("host", "a", "job", "vllm", "instance", "localhost:8000", "gpu", "1", "uuid", "GPU-1"):  1,
		lbl("host", "a", "job", "vllm", "instance", "localhost:8000", "gpu", "3", "uuid", "GPU-3"):  1,
		lbl("host", "a", "job", "tgi", "instance", "localhost:3000", "gpu", "0", "uuid", "GPU-0"):   1,
		lbl("host", "b", "job", "vllm", "instance", "localhost:8000", "gpu", "1", "uuid", "GPU-b1"): 1,
	})
	// It joins the token-path series of the server it names.
	requireSeries(t, h, `count by (host, job, instance) (tokenpath:inference_target_gpu{job="vllm"})`, map[string]float64{
		lbl("host", "a", "job", "vllm", "instance", "localhost:8000"): 2,
		lbl("host", "b", "job", "vllm", "instance", "localhost:8000"): 1,
	})
}

// TestInferenceTargetGPUWithoutMapping: without the mapping (no GPU collector) the rule
// records nothing and fails nothing.
func TestInferenceTargetGPUWithoutMapping(t *testing.T) {
	h := newRuleHarness(t, Thresholds{}, "load 15s\n"+runningLoad("localhost:8000", 2))
	h.EvalUntil(time.Minute)
	requireSeries(t, h, "tokenpath:inference_target_gpu", map[string]float64{})
}
