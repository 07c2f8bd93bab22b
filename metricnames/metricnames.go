// Package metricnames is the one table of the inference servers' own metric
// names: for each server kind (vLLM, TGI, SGLang, llama.cpp) and each
// quantity of the token path (TTFT, inter-token latency, queue time, token
// counters, running and waiting requests, KV-cache use, ...), the names the
// server has exposed it under, the current name first and the names it
// replaced after it.
//
// Two readers build on it: the rule templates (rules/defaults/*.yml.tmpl,
// through the `metric` and `metrics` template helpers of rules/defaults.go)
// map the names onto the unified tokenpath:* series, and export/ (vllm.go,
// tgi.go) rebuilds the seed's exporter names from the same server series.
//
// When a server renames a metric, edit the table below, and only it: put the
// new name first in its list and keep the old one after it. Every reader that
// takes all names (`metrics`, Names) then prefers the new name where both are
// exposed and falls back to the old one where only it is, with no other
// change; `rules export` and export/README.md show the result.
package metricnames

import (
	"fmt"
	"slices"
)

// Server is a kind of inference server, as the token-path rules' `server`
// label spells it.
type Server string

// The server kinds whose metrics tokenpath maps.
const (
	VLLM     Server = "vllm"
	TGI      Server = "tgi"
	SGLang   Server = "sglang"
	LlamaCpp Server = "llamacpp"
)

// Quantity is one thing a server measures. Histogram quantities name the
// histogram's base name (without _bucket, _sum or _count); the others name
// a counter or a gauge.
type Quantity string

// The quantities of the table. Not every server reports every quantity.
const (
	// TTFT is the time-to-first-token histogram.
	TTFT Quantity = "ttft"
	// ITL is the inter-token latency histogram: time between two output
	// steps of a request.
	ITL Quantity = "itl"
	// RequestTimePerToken is the histogram of each finished request's mean
	// time per output token (TGI's includes prefill).
	RequestTimePerToken Quantity = "request_time_per_token"
	// E2E is the request-latency histogram, arrival to last token.
	E2E Quantity = "e2e"
	// Queue is the histogram of time spent waiting in the scheduler queue.
	Queue Quantity = "queue"
	// Prefill is the histogram of a request's prefill time. TGI's is its
	// batch-inference histogram, of which the method="prefill" series is a
	// prefill batch.
	Prefill Quantity = "prefill"
	// Decode is the histogram of a request's decode time.
	Decode Quantity = "decode"

	// GenerationTokens counts generated (output) tokens.
	GenerationTokens Quantity = "generation_tokens"
	// GenerationSeconds counts the seconds spent generating tokens.
	GenerationSeconds Quantity = "generation_seconds"
	// PromptTokens counts prompt (prefill) tokens.
	PromptTokens Quantity = "prompt_tokens"
	// RequestsFinished counts finished requests (vLLM: by finished_reason).
	RequestsFinished Quantity = "requests_finished"
	// RequestsReceived counts requests received.
	RequestsReceived Quantity = "requests_received"
	// RequestsSucceeded counts successful requests.
	RequestsSucceeded Quantity = "requests_succeeded"
	// RequestFailures counts failed requests (TGI: by err).
	RequestFailures Quantity = "request_failures"
	// Preemptions counts preempted requests.
	Preemptions Quantity = "preemptions"
	// SpecDecodeAccepted counts draft tokens accepted by speculative decoding.
	SpecDecodeAccepted Quantity = "spec_decode_accepted"
	// SpecDecodeDrafted counts draft tokens proposed by speculative decoding.
	SpecDecodeDrafted Quantity = "spec_decode_drafted"

	// Running is the gauge of requests in the running batch.
	Running Quantity = "running"
	// Waiting is the gauge of requests waiting in the queue.
	Waiting Quantity = "waiting"
	// KVCacheUsage is the gauge of KV-cache use, a 0–1 ratio.
	KVCacheUsage Quantity = "kv_cache_usage"
)

// table is the only place the servers' names are written. Each list is the
// current name first, then the names it replaced, newest first.
var table = map[Server]map[Quantity][]string{
	VLLM: {
		TTFT: {"vllm:time_to_first_token_seconds"},
		// Renamed in V1 0.11; V0 and earlier V1 had only the old name.
		ITL:                 {"vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"},
		RequestTimePerToken: {"vllm:request_time_per_output_token_seconds"},
		E2E:                 {"vllm:e2e_request_latency_seconds"},
		Queue:               {"vllm:request_queue_time_seconds"},
		Prefill:             {"vllm:request_prefill_time_seconds"},
		Decode:              {"vllm:request_decode_time_seconds"},
		GenerationTokens:    {"vllm:generation_tokens_total"},
		PromptTokens:        {"vllm:prompt_tokens_total"},
		RequestsFinished:    {"vllm:request_success_total"},
		Preemptions:         {"vllm:num_preemptions_total"},
		SpecDecodeAccepted:  {"vllm:spec_decode_num_accepted_tokens_total"},
		SpecDecodeDrafted:   {"vllm:spec_decode_num_draft_tokens_total"},
		Running:             {"vllm:num_requests_running"},
		Waiting:             {"vllm:num_requests_waiting"},
		// Renamed in V1 0.9; V0 and earlier V1 had only the old name.
		KVCacheUsage: {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"},
	},
	TGI: {
		RequestTimePerToken: {"tgi_request_mean_time_per_token_duration"},
		E2E:                 {"tgi_request_duration"},
		Queue:               {"tgi_request_queue_duration"},
		Prefill:             {"tgi_batch_inference_duration"},
		// TGI has no token counters: the sums of its per-request histograms.
		GenerationTokens:  {"tgi_request_generated_tokens_sum"},
		PromptTokens:      {"tgi_request_input_length_sum"},
		RequestsReceived:  {"tgi_request_count"},
		RequestsSucceeded: {"tgi_request_success"},
		RequestFailures:   {"tgi_request_failure"},
		Running:           {"tgi_batch_current_size"},
		Waiting:           {"tgi_queue_size"},
	},
	SGLang: {
		TTFT: {"sglang:time_to_first_token_seconds"},
		// Older builds had only the time-per-output-token histogram.
		ITL:              {"sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds"},
		Queue:            {"sglang:queue_time_seconds"},
		E2E:              {"sglang:e2e_request_latency_seconds"},
		GenerationTokens: {"sglang:generation_tokens_total"},
		PromptTokens:     {"sglang:prompt_tokens_total"},
		// Counted when a request finishes. Builds without the counter still
		// observe the e2e histogram once per finished request: its count.
		RequestsFinished: {"sglang:num_requests_total", "sglang:e2e_request_latency_seconds_count"},
		Running:          {"sglang:num_running_reqs"},
		Waiting:          {"sglang:num_queue_reqs"},
		KVCacheUsage:     {"sglang:token_usage"},
	},
	LlamaCpp: {
		GenerationTokens:  {"llamacpp:tokens_predicted_total"},
		GenerationSeconds: {"llamacpp:tokens_predicted_seconds_total"},
		PromptTokens:      {"llamacpp:prompt_tokens_total"},
		Running:           {"llamacpp:requests_processing"},
		Waiting:           {"llamacpp:requests_deferred"},
		// Only older builds export it.
		KVCacheUsage: {"llamacpp:kv_cache_usage_ratio"},
	},
}

// Lookup returns every name of quantity q on server s, the current name
// first. It fails for a server or quantity the table does not have, naming
// both, so a typo in a rule template stops rendering.
func Lookup(s Server, q Quantity) ([]string, error) {
	byQuantity, ok := table[s]
	if !ok {
		return nil, fmt.Errorf("unknown server kind %q (metricnames has %v)", s, Servers())
	}
	names, ok := byQuantity[q]
	if !ok {
		return nil, fmt.Errorf("server kind %q reports no %q in metricnames", s, q)
	}
	return slices.Clone(names), nil
}

// Names is Lookup for tables built at start-up from constants: a pair the
// table lacks is a programming error, which any test that builds the table
// meets, so it panics.
func Names(s Server, q Quantity) []string {
	names, err := Lookup(s, q)
	if err != nil {
		panic("metricnames: " + err.Error())
	}
	return names
}

// Current is the current name of quantity q on server s (see Names).
func Current(s Server, q Quantity) string { return Names(s, q)[0] }

// Servers lists the server kinds of the table, sorted.
func Servers() []Server {
	out := make([]Server, 0, len(table))
	for s := range table {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Quantities lists the quantities server s reports, sorted.
func Quantities(s Server) []Quantity {
	out := make([]Quantity, 0, len(table[s]))
	for q := range table[s] {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}
