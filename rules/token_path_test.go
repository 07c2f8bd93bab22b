package rules

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/rules/internal/rulestest"
)

// steps is how many intervals every fixture series runs: 10 minutes.
const steps = 40

// lbl renders label pairs the way rulestest.Harness.Series keys its results.
func lbl(kv ...string) string { return labels.FromStrings(kv...).String() }

// vllmFixture describes a vLLM /metrics exposition in a load script.
type vllmFixture struct {
	Instance, Model string
	// V0 uses the V0 engine's names (time_per_output_token_seconds,
	// gpu_cache_usage_perc) and no engine label.
	V0 bool
	// Engines are the data-parallel engine labels of a V1 server.
	Engines []string
}

func (f vllmFixture) load() string {
	var b strings.Builder
	engines := f.Engines
	if f.V0 || len(engines) == 0 {
		engines = []string{""}
	}
	itl, kv := "vllm:inter_token_latency_seconds", "vllm:kv_cache_usage_perc"
	if f.V0 {
		itl, kv = "vllm:time_per_output_token_seconds", "vllm:gpu_cache_usage_perc"
	}
	for i, e := range engines {
		l := fmt.Sprintf(`instance=%q, job="vllm", model_name=%q`, f.Instance, f.Model)
		if e != "" {
			l += fmt.Sprintf(`, engine=%q`, e)
		}
		b.WriteString(latency().lines("vllm:time_to_first_token_seconds", l, steps))
		b.WriteString(tokenGaps().lines(itl, l, steps))
		for _, n := range []string{"request_queue_time", "request_prefill_time", "request_decode_time", "e2e_request_latency"} {
			b.WriteString(latency().lines("vllm:"+n+"_seconds", l, steps))
		}
		fmt.Fprintf(&b, "  vllm:generation_tokens_total{%s} 0+300x%d\n", l, steps)
		fmt.Fprintf(&b, "  vllm:prompt_tokens_total{%s} 0+600x%d\n", l, steps)
		fmt.Fprintf(&b, "  vllm:request_success_total{%s, finished_reason=\"stop\"} 0+9x%d\n", l, steps)
		fmt.Fprintf(&b, "  vllm:request_success_total{%s, finished_reason=\"error\"} 0+1x%d\n", l, steps)
		fmt.Fprintf(&b, "  vllm:request_success_total{%s, finished_reason=\"abort\"} 0+0x%d\n", l, steps)
		fmt.Fprintf(&b, "  vllm:num_requests_running{%s} 4x%d\n", l, steps)
		fmt.Fprintf(&b, "  vllm:num_requests_waiting{%s} 1x%d\n", l, steps)
		// Engines differ in KV-cache use: 0.5, 0.7, ...
		fmt.Fprintf(&b, "  %s{%s} %gx%d\n", kv, l, 0.5+0.2*float64(i), steps)
		fmt.Fprintf(&b, "  vllm:num_preemptions_total{%s} 0+3x%d\n", l, steps)
	}
	return b.String()
}

// tgiFixture describes a TGI router's /metrics; Model is a `model` target
// label set by the scrape config ("" for none).
type tgiFixture struct{ Instance, Model string }

func (f tgiFixture) load() string {
	var b strings.Builder
	l := fmt.Sprintf(`instance=%q, job="tgi"`, f.Instance)
	if f.Model != "" {
		l += fmt.Sprintf(`, model=%q`, f.Model)
	}
	b.WriteString(tokenGaps().lines("tgi_request_mean_time_per_token_duration", l, steps))
	b.WriteString(latency().lines("tgi_request_queue_duration", l, steps))
	b.WriteString(latency().lines("tgi_batch_inference_duration", l+`, method="prefill"`, steps))
	// Decode steps must not turn into a request decode time.
	b.WriteString(tokenGaps().lines("tgi_batch_inference_duration", l+`, method="decode"`, steps))
	b.WriteString(latency().lines("tgi_request_duration", l, steps))
	fmt.Fprintf(&b, "  tgi_request_generated_tokens_sum{%s} 0+150x%d\n", l, steps)
	fmt.Fprintf(&b, "  tgi_request_generated_tokens_count{%s} 0+10x%d\n", l, steps)
	fmt.Fprintf(&b, "  tgi_request_input_length_sum{%s} 0+300x%d\n", l, steps)
	fmt.Fprintf(&b, "  tgi_request_count{%s} 0+10x%d\n", l, steps)
	fmt.Fprintf(&b, "  tgi_request_failure{%s, err=\"overloaded\"} 0+1x%d\n", l, steps)
	fmt.Fprintf(&b, "  tgi_request_failure{%s, err=\"validation\"} 0+2x%d\n", l, steps)
	fmt.Fprintf(&b, "  tgi_batch_current_size{%s} 6x%d\n", l, steps)
	fmt.Fprintf(&b, "  tgi_queue_size{%s} 3x%d\n", l, steps)
	return b.String()
}

// sglangFixture is an SGLang server with tensor parallelism 2: both ranks
// report the same scheduler gauges.
func sglangFixture(instance, model string) string {
	var b strings.Builder
	l := fmt.Sprintf(`instance=%q, job="sglang", model_name=%q, engine_type="unified"`, instance, model)
	b.WriteString(latency().lines("sglang:time_to_first_token_seconds", l, steps))
	b.WriteString(tokenGaps().lines("sglang:inter_token_latency_seconds", l, steps))
	b.WriteString(latency().lines("sglang:queue_time_seconds", l, steps))
	b.WriteString(latency().lines("sglang:e2e_request_latency_seconds", l, steps))
	fmt.Fprintf(&b, "  sglang:generation_tokens_total{%s} 0+150x%d\n", l, steps)
	fmt.Fprintf(&b, "  sglang:prompt_tokens_total{%s} 0+300x%d\n", l, steps)
	fmt.Fprintf(&b, "  sglang:num_requests_total{%s} 0+10x%d\n", l, steps)
	for _, rank := range []string{"0", "1"} {
		r := fmt.Sprintf(`%s, tp_rank=%q, pp_rank="0"`, l, rank)
		fmt.Fprintf(&b, "  sglang:num_running_reqs{%s} 5x%d\n", r, steps)
		fmt.Fprintf(&b, "  sglang:num_queue_reqs{%s} 2x%d\n", r, steps)
		fmt.Fprintf(&b, "  sglang:token_usage{%s} 0.42x%d\n", r, steps)
	}
	return b.String()
}

// llamacppFixture is a llama.cpp server started with --metrics.
func llamacppFixture(instance string) string {
	var b strings.Builder
	l := fmt.Sprintf(`instance=%q, job="llamacpp"`, instance)
	fmt.Fprintf(&b, "  llamacpp:tokens_predicted_total{%s} 0+300x%d\n", l, steps)
	fmt.Fprintf(&b, "  llamacpp:tokens_predicted_seconds_total{%s} 0+6x%d\n", l, steps)
	fmt.Fprintf(&b, "  llamacpp:prompt_tokens_total{%s} 0+600x%d\n", l, steps)
	fmt.Fprintf(&b, "  llamacpp:prompt_seconds_total{%s} 0+3x%d\n", l, steps)
	fmt.Fprintf(&b, "  llamacpp:requests_processing{%s} 2x%d\n", l, steps)
	fmt.Fprintf(&b, "  llamacpp:requests_deferred{%s} 1x%d\n", l, steps)
	return b.String()
}

// latencySeries returns the derived series every histogram quantity of
// one target has with the given profile's p50/p90/p99/mean.
func latencySeries(q string, base []string, p50, p90, p99, mean float64) map[string]map[string]float64 {
	with := func(kv ...string) string { return lbl(append(append([]string{}, base...), kv...)...) }
	return map[string]map[string]float64{
		"tokenpath:" + q + "_seconds:histogram_quantile": {
			with("quantile", "0.5"): p50, with("quantile", "0.9"): p90, with("quantile", "0.99"): p99,
		},
		"tokenpath:" + q + "_seconds:mean_rate1m": {with(): mean},
	}
}

// TestTokenPathPerServer checks the values of every unified series for one
// target of each server kind: the label mapping (model_name → model, engine
// and tensor ranks summed away, a model target label kept), rates,
// percentiles, means, and the series a server must not have.
func TestTokenPathPerServer(t *testing.T) {
	vllm := []string{"instance", "vllm-a:8000", "job", "vllm", "model", "llama-3-8b", "server", "vllm"}
	tgi := []string{"instance", "tgi-a:8080", "job", "tgi", "model", "mistral-7b", "server", "tgi"}
	tgiNoModel := []string{"instance", "tgi-b:8080", "job", "tgi", "server", "tgi"}
	sglang := []string{"instance", "sglang-a:30000", "job", "sglang", "model", "qwen-2", "server", "sglang"}
	llamacpp := []string{"instance", "llama-a:8081", "job", "llamacpp", "server", "llamacpp"}
	with := func(base []string, kv ...string) string { return lbl(append(append([]string{}, base...), kv...)...) }

	cases := []struct {
		name   string
		load   string
		server string
		want   map[string]map[string]float64
	}{
		{
			name:   "vllm V1 with two data-parallel engines",
			load:   vllmFixture{Instance: "vllm-a:8000", Model: "llama-3-8b", Engines: []string{"0", "1"}}.load(),
			server: "vllm",
			want: merge(
				latencySeries("ttft", vllm, latencyP50, latencyP90, latencyP99, latencyMean),
				latencySeries("itl", append(vllm, "measure", "itl"), gapsP50, gapsP90, gapsP99, gapsMean),
				latencySeries("queue", vllm, latencyP50, latencyP90, latencyP99, latencyMean),
				latencySeries("prefill", vllm, latencyP50, latencyP90, latencyP99, latencyMean),
				latencySeries("decode", vllm, latencyP50, latencyP90, latencyP99, latencyMean),
				latencySeries("e2e", vllm, latencyP50, latencyP90, latencyP99, latencyMean),
				map[string]map[string]float64{
					// Two engines, 10 requests each per 15 s.
					"tokenpath:ttft_seconds_count:rate1m": {with(vllm): 20.0 / 15},
					"tokenpath:ttft_seconds_sum:rate1m":   {with(vllm): 10.0 / 15},
					"tokenpath:ttft_seconds_bucket:rate1m": {
						with(vllm, "le", "0.1"): 4.0 / 15, with(vllm, "le", "0.5"): 12.0 / 15, with(vllm, "le", "1"): 18.0 / 15,
						with(vllm, "le", "10"): 20.0 / 15, with(vllm, "le", "+Inf"): 20.0 / 15,
					},
					"tokenpath:itl_seconds_count:rate1m":              {with(vllm, "measure", "itl"): 200.0 / 15},
					"tokenpath:generation_tokens:rate1m":              {with(vllm): 40},
					"tokenpath:prompt_tokens:rate1m":                  {with(vllm): 80},
					"tokenpath:requests:rate1m":                       {with(vllm): 20.0 / 15},
					"tokenpath:requests_running":                      {with(vllm): 8},
					"tokenpath:requests_waiting":                      {with(vllm): 2},
					"tokenpath:kv_cache_usage:ratio":                  {with(vllm): 0.7},
					"tokenpath:preemptions:rate1m":                    {with(vllm): 0.4},
					"tokenpath:request_errors:ratio_rate1m":           {with(vllm): 0.1},
					"tokenpath:decode_seconds_count:rate1m":           {with(vllm): 20.0 / 15},
					"tokenpath:e2e_seconds_sum:rate1m":                {with(vllm): 10.0 / 15},
					"tokenpath:queue_seconds_count:rate1m":            {with(vllm): 20.0 / 15},
					"tokenpath:prefill_seconds_count:rate1m":          {with(vllm): 20.0 / 15},
					"tokenpath:itl_seconds_bucket:rate1m{le=\"0.1\"}": {with(vllm, "measure", "itl", "le", "0.1"): 196.0 / 15},
				},
			),
		},
		{
			name:   "tgi with a model target label",
			load:   tgiFixture{Instance: "tgi-a:8080", Model: "mistral-7b"}.load(),
			server: "tgi",
			want: merge(
				latencySeries("itl", append(tgi, "measure", "tpot"), gapsP50, gapsP90, gapsP99, gapsMean),
				latencySeries("queue", tgi, latencyP50, latencyP90, latencyP99, latencyMean),
				latencySeries("prefill", tgi, latencyP50, latencyP90, latencyP99, latencyMean),
				latencySeries("e2e", tgi, latencyP50, latencyP90, latencyP99, latencyMean),
				map[string]map[string]float64{
					// Only the labelled estimate: median queue + median prefill, and the means.
					"tokenpath:ttft_seconds:histogram_quantile": {
						with(tgi, "quantile", "0.5", "estimate", "queue_plus_prefill"): 2 * latencyP50,
					},
					"tokenpath:ttft_seconds:mean_rate1m":     {with(tgi, "estimate", "queue_plus_prefill"): 2 * latencyMean},
					"tokenpath:ttft_seconds_bucket:rate1m":   {},
					"tokenpath:decode_seconds:mean_rate1m":   {},
					"tokenpath:decode_seconds_bucket:rate1m": {},
					"tokenpath:kv_cache_usage:ratio":         {},
					"tokenpath:preemptions:rate1m":           {},
					"tokenpath:generation_tokens:rate1m":     {with(tgi): 10},
					"tokenpath:prompt_tokens:rate1m":         {with(tgi): 20},
					"tokenpath:requests:rate1m":              {with(tgi): 10.0 / 15},
					"tokenpath:requests_running":             {with(tgi): 6},
					"tokenpath:requests_waiting":             {with(tgi): 3},
					// overloaded counts, validation (the client's fault) does not.
					"tokenpath:request_errors:ratio_rate1m":  {with(tgi): 0.1},
					"tokenpath:prefill_seconds_count:rate1m": {with(tgi): 10.0 / 15},
				},
			),
		},
		{
			name:   "tgi without a model label",
			load:   tgiFixture{Instance: "tgi-b:8080"}.load(),
			server: "tgi",
			want: map[string]map[string]float64{
				"tokenpath:requests_running":         {with(tgiNoModel): 6},
				"tokenpath:e2e_seconds:mean_rate1m":  {with(tgiNoModel): latencyMean},
				"tokenpath:itl_seconds:mean_rate1m":  {with(tgiNoModel, "measure", "tpot"): gapsMean},
				"tokenpath:ttft_seconds:mean_rate1m": {with(tgiNoModel, "estimate", "queue_plus_prefill"): 2 * latencyMean},
			},
		},
		{
			name:   "sglang with two tensor-parallel ranks",
			load:   sglangFixture("sglang-a:30000", "qwen-2"),
			server: "sglang",
			want: merge(
				latencySeries("ttft", sglang, latencyP50, latencyP90, latencyP99, latencyMean),
				latencySeries("itl", append(sglang, "measure", "itl"), gapsP50, gapsP90, gapsP99, gapsMean),
				latencySeries("queue", sglang, latencyP50, latencyP90, latencyP99, latencyMean),
				latencySeries("e2e", sglang, latencyP50, latencyP90, latencyP99, latencyMean),
				map[string]map[string]float64{
					"tokenpath:prefill_seconds:mean_rate1m": {},
					"tokenpath:decode_seconds:mean_rate1m":  {},
					"tokenpath:preemptions:rate1m":          {},
					"tokenpath:request_errors:ratio_rate1m": {},
					"tokenpath:generation_tokens:rate1m":    {with(sglang): 10},
					"tokenpath:prompt_tokens:rate1m":        {with(sglang): 20},
					"tokenpath:requests:rate1m":             {with(sglang): 10.0 / 15},
					// Not doubled by the two ranks.
					"tokenpath:requests_running":     {with(sglang): 5},
					"tokenpath:requests_waiting":     {with(sglang): 2},
					"tokenpath:kv_cache_usage:ratio": {with(sglang): 0.42},
				},
			),
		},
		{
			name:   "llama.cpp",
			load:   llamacppFixture("llama-a:8081"),
			server: "llamacpp",
			want: map[string]map[string]float64{
				// 0.4 s of generation per second over 20 tokens per second.
				"tokenpath:itl_seconds:mean_rate1m":         {with(llamacpp, "measure", "itl"): 0.02},
				"tokenpath:itl_seconds:histogram_quantile":  {},
				"tokenpath:itl_seconds_bucket:rate1m":       {},
				"tokenpath:ttft_seconds:histogram_quantile": {},
				"tokenpath:ttft_seconds:mean_rate1m":        {},
				"tokenpath:e2e_seconds:mean_rate1m":         {},
				"tokenpath:requests:rate1m":                 {},
				"tokenpath:kv_cache_usage:ratio":            {},
				"tokenpath:generation_tokens:rate1m":        {with(llamacpp): 20},
				"tokenpath:prompt_tokens:rate1m":            {with(llamacpp): 40},
				"tokenpath:requests_running":                {with(llamacpp): 2},
				"tokenpath:requests_waiting":                {with(llamacpp): 1},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newRuleHarness(t, Thresholds{}, "load 15s\n"+tc.load)
			h.EvalUntil(5 * time.Minute)
			for expr, want := range tc.want {
				sel := fmt.Sprintf("%s{server=%q}", expr, tc.server)
				if strings.Contains(expr, "{") {
					sel = strings.Replace(expr, "{", fmt.Sprintf("{server=%q, ", tc.server), 1)
				}
				requireSeries(t, h, sel, want)
			}
		})
	}
}

// merge combines expectation maps.
func merge(ms ...map[string]map[string]float64) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestTokenPathSeriesPerServer runs all four server kinds side by side and
// checks which unified series each one gets: all that its metrics support,
// none that they do not. Together the lists cover every recording rule in
// the token-path file.
func TestTokenPathSeriesPerServer(t *testing.T) {
	latencyNames := func(qs ...string) []string {
		var out []string
		for _, q := range qs {
			for _, s := range []string{"_bucket:rate1m", "_count:rate1m", "_sum:rate1m", ":histogram_quantile", ":mean_rate1m"} {
				out = append(out, "tokenpath:"+q+"_seconds"+s)
			}
		}
		return out
	}
	const clamped = "tokenpath:histogram_quantile_clamped"
	want := map[string][]string{
		"vllm": append(latencyNames("ttft", "itl", "queue", "prefill", "decode", "e2e"), clamped,
			"tokenpath:generation_tokens:rate1m", "tokenpath:prompt_tokens:rate1m", "tokenpath:requests:rate1m",
			"tokenpath:requests_running", "tokenpath:requests_waiting", "tokenpath:kv_cache_usage:ratio",
			"tokenpath:preemptions:rate1m", "tokenpath:request_errors:ratio_rate1m"),
		"tgi": append(latencyNames("itl", "queue", "prefill", "e2e"), clamped,
			"tokenpath:ttft_seconds:histogram_quantile", "tokenpath:ttft_seconds:mean_rate1m",
			"tokenpath:generation_tokens:rate1m", "tokenpath:prompt_tokens:rate1m", "tokenpath:requests:rate1m",
			"tokenpath:requests_running", "tokenpath:requests_waiting", "tokenpath:request_errors:ratio_rate1m"),
		"sglang": append(latencyNames("ttft", "itl", "queue", "e2e"), clamped,
			"tokenpath:generation_tokens:rate1m", "tokenpath:prompt_tokens:rate1m", "tokenpath:requests:rate1m",
			"tokenpath:requests_running", "tokenpath:requests_waiting", "tokenpath:kv_cache_usage:ratio"),
		"llamacpp": {
			"tokenpath:itl_seconds:mean_rate1m", "tokenpath:generation_tokens:rate1m", "tokenpath:prompt_tokens:rate1m",
			"tokenpath:requests_running", "tokenpath:requests_waiting",
		},
	}
	load := "load 15s\n" +
		vllmFixture{Instance: "vllm-a:8000", Model: "llama-3-8b", Engines: []string{"0"}}.load() +
		tgiFixture{Instance: "tgi-a:8080"}.load() +
		sglangFixture("sglang-a:30000", "qwen-2") +
		llamacppFixture("llama-a:8081")
	h := newRuleHarness(t, Thresholds{}, load)
	h.EvalUntil(3 * time.Minute)

	files, err := DefaultRuleFiles(Thresholds{})
	require.NoError(t, err)
	// The series of this file only (the diagnosis file's rows carry server too).
	ours := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+- record: (\S+)$`).FindAllStringSubmatch(string(files[TokenPathRuleFile]), -1) {
		ours[m[1]] = true
	}
	got := map[string][]string{}
	for k := range h.Series(`count by (name, server) (label_replace({__name__=~"tokenpath:.+", server!=""}, "name", "$1", "__name__", "(.+)"))`) {
		m := regexp.MustCompile(`name="([^"]+)", server="([^"]+)"`).FindStringSubmatch(k)
		require.NotNil(t, m, k)
		if ours[m[1]] {
			got[m[2]] = append(got[m[2]], m[1])
		}
	}
	recorded := map[string]bool{}
	for server, names := range want {
		sort.Strings(names)
		sort.Strings(got[server])
		require.Equal(t, names, got[server], "series of server %s", server)
		for _, n := range names {
			recorded[n] = true
		}
	}
	require.Len(t, got, len(want), "servers with tokenpath series: %v", got)

	for _, m := range regexp.MustCompile(`(?m)^\s+- record: (\S+)$`).FindAllStringSubmatch(string(files[TokenPathRuleFile]), -1) {
		require.True(t, recorded[m[1]], "recording rule %s is not covered by a server", m[1])
	}
}

// TestVLLMV0AndV1NamesGiveTheSameSeries checks that a V0 engine (old names,
// no engine label), a V1 engine, and a server in a deprecation window that
// exposes both produce identical tokenpath series.
func TestVLLMV0AndV1NamesGiveTheSameSeries(t *testing.T) {
	// The diagnosis derives from these series and is tested on its own.
	all := `{__name__=~"tokenpath:.+", __name__!~"tokenpath:diagnosis.*"}`
	eval := func(t *testing.T, load string) map[string]float64 {
		h := newRuleHarness(t, Thresholds{}, "load 15s\n"+load)
		h.EvalUntil(4 * time.Minute)
		out := map[string]float64{}
		vec := h.Series(`label_replace(` + all + `, "name", "$1", "__name__", "(.+)")`)
		for k, v := range vec {
			out[k] = v
		}
		return out
	}
	v1 := eval(t, vllmFixture{Instance: "vllm-a:8000", Model: "m", Engines: []string{"0"}}.load())
	require.NotEmpty(t, v1)
	require.Contains(t, v1, lbl("instance", "vllm-a:8000", "job", "vllm", "model", "m", "server", "vllm",
		"measure", "itl", "quantile", "0.99", "name", "tokenpath:itl_seconds:histogram_quantile"))
	require.Contains(t, v1, lbl("instance", "vllm-a:8000", "job", "vllm", "model", "m", "server", "vllm",
		"name", "tokenpath:kv_cache_usage:ratio"))

	cases := []struct {
		name string
		load string
	}{
		{"V0 names", vllmFixture{Instance: "vllm-a:8000", Model: "m", V0: true}.load()},
		{
			// 0.11/0.12 exposed the old ITL name next to the new one, 0.9–0.11 both
			// KV-cache names; the old ones (different values here) must lose.
			"both names at once",
			vllmFixture{Instance: "vllm-a:8000", Model: "m", Engines: []string{"0"}}.load() +
				histogram{Les: []string{"0.5", "+Inf"}, Cum: []float64{1, 3}, Sum: 9}.lines(
					"vllm:time_per_output_token_seconds", `instance="vllm-a:8000", job="vllm", model_name="m", engine="0"`, steps,
				) +
				fmt.Sprintf("  vllm:gpu_cache_usage_perc{instance=\"vllm-a:8000\", job=\"vllm\", model_name=\"m\", engine=\"0\"} 0.99x%d\n", steps),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := eval(t, tc.load)
			require.Equal(t, rulestest.SortedKeys(v1), rulestest.SortedKeys(got))
			for k, v := range v1 {
				if v == 0 {
					// A 0/1 flag (histogram_quantile_clamped) has no relative error.
					require.Zero(t, got[k], k)
					continue
				}
				require.InEpsilon(t, v, got[k], 1e-9, k)
			}
		})
	}
}

// TestTokenPathEmptyWindowAndCounterReset covers an idle server (no
// observations in the last minute: rates 0, and no percentile or mean rather
// than NaN) and a restarted one (counters reset inside the window).
func TestTokenPathEmptyWindowAndCounterReset(t *testing.T) {
	base := []string{"instance", "vllm-a:8000", "job", "vllm", "model", "m", "server", "vllm"}
	with := func(kv ...string) string { return lbl(append(append([]string{}, base...), kv...)...) }
	l := `instance="vllm-a:8000", job="vllm", model_name="m", engine="0"`

	t.Run("empty window", func(t *testing.T) {
		// Traffic for 2 minutes, then none: at 5m the 1m window is empty.
		var load strings.Builder
		load.WriteString("load 15s\n")
		for i, le := range latency().Les {
			fmt.Fprintf(&load, "  vllm:time_to_first_token_seconds_bucket{%s, le=%q} 0+%gx8 %gx32\n", l, le, latency().Cum[i], latency().Cum[i]*8)
		}
		fmt.Fprintf(&load, "  vllm:time_to_first_token_seconds_count{%s} 0+10x8 80x32\n", l)
		fmt.Fprintf(&load, "  vllm:time_to_first_token_seconds_sum{%s} 0+5x8 40x32\n", l)
		fmt.Fprintf(&load, "  vllm:generation_tokens_total{%s} 0+300x8 2400x32\n", l)
		fmt.Fprintf(&load, "  vllm:request_success_total{%s, finished_reason=\"stop\"} 0+10x8 80x32\n", l)
		fmt.Fprintf(&load, "  vllm:request_success_total{%s, finished_reason=\"error\"} 0x40\n", l)
		fmt.Fprintf(&load, "  vllm:num_requests_running{%s} 3x8 0x32\n", l)
		h := newRuleHarness(t, Thresholds{}, load.String())

		h.EvalUntil(90 * time.Second)
		require.Len(t, h.Series(`tokenpath:ttft_seconds:histogram_quantile{server="vllm"}`), 3, "busy")

		h.EvalUntil(5 * time.Minute)
		requireSeries(t, h, `tokenpath:ttft_seconds:histogram_quantile{server="vllm"}`, map[string]float64{})
		requireSeries(t, h, `tokenpath:ttft_seconds:mean_rate1m{server="vllm"}`, map[string]float64{})
		requireSeries(t, h, `tokenpath:request_errors:ratio_rate1m{server="vllm"}`, map[string]float64{})
		requireSeries(t, h, `tokenpath:ttft_seconds_count:rate1m{server="vllm"}`, map[string]float64{with(): 0})
		requireSeries(t, h, `tokenpath:generation_tokens:rate1m{server="vllm"}`, map[string]float64{with(): 0})
		requireSeries(t, h, `tokenpath:requests_running{server="vllm"}`, map[string]float64{with(): 0})
		// The alerts see no value, so they do not fire on an idle server.
		require.Empty(t, h.Alerts("HighTTFT"))
	})

	t.Run("counter reset", func(t *testing.T) {
		// vLLM restarts at 5m15s: every counter starts again from 0.
		var load strings.Builder
		load.WriteString("load 15s\n")
		for i, le := range latency().Les {
			c := latency().Cum[i]
			fmt.Fprintf(&load, "  vllm:time_to_first_token_seconds_bucket{%s, le=%q} 0+%gx20 0+%gx19\n", l, le, c, c)
		}
		fmt.Fprintf(&load, "  vllm:time_to_first_token_seconds_count{%s} 0+10x20 0+10x19\n", l)
		fmt.Fprintf(&load, "  vllm:time_to_first_token_seconds_sum{%s} 0+5x20 0+5x19\n", l)
		fmt.Fprintf(&load, "  vllm:generation_tokens_total{%s} 0+10x20 0+10x19\n", l)
		h := newRuleHarness(t, Thresholds{}, load.String())
		// At 5m30s the window holds 190, 200, 0, 10: increases 10, 0 (200→0 is a
		// reset: the new 0 counts as an increase of 0) and 10 = 20 over 45 s,
		// extrapolated to the 60 s window.
		h.EvalUntil(5*time.Minute + 30*time.Second)
		requireSeries(t, h, `tokenpath:generation_tokens:rate1m{server="vllm"}`, map[string]float64{with(): 20.0 / 45})
		// Every bucket resets together, so the percentiles keep their shape.
		requireSeries(t, h, `tokenpath:ttft_seconds:histogram_quantile{server="vllm"}`, map[string]float64{
			with("quantile", "0.5"): latencyP50, with("quantile", "0.9"): latencyP90, with("quantile", "0.99"): latencyP99,
		})
		requireSeries(t, h, `tokenpath:ttft_seconds:mean_rate1m{server="vllm"}`, map[string]float64{with(): latencyMean})
	})
}
