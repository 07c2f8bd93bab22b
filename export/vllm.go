package export

import (
	"fmt"
	"strings"

	"github.com/ritwikareddykancharla/token-path-observability/metricnames"
)

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

// vllmName is vLLM's current name of q (package metricnames).
func vllmName(q metricnames.Quantity) string { return metricnames.Current(metricnames.VLLM, q) }

// vllmHistogram is a histogram family read from the first of vLLM's names of
// q that has data (current name first, the names it replaced after).
func vllmHistogram(name, help, source string, q metricnames.Quantity) family {
	var b, s, c []string
	for _, base := range metricnames.Names(metricnames.VLLM, q) {
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
// series tokenpath stores, under the names of package metricnames. vLLM V1
// and the older V0 engine expose the same names except where noted; both are
// read.
func vllmFamilies() []family {
	itl := metricnames.Names(metricnames.VLLM, metricnames.ITL)
	kv := metricnames.Names(metricnames.VLLM, metricnames.KVCacheUsage)
	kvMax := make([]string, len(kv))
	for i, n := range kv {
		kvMax[i] = "max by (instance, model_name) (" + n + ")"
	}
	running, waiting := vllmName(metricnames.Running), vllmName(metricnames.Waiting)
	accepted, drafted := vllmName(metricnames.SpecDecodeAccepted), vllmName(metricnames.SpecDecodeDrafted)
	return []family{
		vllmHistogram("vllm_ttft_seconds", "Time to first token in seconds (vLLM's own buckets).",
			fmt.Sprintf("%#q (V1 and V0)", vllmName(metricnames.TTFT)), metricnames.TTFT),
		vllmHistogram("vllm_itl_seconds", "Inter-token latency in seconds: time between two output steps of a request (vLLM's own buckets).",
			fmt.Sprintf("%#q (V1), else %#q (V0 and V1 before 0.11)", itl[0], itl[1]), metricnames.ITL),
		vllmHistogram("vllm_time_per_token_seconds", "Mean time per output token of each finished request, in seconds.",
			fmt.Sprintf("%#q (V1 0.11 and later)", vllmName(metricnames.RequestTimePerToken)), metricnames.RequestTimePerToken),
		vllmHistogram("vllm_e2e_request_latency_seconds", "Request latency from arrival to the last token, in seconds.",
			"`"+vllmName(metricnames.E2E)+"`", metricnames.E2E),
		vllmHistogram("vllm_queue_time_seconds", "Time requests waited in the scheduler queue, in seconds.",
			"`"+vllmName(metricnames.Queue)+"`", metricnames.Queue),
		{
			Name: "vllm_tokens_generated_total", Help: "Total number of tokens generated.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`" + vllmName(metricnames.GenerationTokens) + "`",
			Expr: vllmSum(vllmName(metricnames.GenerationTokens)),
		},
		{
			Name: "vllm_prompt_tokens_total", Help: "Total number of prompt (prefill) tokens processed, prefix-cache hits included.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`" + vllmName(metricnames.PromptTokens) + "`",
			Expr: vllmSum(vllmName(metricnames.PromptTokens)),
		},
		{
			Name: "vllm_requests_total", Help: "Total number of finished requests, by finish reason (stop, length, abort, error, ...).", Kind: kindCounter,
			Labels: vllmLabels(label{Name: "status", Source: "finished_reason"}), Source: "`" + vllmName(metricnames.RequestsFinished) + "` by `finished_reason`",
			Expr: vllmSum(vllmName(metricnames.RequestsFinished), "finished_reason"),
		},
		{
			Name: "vllm_requests_running", Help: "Requests in the running batch.", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`" + running + "`",
			Expr: vllmSum(running),
		},
		{
			Name: "vllm_requests_waiting", Help: "Requests waiting in the scheduler queue.", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`" + waiting + "`",
			Expr: vllmSum(waiting),
		},
		{
			Name: "vllm_batch_size", Help: "Current batch size: requests in the running batch (same value as vllm_requests_running).", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`" + running + "`",
			Expr: vllmSum(running),
		},
		{
			Name: "vllm_queue_length", Help: "Requests waiting in the queue (same value as vllm_requests_waiting).", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`" + waiting + "`",
			Expr: vllmSum(waiting),
		},
		{
			Name: "vllm_requests_in_progress", Help: "Requests accepted and not finished: running plus waiting.", Kind: kindGauge,
			Labels: vllmLabels(), Source: "`" + running + "` + `" + waiting + "`",
			Expr: vllmSum(running) + " + " + vllmSum(waiting),
		},
		{
			// KV-cache use is per engine; the busiest engine is the one that
			// preempts first, so engines are combined with max, not sum.
			Name: "vllm_kv_cache_usage_ratio", Help: "KV-cache usage ratio (0-1), the fullest engine's.", Kind: kindGauge,
			Labels: vllmLabels(), Source: fmt.Sprintf("%#q, else %#q (V0 and V1 before 0.9); max over engines", kv[0], kv[1]),
			Expr: firstOf(kvMax...),
		},
		{
			Name: "vllm_num_preempted_total", Help: "Total number of preemptions.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`" + vllmName(metricnames.Preemptions) + "`",
			Expr: vllmSum(vllmName(metricnames.Preemptions)),
		},
		{
			Name: "vllm_speculative_accepted_total", Help: "Draft tokens accepted by speculative decoding.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`" + accepted + "` (only with speculative decoding)",
			Expr: vllmSum(accepted),
		},
		{
			Name: "vllm_speculative_rejected_total", Help: "Draft tokens rejected by speculative decoding.", Kind: kindCounter,
			Labels: vllmLabels(), Source: "`" + drafted + "` − `" + accepted + "`",
			Expr: vllmSum(drafted) + " - " + vllmSum(accepted),
		},
	}
}
