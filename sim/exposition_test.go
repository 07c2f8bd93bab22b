package sim

import (
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// famSpec is what the reference (/work/shared/reference/inference-metrics.md) says about one
// metric family.
type famSpec struct {
	typ     dto.MetricType
	labels  []string  // every label name except le, sorted
	buckets []float64 // histogram upper bounds without +Inf
	lazy    bool      // children are created on first use, so the family may be absent
	values  map[string][]string
}

const (
	counter   = dto.MetricType_COUNTER
	gauge     = dto.MetricType_GAUGE
	histogram = dto.MetricType_HISTOGRAM
)

// Bucket lists copied from the reference, not from the package.
var (
	refVLLMTTFT = []float64{
		0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
		7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
	}
	refVLLMITL = []float64{
		0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
		7.5, 10.0, 20.0, 40.0, 80.0,
	}
	refVLLMLatency = []float64{
		0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
		60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
	}
	refVLLMTokens8192 = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}
	refVLLMN          = []float64{1, 2, 5, 10, 20}
	refVLLMIteration  = []float64{1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}

	refV0TTFT       = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}
	refV0TPOT       = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}
	refV0E2E        = []float64{1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0}
	refV0Tokens2048 = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000}

	// TGI's duration buckets as the reference prints them, rounded to 6 significant digits.
	refTGIDuration = []float64{
		0.00015, 0.000225, 0.0003375, 0.00050625, 0.000759375, 0.00113906, 0.00170859,
		0.00256289, 0.00384434, 0.0057665, 0.00864976, 0.0129746, 0.019462, 0.0291929, 0.0437894, 0.0656841,
		0.0985261, 0.147789, 0.221684, 0.332526, 0.498789, 0.748183, 1.12227, 1.68341, 2.52512, 3.78768,
		5.68151, 8.52227, 12.7834, 19.1751, 28.7627, 43.144, 64.716, 97.074, 145.611,
	}

	refSGLangTTFT = []float64{0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400}
	refSGLangITL  = []float64{
		0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040,
		0.060, 0.080, 0.100, 0.200, 0.400, 0.600, 0.800, 1.000, 2.000, 4.000, 6.000, 8.000,
	}
	refSGLangE2E = []float64{
		0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600,
		1200, 1800, 2400,
	}
	refSGLangQueue = []float64{
		0.0, 0.1, 0.2, 0.5, 1, 2, 3, 4, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100,
		200, 300, 400, 500, 600, 700, 800, 900, 1000, 1200, 1400, 1600, 1800, 2000, 2500, 3000,
	}
)

func linear(maxTokens float64) []float64 {
	out := make([]float64, 100)
	for i := range out {
		out[i] = maxTokens / 100 * float64(i+1)
	}
	return out
}

func oneTo(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func vllmSpecs() map[string]famSpec {
	std := []string{"engine", "model_name"}
	with := func(l string) []string { return slices.Sorted(slices.Values([]string{"engine", l, "model_name"})) }
	h := func(b []float64) famSpec { return famSpec{typ: histogram, labels: std, buckets: b} }
	return map[string]famSpec{
		"vllm:num_requests_running": {typ: gauge, labels: std},
		"vllm:num_requests_waiting": {typ: gauge, labels: std},
		"vllm:kv_cache_usage_perc":  {typ: gauge, labels: std},
		"vllm:engine_sleep_state":   {typ: gauge, labels: with("sleep_state"), values: map[string][]string{"sleep_state": {"awake", "discard_all", "weights_offloaded"}}},
		"vllm:cache_config_info":    {typ: gauge, labels: []string{"block_size", "cache_dtype", "enable_prefix_caching", "engine", "gpu_memory_utilization", "num_cpu_blocks", "num_gpu_blocks"}},
		"vllm:prompt_tokens_total":  {typ: counter, labels: std},
		"vllm:prompt_tokens_by_source_total": {
			typ: counter, labels: with("source"),
			values: map[string][]string{"source": {"external_kv_transfer", "local_cache_hit", "local_compute"}},
		},
		"vllm:prompt_tokens_cached_total":     {typ: counter, labels: std},
		"vllm:prompt_tokens_recomputed_total": {typ: counter, labels: std},
		"vllm:generation_tokens_total":        {typ: counter, labels: std},
		"vllm:num_preemptions_total":          {typ: counter, labels: std},
		"vllm:prefix_cache_queries_total":     {typ: counter, labels: std},
		"vllm:prefix_cache_hits_total":        {typ: counter, labels: std},
		"vllm:request_success_total": {
			typ: counter, labels: []string{"engine", "finished_reason", "model_name"},
			values: map[string][]string{"finished_reason": {"abort", "error", "length", "repetition", "stop"}},
		},
		"vllm:time_to_first_token_seconds":           h(refVLLMTTFT),
		"vllm:inter_token_latency_seconds":           h(refVLLMITL),
		"vllm:request_time_per_output_token_seconds": h(refVLLMITL),
		"vllm:e2e_request_latency_seconds":           h(refVLLMLatency),
		"vllm:request_queue_time_seconds":            h(refVLLMLatency),
		"vllm:request_prefill_time_seconds":          h(refVLLMLatency),
		"vllm:request_decode_time_seconds":           h(refVLLMLatency),
		"vllm:request_inference_time_seconds":        h(refVLLMLatency),
		"vllm:request_prompt_tokens":                 h(refVLLMTokens8192),
		"vllm:request_generation_tokens":             h(refVLLMTokens8192),
		"vllm:request_max_num_generation_tokens":     h(refVLLMTokens8192),
		"vllm:request_params_max_tokens":             h(refVLLMTokens8192),
		"vllm:request_prefill_kv_computed_tokens":    h(refVLLMTokens8192),
		"vllm:request_params_n":                      h(refVLLMN),
		"vllm:iteration_tokens_total":                h(refVLLMIteration),
	}
}

func vllmV0Specs() map[string]famSpec {
	std := []string{"model_name"}
	h := func(b []float64) famSpec { return famSpec{typ: histogram, labels: std, buckets: b} }
	return map[string]famSpec{
		"vllm:cache_config_info": {typ: gauge, labels: []string{
			"block_size", "cache_dtype", "cpu_kvcache_space_bytes",
			"enable_prefix_caching", "gpu_memory_utilization", "num_cpu_blocks", "num_gpu_blocks",
			"num_gpu_blocks_override", "sliding_window", "swap_space_bytes",
		}},
		"vllm:num_requests_running":                 {typ: gauge, labels: std},
		"vllm:num_requests_waiting":                 {typ: gauge, labels: std},
		"vllm:num_requests_swapped":                 {typ: gauge, labels: std},
		"vllm:gpu_cache_usage_perc":                 {typ: gauge, labels: std},
		"vllm:cpu_cache_usage_perc":                 {typ: gauge, labels: std},
		"vllm:num_preemptions_total":                {typ: counter, labels: std},
		"vllm:prompt_tokens_total":                  {typ: counter, labels: std},
		"vllm:generation_tokens_total":              {typ: counter, labels: std},
		"vllm:time_to_first_token_seconds":          h(refV0TTFT),
		"vllm:time_per_output_token_seconds":        h(refV0TPOT),
		"vllm:e2e_request_latency_seconds":          h(refV0E2E),
		"vllm:request_prompt_tokens":                h(refV0Tokens2048),
		"vllm:request_generation_tokens":            h(refV0Tokens2048),
		"vllm:request_params_best_of":               h(refVLLMN),
		"vllm:request_params_n":                     h(refVLLMN),
		"vllm:request_success_total":                {typ: counter, labels: []string{"finished_reason", "model_name"}, lazy: true},
		"vllm:avg_prompt_throughput_toks_per_s":     {typ: gauge, labels: std},
		"vllm:avg_generation_throughput_toks_per_s": {typ: gauge, labels: std},
	}
}

func tgiSpecs() map[string]famSpec {
	h := func(b []float64) famSpec { return famSpec{typ: histogram, buckets: b} }
	m := func(typ dto.MetricType, b []float64) famSpec {
		return famSpec{
			typ: typ, labels: []string{"method"}, buckets: b,
			values: map[string][]string{"method": {"decode", "prefill"}},
		}
	}
	return map[string]famSpec{
		"tgi_request_count":                        {typ: counter},
		"tgi_request_success":                      {typ: counter},
		"tgi_request_failure":                      {typ: counter, labels: []string{"err"}, lazy: true},
		"tgi_request_duration":                     h(refTGIDuration),
		"tgi_request_validation_duration":          h(refTGIDuration),
		"tgi_request_queue_duration":               h(refTGIDuration),
		"tgi_request_inference_duration":           h(refTGIDuration),
		"tgi_request_mean_time_per_token_duration": h(refTGIDuration),
		"tgi_request_generated_tokens":             h(linear(4096)),
		"tgi_request_input_length":                 h(linear(4095)),
		"tgi_request_max_new_tokens":               h(linear(4096)),
		"tgi_queue_size":                           {typ: gauge},
		"tgi_batch_current_size":                   {typ: gauge},
		"tgi_batch_current_max_tokens":             {typ: gauge},
		"tgi_batch_max_total_tokens":               {typ: gauge},
		"tgi_batch_next_size":                      h(oneTo(1024)),
		"tgi_batch_concat":                         {typ: counter, labels: []string{"reason"}, lazy: true},
		"tgi_batch_inference_count":                m(counter, nil),
		"tgi_batch_inference_success":              m(counter, nil),
		"tgi_batch_inference_duration":             m(histogram, refTGIDuration),
		"tgi_batch_forward_duration":               m(histogram, refTGIDuration),
		"tgi_batch_decode_duration":                m(histogram, refTGIDuration),
		"tgi_batch_filter_duration":                m(histogram, refTGIDuration),
		"tgi_batch_concat_duration": {
			typ: histogram, labels: []string{"method"}, buckets: refTGIDuration, lazy: true,
			values: map[string][]string{"method": {"decode"}},
		},
	}
}

func sglangSpecs() map[string]famSpec {
	std := []string{"engine_type", "model_name", "pp_rank", "tp_rank"}
	h := func(b []float64) famSpec { return famSpec{typ: histogram, labels: std, buckets: b} }
	g := famSpec{typ: gauge, labels: std}
	c := famSpec{typ: counter, labels: std}
	return map[string]famSpec{
		"sglang:num_running_reqs":            g,
		"sglang:num_used_tokens":             g,
		"sglang:token_usage":                 g,
		"sglang:gen_throughput":              g,
		"sglang:num_queue_reqs":              g,
		"sglang:num_grammar_queue_reqs":      g,
		"sglang:cache_hit_rate":              g,
		"sglang:num_retracted_reqs":          g,
		"sglang:prompt_tokens_total":         c,
		"sglang:generation_tokens_total":     c,
		"sglang:cached_tokens_total":         c,
		"sglang:num_requests_total":          c,
		"sglang:num_aborted_requests_total":  c,
		"sglang:time_to_first_token_seconds": h(refSGLangTTFT),
		"sglang:inter_token_latency_seconds": h(refSGLangITL),
		"sglang:e2e_request_latency_seconds": h(refSGLangE2E),
		"sglang:queue_time_seconds":          h(refSGLangQueue),
	}
}

func llamacppSpecs() map[string]famSpec {
	c := famSpec{typ: counter}
	g := famSpec{typ: gauge}
	return map[string]famSpec{
		"llamacpp:prompt_tokens_total":            c,
		"llamacpp:prompt_seconds_total":           c,
		"llamacpp:tokens_predicted_total":         c,
		"llamacpp:tokens_predicted_seconds_total": c,
		"llamacpp:n_decode_total":                 c,
		"llamacpp:n_tokens_max":                   c,
		"llamacpp:n_busy_slots_per_decode":        c,
		"llamacpp:prompt_tokens_seconds":          g,
		"llamacpp:predicted_tokens_seconds":       g,
		"llamacpp:requests_processing":            g,
		"llamacpp:requests_deferred":              g,
	}
}

func labelNames(m *dto.Metric) []string {
	var out []string
	for _, l := range m.GetLabel() {
		out = append(out, l.GetName())
	}
	sort.Strings(out)
	return out
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// upperBounds returns a histogram's finite bucket bounds.
func upperBounds(h *dto.Histogram) []float64 {
	var out []float64
	for _, b := range h.GetBucket() {
		if !math.IsInf(b.GetUpperBound(), 1) {
			out = append(out, b.GetUpperBound())
		}
	}
	return out
}

// checkFamilies compares parsed families with the spec table: no unknown family, every eager
// family present, and per family the type, the label names of every series, the values of the
// enumerated labels and the buckets.
func checkFamilies(t *testing.T, fams map[string]*dto.MetricFamily, specs map[string]famSpec, bucketTol float64) {
	t.Helper()
	for name := range fams {
		_, ok := specs[name]
		require.True(t, ok, "unexpected family %s", name)
	}
	for name, spec := range specs {
		f, ok := fams[name]
		if !ok {
			require.True(t, spec.lazy, "family %s missing", name)
			continue
		}
		require.Equal(t, spec.typ, f.GetType(), "type of %s", name)
		require.NotEmpty(t, f.GetMetric(), name)
		seen := map[string][]string{}
		for _, m := range f.GetMetric() {
			require.Equal(t, spec.labels, labelNames(m), "labels of %s", name)
			for l := range spec.values {
				seen[l] = append(seen[l], labelValue(m, l))
			}
			if spec.typ != histogram {
				continue
			}
			got := upperBounds(m.GetHistogram())
			require.Len(t, got, len(spec.buckets), "buckets of %s", name)
			for i := range got {
				require.True(t, got[i] == spec.buckets[i] || near(got[i], spec.buckets[i], bucketTol),
					"%s bucket %d: got %v want %v", name, i, got[i], spec.buckets[i])
			}
			var prev uint64
			for _, b := range m.GetHistogram().GetBucket() {
				require.GreaterOrEqual(t, b.GetCumulativeCount(), prev, "%s buckets must be cumulative", name)
				prev = b.GetCumulativeCount()
			}
			require.LessOrEqual(t, prev, m.GetHistogram().GetSampleCount(), name)
		}
		for l, want := range spec.values {
			got := seen[l]
			sort.Strings(got)
			if spec.lazy {
				for _, v := range got {
					require.Contains(t, want, v, "%s{%s}", name, l)
				}
				continue
			}
			require.Equal(t, want, got, "values of %s{%s}", name, l)
		}
	}
}

func TestExposition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		engine    Engine
		specs     map[string]famSpec
		bucketTol float64
		model     string // the model_name label, when the engine has one
		counter   string // a counter that must have grown after a few requests
	}{
		{EngineVLLM, vllmSpecs(), 0, "meta-llama/Llama-3.1-8B-Instruct", "vllm:generation_tokens_total"},
		{EngineVLLMV0, vllmV0Specs(), 0, "facebook/opt-125m", "vllm:generation_tokens_total"},
		// The reference prints TGI's bounds to 6 significant digits.
		{EngineTGI, tgiSpecs(), 5e-6, "", "tgi_request_success"},
		{EngineSGLang, sglangSpecs(), 0, "meta-llama/Llama-3.1-8B-Instruct", "sglang:generation_tokens_total"},
		{EngineLlamaCPP, llamacppSpecs(), 0, "", "llamacpp:tokens_predicted_total"},
	}
	for _, tc := range tests {
		t.Run(string(tc.engine), func(t *testing.T) {
			t.Parallel()
			h := start(t, Options{Engine: tc.engine, Seed: 1}, func(s *Simulator) { s.SetLoad(0) })
			// Three short requests, so that counters and per-request histograms have values.
			for range 3 {
				code, out := h.postJSON(t, "/v1/completions", map[string]any{"prompt": strings.Repeat("abcd", 40), "max_tokens": 4, "ignore_eos": true})
				require.Equal(t, 200, code, out)
			}
			fams := h.scrape(t)
			checkFamilies(t, fams, tc.specs, tc.bucketTol)
			if tc.model != "" {
				for _, f := range fams {
					for _, m := range f.GetMetric() {
						if slices.Contains(labelNames(m), "model_name") {
							require.Equal(t, tc.model, labelValue(m, "model_name"), f.GetName())
						}
					}
				}
			}
			c := fams[tc.counter].GetMetric()[0].GetCounter().GetValue()
			require.GreaterOrEqual(t, c, 3.0, tc.counter)
		})
	}
}

// TestExpositionAfterLoad checks the vLLM counters against the per-request histograms after
// real synthetic traffic: every finished request is counted once by finish reason, and the
// token counters agree with the token histograms.
func TestExpositionAfterLoad(t *testing.T) {
	t.Parallel()
	h := start(t, Options{Engine: EngineVLLM, Seed: 5, Load: 3}, nil)
	require.Eventually(t, func() bool {
		_, n := histSumCount(t, h.scrape(t), "vllm:e2e_request_latency_seconds")
		return n >= 10
	}, 20*time.Second, 100*time.Millisecond)
	h.sim.SetLoad(0)
	require.Eventually(t, func() bool { a := h.sim.Activity(); return a.Running == 0 && a.Waiting == 0 }, 20*time.Second, 50*time.Millisecond)
	fams := h.scrape(t)
	checkFamilies(t, fams, vllmSpecs(), 0)
	var success float64
	for _, m := range fams["vllm:request_success_total"].GetMetric() {
		success += m.GetCounter().GetValue()
	}
	_, e2eCount := histSumCount(t, fams, "vllm:e2e_request_latency_seconds")
	_, ttftCount := histSumCount(t, fams, "vllm:time_to_first_token_seconds")
	require.InDelta(t, float64(e2eCount), success, 0)
	require.Equal(t, e2eCount, ttftCount, "idle engine: every request that got a first token finished")
	genSum, _ := histSumCount(t, fams, "vllm:request_generation_tokens")
	promptSum, _ := histSumCount(t, fams, "vllm:request_prompt_tokens")
	require.InDelta(t, genSum, fams["vllm:generation_tokens_total"].GetMetric()[0].GetCounter().GetValue(), 0)
	require.InDelta(t, promptSum, fams["vllm:prompt_tokens_total"].GetMetric()[0].GetCounter().GetValue(), 0)
	require.Zero(t, gaugeValue(t, fams, "vllm:kv_cache_usage_perc"), "an idle engine holds no KV blocks")
}

// TestVLLMV0MatchesRealScrape compares the vllm-v0 exposition with a real V0 scrape: the same
// vllm: names, types, label names and bucket bounds.
func TestVLLMV0MatchesRealScrape(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/vllm-v0-scrape.txt")
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	realFams := parseText(t, f)

	h := start(t, Options{Engine: EngineVLLMV0, Seed: 1}, func(s *Simulator) { s.SetLoad(0) })
	code, out := h.postJSON(t, "/v1/completions", map[string]any{"prompt": "hello there", "max_tokens": 7, "ignore_eos": true})
	require.Equal(t, 200, code, out)
	sim := h.scrape(t)

	var realNames, simNames []string
	for n := range realFams {
		if strings.HasPrefix(n, "vllm:") {
			realNames = append(realNames, n)
		}
	}
	for n := range sim {
		simNames = append(simNames, n)
	}
	sort.Strings(realNames)
	sort.Strings(simNames)
	require.Equal(t, realNames, simNames)
	for _, n := range realNames {
		r, s := realFams[n], sim[n]
		require.Equal(t, r.GetType(), s.GetType(), n)
		require.Equal(t, labelNames(r.GetMetric()[0]), labelNames(s.GetMetric()[0]), n)
		if r.GetType() == histogram {
			require.Equal(t, upperBounds(r.GetMetric()[0].GetHistogram()), upperBounds(s.GetMetric()[0].GetHistogram()), n)
		}
	}
	// Same request as the scrape's single one (7 generated tokens, finished by length).
	require.Equal(t, "length", labelValue(sim["vllm:request_success_total"].GetMetric()[0], "finished_reason"))
	require.InDelta(t, 7.0, sim["vllm:generation_tokens_total"].GetMetric()[0].GetCounter().GetValue(), 0)
}
