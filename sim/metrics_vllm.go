package sim

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// vllmV1 is the exposition of vLLM V1 (vllm/v1/metrics/loggers.py, 2026 upstream): labels
// model_name and engine (the data-parallel index, "0" here) on every engine metric.
type vllmV1 struct {
	running, waiting, kvUsage prometheus.Gauge

	promptTokens, generationTokens, preemptions prometheus.Counter
	promptBySource                              *prometheus.CounterVec
	prefixQueries                               prometheus.Counter
	success                                     *prometheus.CounterVec

	ttft, itl, tpot, e2e, queue, prefill, decode, inference prometheus.Histogram
	promptLen, genLen, maxGen, maxTokens, kvComputed        prometheus.Histogram
	paramsN, iterationTokens                                prometheus.Histogram
}

func newVLLM(model string, prof profile, maxModelLen int, reg *prometheus.Registry) (*vllmV1, error) {
	b := &builder{reg: reg, labels: prometheus.Labels{"model_name": model, "engine": "0"}}
	v := &vllmV1{
		running:          b.gauge("vllm:num_requests_running", "Number of requests in model execution batches."),
		waiting:          b.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed."),
		kvUsage:          b.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage."),
		promptTokens:     b.counter("vllm:prompt_tokens_total", "Number of prefill tokens processed."),
		generationTokens: b.counter("vllm:generation_tokens_total", "Number of generation tokens processed."),
		preemptions:      b.counter("vllm:num_preemptions_total", "Cumulative number of preemption from the engine."),
		promptBySource: b.counterVec("vllm:prompt_tokens_by_source_total",
			"Number of prompt tokens by source.", "source", "local_compute", "local_cache_hit", "external_kv_transfer"),
		prefixQueries: b.counter("vllm:prefix_cache_queries_total",
			"Prefix cache queries, in terms of number of queried tokens."),
		success: b.counterVec("vllm:request_success_total", "Count of successfully processed requests.",
			"finished_reason", "stop", "length", "abort", "error", "repetition"),
		ttft: b.hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", vllmTTFTBuckets),
		itl:  b.hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", vllmITLBuckets),
		tpot: b.hist("vllm:request_time_per_output_token_seconds",
			"Histogram of time_per_output_token_seconds per request.", vllmITLBuckets),
		e2e: b.hist("vllm:e2e_request_latency_seconds",
			"Histogram of e2e request latency in seconds.", vllmRequestLatencyBuckets),
		queue: b.hist("vllm:request_queue_time_seconds",
			"Histogram of time spent in WAITING phase for request.", vllmRequestLatencyBuckets),
		prefill: b.hist("vllm:request_prefill_time_seconds",
			"Histogram of time spent in PREFILL phase for request.", vllmRequestLatencyBuckets),
		decode: b.hist("vllm:request_decode_time_seconds",
			"Histogram of time spent in DECODE phase for request.", vllmRequestLatencyBuckets),
		inference: b.hist("vllm:request_inference_time_seconds",
			"Histogram of time spent in RUNNING phase for request.", vllmRequestLatencyBuckets),
		promptLen: b.hist("vllm:request_prompt_tokens",
			"Number of prefill tokens processed.", vllmTokenBuckets(maxModelLen)),
		genLen: b.hist("vllm:request_generation_tokens",
			"Number of generation tokens processed.", vllmTokenBuckets(maxModelLen)),
		maxGen: b.hist("vllm:request_max_num_generation_tokens",
			"Histogram of maximum number of requested generation tokens.", vllmTokenBuckets(maxModelLen)),
		maxTokens: b.hist("vllm:request_params_max_tokens",
			"Histogram of the max_tokens request parameter.", vllmTokenBuckets(maxModelLen)),
		kvComputed: b.hist("vllm:request_prefill_kv_computed_tokens",
			"Histogram of new KV tokens computed during prefill (excluding cached tokens).", vllmTokenBuckets(maxModelLen)),
		paramsN: b.hist("vllm:request_params_n", "Histogram of the n request parameter.", vllmParamsNBuckets),
		iterationTokens: b.hist("vllm:iteration_tokens_total",
			"Histogram of number of tokens per engine_step.", vllmIterationTokensBuckets),
	}
	// Prefix caching is on by default in V1; the synthetic prompts share no prefixes, so the
	// counters exist and hits stay at zero.
	b.counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.")
	b.counter("vllm:prompt_tokens_cached_total", "Number of cached prompt tokens (local + external).")
	b.counter("vllm:prompt_tokens_recomputed_total", "Number of cached tokens recomputed for forward pass.")
	sleep := b.gaugeVec("vllm:engine_sleep_state", "Engine sleep state; awake = 0 means engine is sleeping.", []string{"sleep_state"})
	sleep.WithLabelValues("awake").Set(1)
	sleep.WithLabelValues("weights_offloaded").Set(0)
	sleep.WithLabelValues("discard_all").Set(0)
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vllm:cache_config_info",
		Help: "Information of the LLMEngine CacheConfig",
		ConstLabels: prometheus.Labels{
			"block_size":             strconv.Itoa(prof.blockSize),
			"cache_dtype":            "auto",
			"enable_prefix_caching":  "True",
			"gpu_memory_utilization": "0.9",
			"num_cpu_blocks":         "None",
			"num_gpu_blocks":         strconv.Itoa(prof.numBlocks),
			"engine":                 "0",
		},
	})
	info.Set(1)
	b.register(info)
	return v, b.err()
}

func (v *vllmV1) arrived(*request)   {}
func (v *vllmV1) scheduled(*request) {}

func (v *vllmV1) firstToken(r *request) {
	v.ttft.Observe(r.firstTok.Sub(r.arrival).Seconds())
	v.promptTokens.Add(float64(r.prompt))
	v.promptBySource.WithLabelValues("local_compute").Add(float64(r.prompt))
	v.prefixQueries.Add(float64(r.prompt))
}

func (v *vllmV1) tokenGap(_ *request, gap time.Duration) { v.itl.Observe(gap.Seconds()) }

func (v *vllmV1) finished(r *request) {
	v.success.WithLabelValues(r.reason).Inc()
	v.e2e.Observe(r.lastTok.Sub(r.arrival).Seconds())
	v.queue.Observe(r.scheduled.Sub(r.eligible).Seconds())
	v.prefill.Observe(r.firstTok.Sub(r.scheduled).Seconds())
	decode := r.lastTok.Sub(r.firstTok).Seconds()
	v.decode.Observe(decode)
	v.inference.Observe(r.lastTok.Sub(r.scheduled).Seconds())
	if r.generated > 1 {
		v.tpot.Observe(decode / float64(r.generated-1))
	}
	v.promptLen.Observe(float64(r.prompt))
	v.genLen.Observe(float64(r.generated))
	v.maxGen.Observe(float64(r.generated))
	v.maxTokens.Observe(float64(r.maxTokens))
	v.kvComputed.Observe(float64(r.prompt))
	v.paramsN.Observe(1)
}

func (v *vllmV1) aborted(*request, time.Time) { v.success.WithLabelValues(reasonAbort).Inc() }
func (v *vllmV1) preempted(*request)          { v.preemptions.Inc() }

func (v *vllmV1) step(s *stepResult) {
	v.generationTokens.Add(float64(s.generated))
	v.iterationTokens.Observe(float64(s.prefillTokens + s.decodeTokens))
}

func (v *vllmV1) state(s schedState) {
	v.running.Set(float64(s.running))
	v.waiting.Set(float64(s.waiting))
	v.kvUsage.Set(s.kvUsage())
}

// vllmV0 is the exposition of the legacy vLLM V0 engine (vllm/engine/metrics.py, v0.4–0.5),
// shaped after the real scrape in testdata: model_name only, old names, short bucket lists.
type vllmV0 struct {
	running, waiting, swapped, gpuCache, cpuCache prometheus.Gauge
	avgPrompt, avgGeneration                      prometheus.Gauge

	preemptions, promptTokens, generationTokens prometheus.Counter
	success                                     *prometheus.CounterVec

	ttft, tpot, e2e                          prometheus.Histogram
	promptLen, genLen, paramsBestOf, paramsN prometheus.Histogram

	// V0 logged throughput every 5 s over the local interval.
	intervalStart               time.Time
	intervalPrompt, intervalGen int
}

func newVLLMV0(model string, prof profile, maxModelLen int, reg *prometheus.Registry) (*vllmV0, error) {
	b := &builder{reg: reg, labels: prometheus.Labels{"model_name": model}}
	v := &vllmV0{
		running:  b.gauge("vllm:num_requests_running", "Number of requests currently running on GPU."),
		waiting:  b.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed."),
		swapped:  b.gauge("vllm:num_requests_swapped", "Number of requests swapped to CPU."),
		gpuCache: b.gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage."),
		cpuCache: b.gauge("vllm:cpu_cache_usage_perc", "CPU KV-cache usage. 1 means 100 percent usage."),
		avgPrompt: b.gauge("vllm:avg_prompt_throughput_toks_per_s",
			"Average prefill throughput in tokens/s."),
		avgGeneration: b.gauge("vllm:avg_generation_throughput_toks_per_s",
			"Average generation throughput in tokens/s."),
		preemptions:      b.counter("vllm:num_preemptions_total", "Cumulative number of preemption from the engine."),
		promptTokens:     b.counter("vllm:prompt_tokens_total", "Number of prefill tokens processed."),
		generationTokens: b.counter("vllm:generation_tokens_total", "Number of generation tokens processed."),
		// V0 created finish-reason children lazily, when a request first finished that way.
		success:      b.counterVec("vllm:request_success_total", "Count of successfully processed requests.", "finished_reason"),
		ttft:         b.hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", vllmV0TTFTBuckets),
		tpot:         b.hist("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", vllmV0TPOTBuckets),
		e2e:          b.hist("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", vllmV0E2EBuckets),
		promptLen:    b.hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", vllmTokenBuckets(maxModelLen)),
		genLen:       b.hist("vllm:request_generation_tokens", "Number of generation tokens processed.", vllmTokenBuckets(maxModelLen)),
		paramsBestOf: b.hist("vllm:request_params_best_of", "Histogram of the best_of request parameter.", vllmParamsNBuckets),
		paramsN:      b.hist("vllm:request_params_n", "Histogram of the n request parameter.", vllmParamsNBuckets),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vllm:cache_config_info",
		Help: "information of cache_config",
		ConstLabels: prometheus.Labels{
			"block_size":              strconv.Itoa(prof.blockSize),
			"cache_dtype":             "auto",
			"cpu_kvcache_space_bytes": "4294967296",
			"enable_prefix_caching":   "False",
			"gpu_memory_utilization":  "0.9",
			"num_cpu_blocks":          "0",
			"num_gpu_blocks":          strconv.Itoa(prof.numBlocks),
			"num_gpu_blocks_override": "None",
			"sliding_window":          "None",
			"swap_space_bytes":        "4294967296",
		},
	})
	info.Set(1)
	b.register(info)
	return v, b.err()
}

func (v *vllmV0) arrived(*request)   {}
func (v *vllmV0) scheduled(*request) {}

func (v *vllmV0) firstToken(r *request) {
	v.ttft.Observe(r.firstTok.Sub(r.arrival).Seconds())
	v.promptTokens.Add(float64(r.prompt))
	v.intervalPrompt += r.prompt
}

func (v *vllmV0) tokenGap(_ *request, gap time.Duration) { v.tpot.Observe(gap.Seconds()) }

func (v *vllmV0) finished(r *request) {
	v.success.WithLabelValues(r.reason).Inc()
	v.e2e.Observe(r.lastTok.Sub(r.arrival).Seconds())
	v.promptLen.Observe(float64(r.prompt))
	v.genLen.Observe(float64(r.generated))
	v.paramsBestOf.Observe(1)
	v.paramsN.Observe(1)
}

func (v *vllmV0) aborted(*request, time.Time) { v.success.WithLabelValues(reasonAbort).Inc() }
func (v *vllmV0) preempted(*request)          { v.preemptions.Inc() }

func (v *vllmV0) step(s *stepResult) {
	v.generationTokens.Add(float64(s.generated))
	v.intervalGen += s.generated
	if v.intervalStart.IsZero() {
		v.intervalStart = s.start
	}
	if el := s.end.Sub(v.intervalStart); el >= 5*time.Second {
		v.avgPrompt.Set(float64(v.intervalPrompt) / el.Seconds())
		v.avgGeneration.Set(float64(v.intervalGen) / el.Seconds())
		v.intervalStart, v.intervalPrompt, v.intervalGen = s.end, 0, 0
	}
}

func (v *vllmV0) state(s schedState) {
	v.running.Set(float64(s.running))
	v.waiting.Set(float64(s.waiting))
	v.swapped.Set(0) // preemption here is by recomputation, never by swapping
	v.gpuCache.Set(s.kvUsage())
	v.cpuCache.Set(0)
}
