package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// diagnosisSteps is how many intervals the diagnosis fixtures run: 10 minutes.
const diagnosisSteps = 40

// rowInputs are the token-path series of one server row as the token-path
// and probe rules record them, loaded directly so that every number in a case
// is worked by hand. A negative value leaves the series out.
type rowInputs struct {
	Server, Instance string
	// Host, when set, is a host label on every token-path series of the row.
	Host             string
	Running, Waiting float64
	TTFTp99          float64
	TTFTMean         float64
	QueueP99         float64
	QueueMean        float64
	ITLp99, ITLp50   float64
	KV, Preemptions  float64
	Prompt, Gen      float64
	// Gap is the probes' mean TTFT − the server's (rules/slo); negative: no probe.
	Gap float64
	// Up, when set, is the target's `up` series in load notation.
	Up string
}

// healthy is a vLLM row well within its objectives: p99 TTFT 0.8 s, p99 ITL
// 30 ms, nothing waiting, KV 40%, no probe.
func healthy() rowInputs {
	return rowInputs{
		Server: "vllm", Instance: "gpu-a:8000",
		Running: 8, Waiting: 0, TTFTp99: 0.8, TTFTMean: 0.3, QueueP99: 0.05, QueueMean: 0.01,
		ITLp99: 0.03, ITLp50: 0.015, KV: 0.4, Preemptions: 0, Prompt: 1000, Gen: 500, Gap: -1,
	}
}

func (r rowInputs) labels() string {
	l := fmt.Sprintf(`server=%q, model="m", instance=%q, job=%q`, r.Server, r.Instance, r.Server)
	if r.Host != "" {
		l += fmt.Sprintf(`, host=%q`, r.Host)
	}
	return l
}

// row is the key of the row's diagnosis series.
func (r rowInputs) row(extra ...string) string {
	kv := []string{"server", r.Server, "model", "m", "instance", r.Instance, "job", r.Server}
	if r.Host != "" {
		kv = append(kv, "host", r.Host)
	}
	return lbl(append(kv, extra...)...)
}

func (r rowInputs) load() string {
	var b strings.Builder
	l := r.labels()
	add := func(name, extra string, v float64) {
		if v < 0 {
			return
		}
		fmt.Fprintf(&b, "  %s{%s%s} %gx%d\n", name, l, extra, v, diagnosisSteps)
	}
	measure := "itl"
	ttftExtra := ""
	if r.Server == "tgi" {
		measure, ttftExtra = "tpot", `, estimate="queue_plus_prefill"`
	}
	add("tokenpath:requests_running", "", r.Running)
	add("tokenpath:requests_waiting", "", r.Waiting)
	add("tokenpath:ttft_seconds:histogram_quantile", `, quantile="0.99"`, r.TTFTp99)
	add("tokenpath:ttft_seconds:mean_rate1m", ttftExtra, r.TTFTMean)
	add("tokenpath:queue_seconds:histogram_quantile", `, quantile="0.99"`, r.QueueP99)
	add("tokenpath:queue_seconds:mean_rate1m", "", r.QueueMean)
	add("tokenpath:itl_seconds:histogram_quantile", `, quantile="0.99", measure="`+measure+`"`, r.ITLp99)
	add("tokenpath:itl_seconds:histogram_quantile", `, quantile="0.5", measure="`+measure+`"`, r.ITLp50)
	add("tokenpath:kv_cache_usage:ratio", "", r.KV)
	add("tokenpath:preemptions:rate1m", "", r.Preemptions)
	add("tokenpath:prompt_tokens:rate1m", "", r.Prompt)
	add("tokenpath:generation_tokens:rate1m", "", r.Gen)
	if r.Gap >= 0 {
		fmt.Fprintf(&b, "  tokenpath:ttft_client_server_gap_seconds:mean_rate5m{instance=%q, model=\"m\"} %gx%d\n", r.Instance, r.Gap, diagnosisSteps)
	}
	if r.Up != "" {
		fmt.Fprintf(&b, "  up{instance=%q, job=%q} %s\n", r.Instance, r.Server, r.Up)
	}
	return b.String()
}

// causes are every value of tokenpath:diagnosis's cause label, in priority order.
var causes = []string{
	"engine_restart", "front_of_engine", "kv_cache_pressure", "queue_saturation", "prefill_interference",
	"memory_bandwidth_bound", "compute_bound", "unexplained", "none",
}

// diagnosisWant is the state set of r with 1 for cause and 0 for the others.
func diagnosisWant(r rowInputs, cause string) map[string]float64 {
	out := map[string]float64{}
	for _, c := range causes {
		v := 0.0
		if c == cause {
			v = 1
		}
		out[r.row("cause", c)] = v
	}
	return out
}

// with returns healthy() changed by f.
func with(f func(*rowInputs)) rowInputs {
	r := healthy()
	f(&r)
	return r
}

// gpuOn is an H100 exported at instance with the given GPM SM activity and
// DRAM bandwidth in percent.
func gpuOn(instance string, sm, dram float64) string {
	return gpuFixture{Instance: instance, VRAMUsed: 73e9, VRAMTotal: 80e9, GPMSM: sm, GPMDRAM: dram, NVMLCompute: 100, NVMLBand: dram}.load()
}

// TestDiagnosis decides each cause, and the edges between them, from
// hand-worked numbers; every case also checks the numbers the cause is
// quoted with.
func TestDiagnosis(t *testing.T) {
	cases := []struct {
		name       string
		thresholds Thresholds
		row        rowInputs
		extra      string // more series: GPUs, raw counters
		want       string
		numbers    map[string]float64 // series name → value for the row
		absent     []string           // series the row must not have
	}{
		{
			name: "steady load is none",
			row:  healthy(),
			want: "none",
			numbers: map[string]float64{
				// The larger of 0.8 / 5 and 0.03 / 0.1.
				"tokenpath:diagnosis_tail:ratio":         0.3,
				"tokenpath:diagnosis_queue_share:ratio":  0.01 / 0.3,
				"tokenpath:diagnosis_itl_spike:ratio":    2,
				"tokenpath:diagnosis_prompt_share:ratio": 1000.0 / 1500,
			},
			absent: []string{"tokenpath:diagnosis_front_gap:seconds", "tokenpath:diagnosis_gpu_memory_bound:ratio", "tokenpath:diagnosis_restarted"},
		},
		{
			name: "queue saturation: TTFT is queue time and requests wait",
			row: with(func(r *rowInputs) {
				r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean, r.KV = 40, 12, 6, 5, 0.6
			}),
			want: "queue_saturation",
			numbers: map[string]float64{
				"tokenpath:diagnosis_tail:ratio":        12.0 / 5,
				"tokenpath:diagnosis_ttft_tail:seconds": 12,
				"tokenpath:diagnosis_queue_share:ratio": 5.0 / 6,
			},
		},
		{
			name: "empty queue: queue time alone is not saturation",
			row: with(func(r *rowInputs) {
				r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean, r.KV = 0, 12, 6, 5, 0.6
			}),
			want: "unexplained",
		},
		{
			name: "queue share under half is not saturation",
			row: with(func(r *rowInputs) {
				// A queue share of 2.9 / 6 = 0.483.
				r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean = 40, 12, 6, 2.9
			}),
			want: "unexplained",
		},
		{
			name: "KV cache pressure wins over the queue it causes",
			row: with(func(r *rowInputs) {
				r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean, r.KV, r.Preemptions = 10, 9, 4, 3, 0.97, 0.5
			}),
			want: "kv_cache_pressure",
			numbers: map[string]float64{
				"tokenpath:diagnosis_tail:ratio":        9.0 / 5,
				"tokenpath:diagnosis_queue_share:ratio": 0.75,
			},
		},
		{
			name: "KV cache full without preemptions or waiting requests is not pressure",
			row: with(func(r *rowInputs) {
				r.TTFTp99, r.TTFTMean, r.QueueMean, r.KV = 9, 4, 0.1, 0.97
			}),
			want: "unexplained",
		},
		{
			name: "KV cache pressure needs a tail above objective",
			row: with(func(r *rowInputs) {
				r.KV, r.Preemptions, r.Waiting = 0.97, 0.5, 3
			}),
			want: "none",
		},
		{
			name: "prefill interference: spiky ITL with prompt-heavy traffic",
			row: with(func(r *rowInputs) {
				r.ITLp99, r.ITLp50, r.Prompt, r.Gen = 0.3, 0.02, 6000, 600
			}),
			want: "prefill_interference",
			numbers: map[string]float64{
				"tokenpath:diagnosis_tail:ratio":         3,
				"tokenpath:diagnosis_itl_tail:seconds":   0.3,
				"tokenpath:diagnosis_itl_spike:ratio":    15,
				"tokenpath:diagnosis_prompt_share:ratio": 6000.0 / 6600,
			},
		},
		{
			name: "uniformly slow tokens are not prefill interference",
			row: with(func(r *rowInputs) {
				r.ITLp99, r.ITLp50, r.Prompt, r.Gen = 0.3, 0.12, 6000, 600
			}),
			want: "unexplained",
		},
		{
			name: "spiky ITL in decode-heavy traffic is not prefill interference",
			row: with(func(r *rowInputs) {
				r.ITLp99, r.ITLp50, r.Prompt, r.Gen = 0.3, 0.02, 500, 3000
			}),
			want: "unexplained",
		},
		{
			name: "memory bandwidth bound: slow tokens on a memory-bound GPU of the same host",
			row: with(func(r *rowInputs) {
				r.Running, r.ITLp99, r.ITLp50, r.Prompt, r.Gen = 48, 0.15, 0.12, 500, 3000
			}),
			extra: gpuOn("gpu-a:9400", 30, 85),
			want:  "memory_bandwidth_bound",
			numbers: map[string]float64{
				"tokenpath:diagnosis_tail:ratio":              1.5,
				"tokenpath:diagnosis_gpu_memory_bound:ratio":  1,
				"tokenpath:diagnosis_gpu_compute_bound:ratio": 0,
			},
		},
		{
			name: "compute bound: slow prefill on a compute-bound GPU",
			row: with(func(r *rowInputs) {
				r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean = 2, 7, 3, 0.2
			}),
			extra: gpuOn("gpu-a:9400", 90, 30),
			want:  "compute_bound",
			numbers: map[string]float64{
				"tokenpath:diagnosis_tail:ratio":              1.4,
				"tokenpath:diagnosis_gpu_compute_bound:ratio": 1,
				"tokenpath:diagnosis_gpu_memory_bound:ratio":  0,
			},
		},
		{
			name: "no GPU: the same tail is unexplained",
			row: with(func(r *rowInputs) {
				r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean = 2, 7, 3, 0.2
			}),
			want:   "unexplained",
			absent: []string{"tokenpath:diagnosis_gpu_compute_bound:ratio", "tokenpath:diagnosis_gpu_memory_bound:ratio"},
		},
		{
			name: "a compute-bound GPU on another host says nothing about this server",
			row: with(func(r *rowInputs) {
				r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean = 2, 7, 3, 0.2
			}),
			extra: gpuOn("gpu-b:9400", 90, 30),
			want:  "unexplained",
		},
		{
			name:  "a busy GPU under a tail within objectives is none",
			row:   healthy(),
			extra: gpuOn("gpu-a:9400", 90, 30),
			want:  "none",
		},
		{
			name: "front of engine: the probes wait far longer than the server sees",
			row: with(func(r *rowInputs) {
				r.Gap = 2.5
			}),
			// The probe's own series (server="probe", same instance) are no row of
			// their own and give no numbers.
			extra: fmt.Sprintf("  tokenpath:ttft_seconds:histogram_quantile{server=\"probe\", model=\"m\", instance=\"gpu-a:8000\", job=\"tokenpath\", quantile=\"0.99\"} 2.9x%[1]d\n"+
				"  tokenpath:ttft_seconds:mean_rate1m{server=\"probe\", model=\"m\", instance=\"gpu-a:8000\", job=\"tokenpath\"} 2.8x%[1]d\n"+
				"  tokenpath:itl_seconds:histogram_quantile{server=\"probe\", model=\"m\", instance=\"gpu-a:8000\", job=\"tokenpath\", quantile=\"0.99\", measure=\"itl\"} 0.04x%[1]d\n", diagnosisSteps),
			want: "front_of_engine",
			numbers: map[string]float64{
				"tokenpath:diagnosis_tail:ratio":        0.3,
				"tokenpath:diagnosis_ttft_tail:seconds": 0.8,
				"tokenpath:diagnosis_front_gap:seconds": 2.5,
				// 2.5 / (2.5 + 0.3)
				"tokenpath:diagnosis_front_share:ratio": 2.5 / 2.8,
			},
		},
		{
			name: "a small gap is not front of engine",
			row: with(func(r *rowInputs) {
				r.Gap = 0.4
			}),
			want: "none",
		},
		{
			name: "a gap smaller than the server's own TTFT leaves the queue the cause",
			row: with(func(r *rowInputs) {
				r.Gap, r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean = 1.2, 20, 8, 3, 2.4
			}),
			want: "queue_saturation",
			numbers: map[string]float64{
				"tokenpath:diagnosis_front_share:ratio": 1.2 / 4.2,
				"tokenpath:diagnosis_queue_share:ratio": 0.8,
			},
		},
		{
			name: "TGI without TTFT: its queue time stands in for the TTFT tail",
			row: with(func(r *rowInputs) {
				r.Server, r.TTFTp99, r.QueueP99, r.TTFTMean, r.QueueMean, r.Waiting, r.KV, r.Preemptions = "tgi", -1, 7, 4, 3.6, 30, -1, -1
			}),
			want: "queue_saturation",
			numbers: map[string]float64{
				"tokenpath:diagnosis_ttft_tail:seconds": 7,
				"tokenpath:diagnosis_queue_share:ratio": 0.9,
			},
		},
		{
			name: "engine restart: a failed scrape within the window",
			row: with(func(r *rowInputs) {
				r.Up = fmt.Sprintf("1 1 0 0 1x%d", diagnosisSteps-4)
				r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean = 40, 12, 6, 5
			}),
			want:    "engine_restart",
			numbers: map[string]float64{"tokenpath:diagnosis_restarted": 1},
		},
		{
			name:       "a failed scrape before the window is history",
			thresholds: Thresholds{DiagnosisRestartWindow: time.Minute},
			row: with(func(r *rowInputs) {
				r.Up = fmt.Sprintf("1 1 0 0 1x%d", diagnosisSteps-4)
			}),
			want:   "none",
			absent: []string{"tokenpath:diagnosis_restarted"},
		},
		{
			name:    "engine restart: a counter went back",
			row:     healthy(),
			extra:   `  vllm:request_success_total{instance="gpu-a:8000", job="vllm", model_name="m", finished_reason="stop"} 0+9x5 0+9x30` + "\n",
			want:    "engine_restart",
			numbers: map[string]float64{"tokenpath:diagnosis_restarted": 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRuleHarness(t, tc.thresholds, "load 15s\n"+tc.row.load()+tc.extra)
			h.EvalUntil(3 * time.Minute)
			requireSeries(t, h, "tokenpath:diagnosis", diagnosisWant(tc.row, tc.want))
			requireSeries(t, h, "sum without (cause) (tokenpath:diagnosis)", map[string]float64{tc.row.row(): 1})
			for name, v := range tc.numbers {
				requireSeries(t, h, name, map[string]float64{tc.row.row(): v})
			}
			for _, name := range tc.absent {
				requireSeries(t, h, name, map[string]float64{})
			}
		})
	}
}

// TestDiagnosisRows keeps servers apart: two replicas of one model, one
// saturated and one healthy, and a third whose series carry a host label
// (the external label of the tokenpath they came from, as a central engine
// holds them), which the diagnosis keeps, matching the GPU of that host.
func TestDiagnosisRows(t *testing.T) {
	busy := with(func(r *rowInputs) {
		r.Instance, r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean = "gpu-b:8000", 40, 12, 6, 5
	})
	hosted := with(func(r *rowInputs) {
		r.Instance, r.Host, r.Waiting, r.TTFTp99, r.TTFTMean, r.QueueMean = "gpu-c:8000", "rack1-gpu-c", 2, 7, 3, 0.2
	})
	// The GPU comes from the same tokenpath as the server, so it carries
	// the same host.
	hostedGPU := strings.ReplaceAll(gpuOn("gpu-c:9400", 90, 30), `{instance=`, `{host="rack1-gpu-c", instance=`)
	h := newRuleHarness(t, Thresholds{}, "load 15s\n"+healthy().load()+busy.load()+hosted.load()+hostedGPU)
	h.EvalUntil(2 * time.Minute)
	requireSeries(t, h, "tokenpath:diagnosis == 1", map[string]float64{
		healthy().row("cause", "none"):        1,
		busy.row("cause", "queue_saturation"): 1,
		hosted.row("cause", "compute_bound"):  1,
	})
}
