package export

import "strings"

// sumBy writes `sum by (labels) (metric)`.
func sumBy(metric string, labels ...string) string {
	return "sum by (" + strings.Join(labels, ", ") + ") (" + metric + ")"
}

// firstOf joins alternatives with `or`: for each label set the first
// expression that has a value wins. It is how a current metric name is
// preferred over the name it replaced, when a server exposes both during a
// deprecation window.
func firstOf(exprs ...string) string { return strings.Join(exprs, " or ") }

// vllmLabels are the labels of every vLLM family: the served model name and
// the scraped server (tokenpath's instance label), called endpoint as in the
// seed; engine (data-parallel rank) is summed away.
func vllmLabels(extra ...label) []label {
	return append([]label{{Name: "model", Source: "model_name"}, {Name: "endpoint", Source: "instance"}}, extra...)
}

// vllmSum sums a vLLM series over engines, keeping the labels of vllmLabels
// and extra.
func vllmSum(metric string, extra ...string) string {
	return sumBy(metric, append([]string{"instance", "model_name"}, extra...)...)
}

// vllmHistogram is a histogram family read from the first of the given vLLM
// base names that has data (current name first, older names after).
func vllmHistogram(name, help, source string, bases ...string) family {
	var b, s, c []string
	for _, base := range bases {
		b = append(b, vllmSum(base+"_bucket", "le"))
		s = append(s, vllmSum(base+"_sum"))
		c = append(c, vllmSum(base+"_count"))
	}
	return family{
		Name: name, Help: help, Kind: kindHistogram, Labels: vllmLabels(), Source: source,
		Buckets: firstOf(b...), Sum: firstOf(s...), Count: firstOf(c...),
	}
}

// vllmFamilies are the seed's vLLM exporter names, rebuilt from the vLLM
// series tokenpath stores. vLLM V1 and the older V0 engine expose the same
// names except where noted; both are read.
func vllmFamilies() []family {
	return []family{
		vllmHistogram("vllm_ttft_seconds", "Time to first token in seconds (vLLM's own buckets).",
			"`vllm:time_to_first_token_seconds` (V1 and V0)", "vllm:time_to_first_token_seconds"),
		vllmHistogram("vllm_itl_seconds", "Inter-token latency in seconds: time between two output steps of a request (vLLM's own buckets).",
			"`vllm:inter_token_latency_seconds` (V1), else `vllm:time_per_output_token_seconds` (V0 and V1 before 0.11)",
			"vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"),
		vllmHistogram("vllm_time_per_token_seconds", "Mean time per output token of each finished request, in seconds.",
			"`vllm:request_time_per_output_token_seconds` (V1 0.11 and later)", "vllm:request_time_per_output_token_seconds"),
		vllmHistogram("vllm_e2e_request_latency_seconds", "Request latency from arrival to the last token, in seconds.",
			"`vllm:e2e_request_latency_seconds`", "vllm:e2e_request_latency_seconds"),
		vllmHistogram("vllm_queue_time_seconds", "Time requests waited in the scheduler queue, in seconds.",
			"`vllm:request_queue_time_seconds`", "vllm:request_queue_time_seconds"),
		{
			Name: "vllm_tokens_generated_total", Help: "Total number of tokens generated.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`vllm:generation_tokens_total`",
			Expr: vllmSum("vllm:generation_tokens_total"),
		},
		{
			Name: "vllm_prompt_tokens_total", Help: "Total number of prompt (prefill) tokens processed, prefix-cache hits included.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`vllm:prompt_tokens_total`",
			Expr: vllmSum("vllm:prompt_tokens_total"),
		},
		{
			Name: "vllm_requests_total", Help: "Total number of finished requests, by finish reason (stop, length, abort, error, ...).", Kind: kindCounter,
			Labels: vllmLabels(label{Name: "status", Source: "finished_reason"}), Source: "`vllm:request_success_total` by `finished_reason`",
			Expr: vllmSum("vllm:request_success_total", "finished_reason"),
		},
		{
			Name: "vllm_requests_running", Help: "Requests in the running batch.", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`vllm:num_requests_running`",
			Expr: vllmSum("vllm:num_requests_running"),
		},
		{
			Name: "vllm_requests_waiting", Help: "Requests waiting in the scheduler queue.", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`vllm:num_requests_waiting`",
			Expr: vllmSum("vllm:num_requests_waiting"),
		},
		{
			Name: "vllm_batch_size", Help: "Current batch size: requests in the running batch (same value as vllm_requests_running).", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`vllm:num_requests_running`",
			Expr: vllmSum("vllm:num_requests_running"),
		},
		{
			Name: "vllm_queue_length", Help: "Requests waiting in the queue (same value as vllm_requests_waiting).", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`vllm:num_requests_waiting`",
			Expr: vllmSum("vllm:num_requests_waiting"),
		},
		{
			Name: "vllm_requests_in_progress", Help: "Requests accepted and not finished: running plus waiting.", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`vllm:num_requests_running` + `vllm:num_requests_waiting`",
			Expr: vllmSum("vllm:num_requests_running") + " + " + vllmSum("vllm:num_requests_waiting"),
		},
		{
			// KV-cache use is per engine; the busiest engine is the one that
			// preempts first, so engines are combined with max, not sum.
			Name: "vllm_kv_cache_usage_ratio", Help: "KV-cache usage ratio (0-1), the fullest engine's.", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`vllm:kv_cache_usage_perc`, else `vllm:gpu_cache_usage_perc` (V0 and V1 before 0.9); max over engines",
			Expr: firstOf("max by (instance, model_name) (vllm:kv_cache_usage_perc)", "max by (instance, model_name) (vllm:gpu_cache_usage_perc)"),
		},
		{
			Name: "vllm_num_preempted_total", Help: "Total number of preemptions.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`vllm:num_preemptions_total`",
			Expr: vllmSum("vllm:num_preemptions_total"),
		},
		{
			Name: "vllm_speculative_accepted_total", Help: "Draft tokens accepted by speculative decoding.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`vllm:spec_decode_num_accepted_tokens_total` (only with speculative decoding)",
			Expr: vllmSum("vllm:spec_decode_num_accepted_tokens_total"),
		},
		{
			Name: "vllm_speculative_rejected_total", Help: "Draft tokens rejected by speculative decoding.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`vllm:spec_decode_num_draft_tokens_total` − `vllm:spec_decode_num_accepted_tokens_total`",
			Expr: vllmSum("vllm:spec_decode_num_draft_tokens_total") + " - " + vllmSum("vllm:spec_decode_num_accepted_tokens_total"),
		},
	}
}
