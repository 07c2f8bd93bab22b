package sim

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TGI's router limits (launcher defaults for an 8B model on one GPU).
const (
	tgiMaxInputTokens = 4095
	tgiMaxTotalTokens = 4096
)

// tgi is the exposition of the text-generation-inference router (router/src/server.rs,
// backends/v3): tgi_* names, no model or instance label, 35 geometric duration buckets. Label
// children appear when first used, as with the Rust metrics crate, except the two methods.
type tgi struct {
	requestCount, requestSuccess prometheus.Counter
	requestFailure               *prometheus.CounterVec

	requestDuration, validation, queue, inference, meanTimePerToken prometheus.Histogram
	generatedTokens, inputLength, maxNewTokens                      prometheus.Histogram

	queueSize, batchSize, batchMaxTokens prometheus.Gauge

	nextSize                                  prometheus.Histogram
	concat                                    *prometheus.CounterVec
	inferCount, inferSuccess                  *prometheus.CounterVec
	inferDuration, forward, decodeDur, filter *prometheus.HistogramVec
	concatDuration                            *prometheus.HistogramVec
}

func newTGI(prof profile, _ int, reg *prometheus.Registry) (*tgi, error) {
	b := &builder{reg: reg}
	dur := tgiDurationBuckets()
	methods := []string{"prefill", "decode"}
	t := &tgi{
		requestCount:     b.counter("tgi_request_count", "Total number of requests"),
		requestSuccess:   b.counter("tgi_request_success", "Number of successful requests"),
		requestFailure:   b.counterVec("tgi_request_failure", "Number of failed requests", "err"),
		requestDuration:  b.hist("tgi_request_duration", "Request duration", dur),
		validation:       b.hist("tgi_request_validation_duration", "Request validation duration", dur),
		queue:            b.hist("tgi_request_queue_duration", "Request queue duration", dur),
		inference:        b.hist("tgi_request_inference_duration", "Request inference duration", dur),
		meanTimePerToken: b.hist("tgi_request_mean_time_per_token_duration", "Mean time per token per request", dur),
		generatedTokens:  b.hist("tgi_request_generated_tokens", "Generated tokens per request", tgiLinearBuckets(tgiMaxTotalTokens)),
		inputLength:      b.hist("tgi_request_input_length", "Input token length per request", tgiLinearBuckets(tgiMaxInputTokens)),
		maxNewTokens:     b.hist("tgi_request_max_new_tokens", "Maximum new tokens per request", tgiLinearBuckets(tgiMaxTotalTokens)),
		queueSize:        b.gauge("tgi_queue_size", "Current queue size"),
		batchSize:        b.gauge("tgi_batch_current_size", "Current batch size"),
		batchMaxTokens:   b.gauge("tgi_batch_current_max_tokens", "Maximum tokens for the current batch"),
		nextSize:         b.hist("tgi_batch_next_size", "Batch size of the next batch", tgiBatchSizeBuckets()),
		concat:           b.counterVec("tgi_batch_concat", "Number of batch concatenates", "reason"),
		inferCount:       b.counterVec("tgi_batch_inference_count", "Inference calls per method (prefill or decode)", "method", methods...),
		inferSuccess:     b.counterVec("tgi_batch_inference_success", "Number of successful inference calls per method (prefill or decode)", "method", methods...),
		inferDuration:    b.histVec("tgi_batch_inference_duration", "Batch inference duration", "method", dur, methods...),
		forward:          b.histVec("tgi_batch_forward_duration", "Batch forward duration per method (prefill or decode)", "method", dur, methods...),
		decodeDur:        b.histVec("tgi_batch_decode_duration", "Time spent decoding a batch per method (prefill or decode)", "method", dur, methods...),
		filter:           b.histVec("tgi_batch_filter_duration", "Time spent filtering a batch and sending generated tokens per method (prefill or decode)", "method", dur, methods...),
		concatDuration:   b.histVec("tgi_batch_concat_duration", "Time spent concatenating batches", "method", dur),
	}
	// TGI registers the HELP text of this gauge under another name, so it has none.
	maxTotal := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tgi_batch_max_total_tokens"})
	maxTotal.Set(float64(prof.numBlocks * prof.blockSize))
	b.register(maxTotal)
	return t, b.err()
}

func (t *tgi) arrived(r *request) {
	t.requestCount.Inc()
	t.validation.Observe(r.eligible.Sub(r.arrival).Seconds())
	t.inputLength.Observe(float64(r.prompt))
	t.maxNewTokens.Observe(float64(r.maxTokens))
}

func (t *tgi) scheduled(r *request)             { t.queue.Observe(r.scheduled.Sub(r.eligible).Seconds()) }
func (t *tgi) firstToken(*request)              {}
func (t *tgi) tokenGap(*request, time.Duration) {}

func (t *tgi) finished(r *request) {
	t.requestSuccess.Inc()
	t.requestDuration.Observe(r.lastTok.Sub(r.arrival).Seconds())
	inf := r.lastTok.Sub(r.scheduled).Seconds()
	t.inference.Observe(inf)
	t.meanTimePerToken.Observe(inf / float64(r.generated)) // prefill included, as in TGI
	t.generatedTokens.Observe(float64(r.generated))
}

func (t *tgi) aborted(*request, time.Time) { t.requestFailure.WithLabelValues("dropped").Inc() }
func (t *tgi) preempted(*request)          {}

func (t *tgi) step(s *stepResult) {
	method := "decode"
	if s.prefillTokens > 0 {
		method = "prefill"
	}
	d := s.end.Sub(s.start).Seconds()
	t.inferCount.WithLabelValues(method).Inc()
	t.inferSuccess.WithLabelValues(method).Inc()
	t.inferDuration.WithLabelValues(method).Observe(d)
	// The shard's forward pass is most of the router-side step; detokenisation and the
	// router's filtering and sending are small per-sequence costs around it.
	detok := float64(s.numSeqs) * 15e-6
	filter := 40e-6 + float64(s.numSeqs)*5e-6
	t.forward.WithLabelValues(method).Observe(max(0, d-detok-filter))
	t.decodeDur.WithLabelValues(method).Observe(detok)
	t.filter.WithLabelValues(method).Observe(filter)
	if s.newSeqs > 0 {
		t.nextSize.Observe(float64(s.newSeqs))
	}
	if s.concat {
		reason := "backpressure"
		if s.chunked {
			reason = "chunking"
		}
		t.concat.WithLabelValues(reason).Inc()
		t.concatDuration.WithLabelValues("decode").Observe(0.5e-3 + float64(s.numSeqs)*20e-6)
	}
}

func (t *tgi) state(s schedState) {
	t.queueSize.Set(float64(s.waiting))
	t.batchSize.Set(float64(s.running))
	t.batchMaxTokens.Set(float64(s.batchMaxTokens))
}

// sglang is the exposition of SGLang's metrics collector
// (python/sglang/srt/metrics/collector.py): model_name plus the deployment labels.
type sglang struct {
	running, usedTokens, tokenUsage, genThroughput, queueReqs, retracted prometheus.Gauge

	promptTokens, generationTokens, requests, abortedReqs prometheus.Counter

	ttft, itl, e2e, queue prometheus.Histogram

	// gen_throughput is computed over SGLang's decode log interval of 40 steps.
	winStart               time.Time
	winSteps, winTokens    int
	retractedSinceSchedule int
}

func newSGLang(model string, prof profile, reg *prometheus.Registry) (*sglang, error) {
	_ = prof
	b := &builder{reg: reg, labels: prometheus.Labels{"model_name": model, "engine_type": "unified", "tp_rank": "0", "pp_rank": "0"}}
	s := &sglang{
		running:          b.gauge("sglang:num_running_reqs", "The number of running requests."),
		usedTokens:       b.gauge("sglang:num_used_tokens", "The number of used tokens."),
		tokenUsage:       b.gauge("sglang:token_usage", "The token usage."),
		genThroughput:    b.gauge("sglang:gen_throughput", "The generation throughput (token/s)."),
		queueReqs:        b.gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue."),
		retracted:        b.gauge("sglang:num_retracted_reqs", "The number of retracted requests."),
		promptTokens:     b.counter("sglang:prompt_tokens_total", "Number of prefill tokens processed."),
		generationTokens: b.counter("sglang:generation_tokens_total", "Number of generation tokens processed."),
		requests:         b.counter("sglang:num_requests_total", "Number of requests processed."),
		abortedReqs:      b.counter("sglang:num_aborted_requests_total", "Number of requests aborted."),
		ttft:             b.hist("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", sglangTTFTBuckets),
		itl:              b.hist("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", sglangITLBuckets),
		e2e:              b.hist("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", sglangE2EBuckets),
		queue:            b.hist("sglang:queue_time_seconds", "Histogram of queueing time in seconds.", sglangQueueBuckets),
	}
	// No grammar backend, no prefix sharing in the synthetic prompts.
	b.gauge("sglang:num_grammar_queue_reqs", "The number of requests in the grammar waiting queue.")
	b.gauge("sglang:cache_hit_rate", "The prefix cache hit rate.")
	b.counter("sglang:cached_tokens_total", "Number of cached prompt tokens.")
	return s, b.err()
}

func (s *sglang) arrived(*request)     {}
func (s *sglang) scheduled(r *request) { s.queue.Observe(r.scheduled.Sub(r.eligible).Seconds()) }

func (s *sglang) firstToken(r *request) {
	s.ttft.Observe(r.firstTok.Sub(r.arrival).Seconds())
	s.promptTokens.Add(float64(r.prompt))
}

// tokenGap observes the interval once per new token, divided by their number; the simulated
// engine emits one token per step, so that is the interval itself.
func (s *sglang) tokenGap(_ *request, gap time.Duration) { s.itl.Observe(gap.Seconds()) }

func (s *sglang) finished(r *request) {
	s.requests.Inc()
	s.e2e.Observe(r.lastTok.Sub(r.arrival).Seconds())
}

func (s *sglang) aborted(*request, time.Time) { s.requests.Inc(); s.abortedReqs.Inc() }
func (s *sglang) preempted(*request)          { s.retractedSinceSchedule++ }

func (s *sglang) step(st *stepResult) {
	s.generationTokens.Add(float64(st.generated))
	s.retracted.Set(float64(s.retractedSinceSchedule))
	s.retractedSinceSchedule = 0
	if s.winStart.IsZero() {
		s.winStart = st.start
	}
	s.winSteps++
	s.winTokens += st.generated
	if s.winSteps >= 40 {
		if el := st.end.Sub(s.winStart).Seconds(); el > 0 {
			s.genThroughput.Set(float64(s.winTokens) / el)
		}
		s.winStart, s.winSteps, s.winTokens = st.end, 0, 0
	}
}

func (s *sglang) state(st schedState) {
	s.running.Set(float64(st.running))
	s.queueReqs.Set(float64(st.waiting))
	s.usedTokens.Set(float64(st.usedBlocks * st.blockSize))
	s.tokenUsage.Set(st.kvUsage())
	if st.running == 0 {
		s.genThroughput.Set(0)
	}
}

// llamacpp is the exposition of the llama.cpp server's /metrics handler: counters and gauges
// only, no labels. Its values are computed at scrape time, so it is a Collector rather than a
// set of client_golang metrics.
type llamacpp struct {
	mu sync.Mutex

	promptTokens, predicted                float64
	promptSeconds, predictedSeconds        float64
	nDecode, busySlots                     float64
	nTokensMax                             float64
	processing, deferred                   float64
	bucketPromptTok, bucketPromptSec       float64
	bucketPredictedTok, bucketPredictedSec float64

	descs map[string]*prometheus.Desc
}

var llamacppMetrics = []struct {
	name, help string
	counter    bool
}{
	{"llamacpp:prompt_tokens_total", "Number of prompt tokens processed.", true},
	{"llamacpp:prompt_seconds_total", "Prompt process time", true},
	{"llamacpp:tokens_predicted_total", "Number of generation tokens processed.", true},
	{"llamacpp:tokens_predicted_seconds_total", "Predict process time", true},
	{"llamacpp:n_decode_total", "Total number of llama_decode() calls", true},
	{"llamacpp:n_tokens_max", "Largest observed n_tokens.", true},
	{"llamacpp:n_busy_slots_per_decode", "Average number of busy slots per llama_decode() call", true},
	{"llamacpp:prompt_tokens_seconds", "Average prompt throughput in tokens/s.", false},
	{"llamacpp:predicted_tokens_seconds", "Average generation throughput in tokens/s.", false},
	{"llamacpp:requests_processing", "Number of requests processing.", false},
	{"llamacpp:requests_deferred", "Number of requests deferred.", false},
}

func newLlamaCPP(reg *prometheus.Registry) (*llamacpp, error) {
	l := &llamacpp{descs: map[string]*prometheus.Desc{}}
	for _, m := range llamacppMetrics {
		l.descs[m.name] = prometheus.NewDesc(m.name, m.help, nil, nil)
	}
	b := &builder{reg: reg}
	b.register(l)
	return l, b.err()
}

// Describe implements prometheus.Collector.
func (l *llamacpp) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range l.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Like the llama.cpp handler it resets the
// throughput window on every scrape, so each scrape sees the throughput since the last one.
func (l *llamacpp) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	ratio := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return a / b
	}
	values := map[string]float64{
		"llamacpp:prompt_tokens_total":            l.promptTokens,
		"llamacpp:prompt_seconds_total":           l.promptSeconds,
		"llamacpp:tokens_predicted_total":         l.predicted,
		"llamacpp:tokens_predicted_seconds_total": l.predictedSeconds,
		"llamacpp:n_decode_total":                 l.nDecode,
		"llamacpp:n_tokens_max":                   l.nTokensMax,
		"llamacpp:n_busy_slots_per_decode":        ratio(l.busySlots, l.nDecode),
		"llamacpp:prompt_tokens_seconds":          ratio(l.bucketPromptTok, l.bucketPromptSec),
		"llamacpp:predicted_tokens_seconds":       ratio(l.bucketPredictedTok, l.bucketPredictedSec),
		"llamacpp:requests_processing":            l.processing,
		"llamacpp:requests_deferred":              l.deferred,
	}
	l.bucketPromptTok, l.bucketPromptSec, l.bucketPredictedTok, l.bucketPredictedSec = 0, 0, 0, 0
	l.mu.Unlock()
	for _, m := range llamacppMetrics {
		t := prometheus.GaugeValue
		if m.counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(l.descs[m.name], t, values[m.name])
	}
}

func (l *llamacpp) arrived(*request)                 {}
func (l *llamacpp) scheduled(*request)               {}
func (l *llamacpp) tokenGap(*request, time.Duration) {}
func (l *llamacpp) preempted(*request)               {}
func (l *llamacpp) aborted(*request, time.Time)      {}

// firstToken accounts the prompt when its evaluation ends, per slot (llama.cpp's
// on_prompt_eval).
func (l *llamacpp) firstToken(r *request) {
	sec := r.firstTok.Sub(r.scheduled).Seconds()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.promptTokens += float64(r.prompt)
	l.promptSeconds += sec
	l.bucketPromptTok += float64(r.prompt)
	l.bucketPromptSec += sec
}

// finished accounts the generation when the slot is released (llama.cpp's on_prediction);
// the seconds are per slot, so they add up across parallel slots.
func (l *llamacpp) finished(r *request) {
	sec := r.lastTok.Sub(r.firstTok).Seconds()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.predicted += float64(r.generated)
	l.predictedSeconds += sec
	l.bucketPredictedTok += float64(r.generated)
	l.bucketPredictedSec += sec
}

func (l *llamacpp) step(s *stepResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nDecode++
	l.busySlots += float64(s.numSeqs)
}

func (l *llamacpp) state(s schedState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.processing = float64(s.running)
	l.deferred = float64(s.waiting)
	l.nTokensMax = max(l.nTokensMax, float64(s.maxContext))
}
