package rules

import (
	"testing"
	"time"

	promrules "github.com/prometheus/prometheus/rules"
	"github.com/stretchr/testify/require"
)

// alertCheck is the expected state of one alert at one evaluation: state
// is "" (inactive), "pending" or "firing".
type alertCheck struct {
	at     time.Duration
	alert  string
	labels string
	state  string
}

// TestAlerts drives the seed's alerts through time: pending as soon as the
// condition holds, firing after `for`, never below the threshold, with
// thresholds and `for` durations overridden.
func TestAlerts(t *testing.T) {
	vllmTTFT := lbl("instance", "vllm-a:8000", "job", "vllm", "model", "llama-3-8b", "server", "vllm", "quantile", "0.99")
	vllmITL := lbl("instance", "vllm-a:8000", "job", "vllm", "model", "llama-3-8b", "server", "vllm", "quantile", "0.99", "measure", "itl")
	tgiITL := lbl("instance", "tgi-a:8080", "job", "tgi", "server", "tgi", "quantile", "0.99", "measure", "tpot")
	gpu := func(instance string) string {
		return lbl("instance", instance, "job", "tokenpath", "gpu", "0", "uuid", "GPU-0a1b", "name", "NVIDIA H100 80GB HBM3")
	}
	// p99 TTFT 9.1 s, p99 ITL 150 ms from the first rate (15 s) on.
	vllm := vllmFixture{Instance: "vllm-a:8000", Model: "llama-3-8b", Engines: []string{"0"}}.load()
	const total = 80e9

	cases := []struct {
		name       string
		thresholds Thresholds
		load       string
		checks     []alertCheck
	}{
		{
			name: "HighTTFT fires after 5m above 5s; CriticalTTFT stays quiet below 10s",
			load: vllm,
			checks: []alertCheck{
				{0, "HighTTFT", vllmTTFT, ""},
				{15 * time.Second, "HighTTFT", vllmTTFT, "pending"},
				{5 * time.Minute, "HighTTFT", vllmTTFT, "pending"},
				{5*time.Minute + 15*time.Second, "HighTTFT", vllmTTFT, "firing"},
				{6 * time.Minute, "CriticalTTFT", vllmTTFT, ""},
			},
		},
		{
			name:       "CriticalTTFT with a 9s threshold fires after its 2m",
			thresholds: Thresholds{TTFTCritical: 9 * time.Second},
			load:       vllm,
			checks: []alertCheck{
				{15 * time.Second, "CriticalTTFT", vllmTTFT, "pending"},
				{2 * time.Minute, "CriticalTTFT", vllmTTFT, "pending"},
				{2*time.Minute + 15*time.Second, "CriticalTTFT", vllmTTFT, "firing"},
			},
		},
		{
			name:       "HighTTFT does not fire below its threshold",
			thresholds: Thresholds{TTFTWarning: 9200 * time.Millisecond},
			load:       vllm,
			checks:     []alertCheck{{6 * time.Minute, "HighTTFT", vllmTTFT, ""}},
		},
		{
			name:       "a shorter for",
			thresholds: Thresholds{HighTTFTFor: time.Minute},
			load:       vllm,
			checks: []alertCheck{
				{time.Minute, "HighTTFT", vllmTTFT, "pending"},
				{time.Minute + 15*time.Second, "HighTTFT", vllmTTFT, "firing"},
			},
		},
		{
			name:       "For alone applies to every alert",
			thresholds: Thresholds{For: 30 * time.Second, TTFTCritical: 9 * time.Second},
			load:       vllm,
			checks: []alertCheck{
				{30 * time.Second, "CriticalTTFT", vllmTTFT, "pending"},
				{45 * time.Second, "CriticalTTFT", vllmTTFT, "firing"},
				{45 * time.Second, "HighTTFT", vllmTTFT, "firing"},
				{45 * time.Second, "HighITL", vllmITL, "firing"},
			},
		},
		{
			// TGI's queue+prefill median is an estimate, not a p99: no TTFT alert on it.
			name:       "no TTFT alert on the TGI estimate",
			thresholds: Thresholds{TTFTWarning: 100 * time.Millisecond, For: time.Minute},
			load:       tgiFixture{Instance: "tgi-a:8080"}.load(),
			checks:     []alertCheck{{3 * time.Minute, "HighTTFT", "", ""}},
		},
		{
			name: "HighITL on vLLM ITL and TGI TPOT above 100ms",
			load: vllm + tgiFixture{Instance: "tgi-a:8080"}.load(),
			checks: []alertCheck{
				{5 * time.Minute, "HighITL", vllmITL, "pending"},
				{5*time.Minute + 15*time.Second, "HighITL", vllmITL, "firing"},
				{5*time.Minute + 15*time.Second, "HighITL", tgiITL, "firing"},
			},
		},
		{
			name:       "HighITL does not fire below its threshold",
			thresholds: Thresholds{ITLWarning: 160 * time.Millisecond},
			load:       vllm,
			checks:     []alertCheck{{6 * time.Minute, "HighITL", vllmITL, ""}},
		},
		{
			name: "MemoryBound on a GPU with work, high VRAM and low compute",
			load: gpuFixture{Instance: "localhost:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 35, GPMDRAM: 80, NVMLCompute: 100, NVMLBand: 60}.load() +
				runningLoad("localhost:8000", 24),
			checks: []alertCheck{
				{0, "MemoryBound", gpu("localhost:9090"), "pending"},
				{9*time.Minute + 45*time.Second, "MemoryBound", gpu("localhost:9090"), "pending"},
				{10 * time.Minute, "MemoryBound", gpu("localhost:9090"), "firing"},
				{10 * time.Minute, "GPUMemoryExhaustion", gpu("localhost:9090"), ""},
			},
		},
		{
			// The seed's rule alone would fire here: vLLM reserved the VRAM, nothing runs.
			name: "no MemoryBound on an idle vLLM GPU with reserved VRAM",
			load: gpuFixture{Instance: "localhost:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 3, GPMDRAM: 2, NVMLCompute: 1, NVMLBand: 1}.load() +
				runningLoad("localhost:8000", 0),
			checks: []alertCheck{{12 * time.Minute, "MemoryBound", gpu("localhost:9090"), ""}},
		},
		{
			name: "no MemoryBound below 90% VRAM",
			load: gpuFixture{Instance: "localhost:9090", VRAMUsed: 71e9, VRAMTotal: total, GPMSM: 35, GPMDRAM: 80, NVMLCompute: 100, NVMLBand: 60}.load() +
				runningLoad("localhost:8000", 24),
			checks: []alertCheck{{12 * time.Minute, "MemoryBound", gpu("localhost:9090"), ""}},
		},
		{
			name: "no MemoryBound with compute at 50%",
			load: gpuFixture{Instance: "localhost:9090", VRAMUsed: 73e9, VRAMTotal: total, GPMSM: 50, GPMDRAM: 80, NVMLCompute: 100, NVMLBand: 60}.load() +
				runningLoad("localhost:8000", 24),
			checks: []alertCheck{{12 * time.Minute, "MemoryBound", gpu("localhost:9090"), ""}},
		},
		{
			name: "GPUMemoryExhaustion above 95% VRAM",
			load: gpuFixture{Instance: "gpu-a:9090", VRAMUsed: 77e9, VRAMTotal: total, GPMSM: 3, GPMDRAM: 2, NVMLCompute: 1, NVMLBand: 1}.load(),
			checks: []alertCheck{
				{0, "GPUMemoryExhaustion", gpu("gpu-a:9090"), "pending"},
				{4*time.Minute + 45*time.Second, "GPUMemoryExhaustion", gpu("gpu-a:9090"), "pending"},
				{5 * time.Minute, "GPUMemoryExhaustion", gpu("gpu-a:9090"), "firing"},
			},
		},
		{
			name:   "no GPUMemoryExhaustion at exactly 95%",
			load:   gpuFixture{Instance: "gpu-a:9090", VRAMUsed: 76e9, VRAMTotal: total, GPMSM: 3, GPMDRAM: 2, NVMLCompute: 1, NVMLBand: 1}.load(),
			checks: []alertCheck{{6 * time.Minute, "GPUMemoryExhaustion", gpu("gpu-a:9090"), ""}},
		},
		{
			name:       "GPUMemoryExhaustion with a raised threshold",
			thresholds: Thresholds{VRAMCriticalRatio: 0.97},
			load:       gpuFixture{Instance: "gpu-a:9090", VRAMUsed: 77e9, VRAMTotal: total, GPMSM: 3, GPMDRAM: 2, NVMLCompute: 1, NVMLBand: 1}.load(),
			checks:     []alertCheck{{6 * time.Minute, "GPUMemoryExhaustion", gpu("gpu-a:9090"), ""}},
		},
		{
			// A vLLM job's target answers for 2 minutes, then stops; the
			// job "other" (a node exporter, say) is down all along and is not
			// an inference endpoint; a target of a custom job detected as
			// SGLang goes down too.
			name: "InferenceTargetDown after 1m of failed scrapes, only for inference targets",
			load: `up{job="vllm", instance="vllm-a:8000", server="vllm"} 1x8 0x20
up{job="node", instance="node-a:9100", server="other"} 0x28
up{job="llm", instance="llm-b:30000", server="sglang"} 1x8 0x20
`,
			checks: []alertCheck{
				{2 * time.Minute, "InferenceTargetDown", lbl("instance", "vllm-a:8000", "job", "vllm", "server", "vllm"), ""},
				{2*time.Minute + 15*time.Second, "InferenceTargetDown", lbl("instance", "vllm-a:8000", "job", "vllm", "server", "vllm"), "pending"},
				{3 * time.Minute, "InferenceTargetDown", lbl("instance", "vllm-a:8000", "job", "vllm", "server", "vllm"), "pending"},
				{3*time.Minute + 15*time.Second, "InferenceTargetDown", lbl("instance", "vllm-a:8000", "job", "vllm", "server", "vllm"), "firing"},
				{3*time.Minute + 15*time.Second, "InferenceTargetDown", lbl("instance", "llm-b:30000", "job", "llm", "server", "sglang"), "firing"},
			},
		},
		{
			// Never scraped successfully, so never detected: the job's
			// name says what it is.
			name:       "InferenceTargetDown for an undetected target of job tgi, with --alert.for",
			thresholds: Thresholds{For: 30 * time.Second},
			load:       `up{job="tgi", instance="tgi-a:8080"} 0x10` + "\n",
			checks: []alertCheck{
				{15 * time.Second, "InferenceTargetDown", lbl("instance", "tgi-a:8080", "job", "tgi"), "pending"},
				{30 * time.Second, "InferenceTargetDown", lbl("instance", "tgi-a:8080", "job", "tgi"), "firing"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRuleHarness(t, tc.thresholds, "load 15s\n"+tc.load)
			for _, c := range tc.checks {
				h.EvalUntil(c.at)
				active := h.Alerts(c.alert)
				if c.state == "" {
					require.Empty(t, active, "%s at %s", c.alert, c.at)
					continue
				}
				a, ok := active[c.labels]
				require.True(t, ok, "%s at %s: want %s, have %v", c.alert, c.at, c.labels, keysOf(active))
				require.Equal(t, c.state, a.State.String(), "%s at %s", c.alert, c.at)
			}
		})
	}
}

// keysOf lists an alert map's keys for failure messages.
func keysOf(m map[string]*promrules.Alert) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAlertAnnotations checks what an on-call person reads: severity, the
// humanized value, where, the threshold, and what to look at.
func TestAlertAnnotations(t *testing.T) {
	load := "load 15s\n" +
		vllmFixture{Instance: "vllm-a:8000", Model: "llama-3-8b", Engines: []string{"0"}}.load() +
		tgiFixture{Instance: "tgi-a:8080"}.load() +
		gpuFixture{Instance: "localhost:9090", VRAMUsed: 77e9, VRAMTotal: 80e9, GPMSM: 35, GPMDRAM: 80, NVMLCompute: 100, NVMLBand: 60}.load() +
		runningLoad("localhost:8000", 24) +
		`up{job="vllm", instance="vllm-b:8000", server="vllm"} 0x10` + "\n"
	h := newRuleHarness(t, Thresholds{For: time.Minute, TTFTCritical: 9 * time.Second}, load)
	h.EvalUntil(2 * time.Minute)

	cases := []struct {
		alert, labels, severity, summary string
		description                      []string
		// diagnosis and runbook are the latency alerts' cause annotations.
		diagnosis, runbook string
	}{
		{
			alert:    "HighTTFT",
			labels:   lbl("instance", "vllm-a:8000", "job", "vllm", "model", "llama-3-8b", "server", "vllm", "quantile", "0.99"),
			severity: "warning",
			summary:  "p99 time to first token is 9.1s on vllm vllm-a:8000 (llama-3-8b)",
			description: []string{
				"model llama-3-8b on vllm at vllm-a:8000 (job vllm) waited 9.1s",
				"the warning threshold is 5s for 1m", "tokenpath:requests_waiting",
			},
			// p99 TTFT 9.1 s / 5 s; mean queue 0.5 s / mean TTFT 0.5 s; 3 preemptions
			// per 15 s; p99 ITL 150 ms / p50 25 ms.
			diagnosis: "queue_saturation: the tail is 1.8× its objective, queue 100% of the TTFT, 1 waiting, KV cache 50%, 0.2 preemptions/s, p99 ITL 6.0× p50",
			runbook:   RunbookBase + "queue_saturation",
		},
		{
			alert:       "CriticalTTFT",
			labels:      lbl("instance", "vllm-a:8000", "job", "vllm", "model", "llama-3-8b", "server", "vllm", "quantile", "0.99"),
			severity:    "critical",
			summary:     "p99 time to first token is 9.1s on vllm vllm-a:8000 (llama-3-8b)",
			description: []string{"the critical threshold is 9s for 1m"},
			diagnosis:   "queue_saturation: the tail is 1.8× its objective, queue 100% of the TTFT, 1 waiting, KV cache 50%, 0.2 preemptions/s, p99 ITL 6.0× p50",
			runbook:     RunbookBase + "queue_saturation",
		},
		{
			alert:    "HighITL",
			labels:   lbl("instance", "tgi-a:8080", "job", "tgi", "server", "tgi", "quantile", "0.99", "measure", "tpot"),
			severity: "warning",
			summary:  "p99 inter-token latency is 150ms on tgi tgi-a:8080",
			description: []string{
				"for the model on tgi at tgi-a:8080", "(TGI's mean time per token, prefill included)",
				"the warning threshold is 100ms for 1m",
			},
			// TGI: p99 queue 9.1 s stands in for TTFT; queue 0.5 s of a 0.5 + 0.5 s
			// estimate; no KV cache.
			diagnosis: "queue_saturation: the tail is 1.8× its objective, queue 50% of the TTFT, 3 waiting, p99 ITL 6.0× p50",
			runbook:   RunbookBase + "queue_saturation",
		},
		{
			alert:    "MemoryBound",
			labels:   lbl("instance", "localhost:9090", "job", "tokenpath", "gpu", "0", "uuid", "GPU-0a1b", "name", "NVIDIA H100 80GB HBM3"),
			severity: "warning",
			summary:  "GPU 0 (NVIDIA H100 80GB HBM3) on localhost:9090 has work, 96.25% VRAM in use and low compute",
			description: []string{
				"uses 96.25% of its VRAM while its SM activity is 35%, under 50%",
				"VRAM above 90% for 1m", "--gpu-memory-utilization",
			},
		},
		{
			alert:       "GPUMemoryExhaustion",
			labels:      lbl("instance", "localhost:9090", "job", "tokenpath", "gpu", "0", "uuid", "GPU-0a1b", "name", "NVIDIA H100 80GB HBM3"),
			severity:    "critical",
			summary:     "GPU 0 (NVIDIA H100 80GB HBM3) on localhost:9090 has 96.25% of its VRAM in use",
			description: []string{"(threshold 95%)", "nvidia-smi"},
		},
		{
			alert:       "InferenceTargetDown",
			labels:      lbl("instance", "vllm-b:8000", "job", "vllm", "server", "vllm"),
			severity:    "critical",
			summary:     "Inference endpoint vllm-b:8000 (job vllm) is not answering",
			description: []string{"scrape vllm-b:8000 (job vllm, detected as vllm) for 1m", "VLLM_ENDPOINT"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.alert, func(t *testing.T) {
			active := h.Alerts(tc.alert)
			a, ok := active[tc.labels]
			require.True(t, ok, "want %s, have %v", tc.labels, keysOf(active))
			require.Equal(t, "firing", a.State.String())
			require.Equal(t, tc.severity, a.Labels.Get("severity"))
			require.Equal(t, tc.summary, a.Annotations.Get("summary"))
			for _, d := range tc.description {
				require.Contains(t, a.Annotations.Get("description"), d)
			}
			require.NotContains(t, a.Annotations.Get("description"), "error expanding")
			require.Equal(t, tc.diagnosis, a.Annotations.Get("diagnosis"))
			require.Equal(t, tc.runbook, a.Annotations.Get("runbook_url"))
		})
	}
}
