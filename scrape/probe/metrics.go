package probe

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of one probe: the `outcome` label of tokenpath_probe_requests_total.
// Exactly one is counted per probe that was started and not cut short by
// tokenpath shutting down.
const (
	// OutcomeOK: HTTP 2xx, an SSE stream with at least one generated token,
	// a usage chunk with completion_tokens, and a clean end ([DONE]).
	OutcomeOK = "ok"
	// OutcomeNoUsage: as ok, but no usage chunk (the server ignored
	// stream_options.include_usage), so no token count and no TPOT.
	OutcomeNoUsage = "no_usage"
	// OutcomeHTTPError: a non-2xx status; the `code` label carries it.
	OutcomeHTTPError = "http_error"
	// OutcomeTimeout: the probe's deadline passed (before the headers, or
	// while the body was streaming).
	OutcomeTimeout = "timeout"
	// OutcomeConnectionError: the request failed below HTTP (refused,
	// reset, DNS, TLS) before a response arrived.
	OutcomeConnectionError = "connection_error"
	// OutcomeMalformedStream: a 2xx answer that is not a valid OpenAI SSE
	// stream (wrong content type, a data line that is not JSON, an error
	// event, a line or body over the size limits).
	OutcomeMalformedStream = "malformed_stream"
	// OutcomeTruncated: a valid stream that ended (EOF or reset) before
	// [DONE] — a crash, a proxy cutting the stream.
	OutcomeTruncated = "truncated"
	// OutcomeEmptyResponse: a complete stream without a single generated
	// token.
	OutcomeEmptyResponse = "empty_response"
	// OutcomeDiscoveryError: the model was not configured and GET /v1/models
	// failed or listed none; no completion request was sent.
	OutcomeDiscoveryError = "discovery_error"
)

// Outcomes returns every outcome, for documentation and tests.
func Outcomes() []string {
	return []string{
		OutcomeOK, OutcomeNoUsage, OutcomeHTTPError, OutcomeTimeout, OutcomeConnectionError,
		OutcomeMalformedStream, OutcomeTruncated, OutcomeEmptyResponse, OutcomeDiscoveryError,
	}
}

// Label names of the probe series.
const (
	LabelTarget       = "target"
	LabelModel        = "model"
	LabelAPI          = "api"
	LabelTargetServer = "target_server"
	LabelOutcome      = "outcome"
	LabelCode         = "code"
)

// Bucket boundaries of the classic histograms (the native ones are
// exponential with NativeBucketFactor). They are fine enough for heatmaps and
// contain the round thresholds an SLO is likely to use, so that the SLO rules
// count good probes without interpolation. Each call returns a new slice.

// LatencyBuckets are for the request-level latencies (headers, first chunk,
// TTFT, end to end), 5 ms to 2 min.
func LatencyBuckets() []float64 {
	return []float64{
		0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75,
		1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 10, 12.5, 15, 20, 25, 30, 45, 60, 90, 120,
	}
}

// TokenBuckets are for the per-token latencies (inter-chunk gap, TPOT), 1 ms
// to 5 s.
func TokenBuckets() []float64 {
	return []float64{
		0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04,
		0.05, 0.06, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5,
	}
}

// DelayBuckets are for the schedule delay, 100 µs to 10 s.
func DelayBuckets() []float64 {
	return []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}
}

// NativeBucketFactor is the growth factor of the native histograms (client
// golang picks schema 3, about 9% per bucket).
const NativeBucketFactor = 1.1

// metrics are the probe series, all on one registerer.
type metrics struct {
	requests      *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	outputTokens  *prometheus.CounterVec
	chunks        *prometheus.CounterVec
	timeToHeaders *prometheus.HistogramVec
	firstChunk    *prometheus.HistogramVec
	ttft          *prometheus.HistogramVec
	firstVisible  *prometheus.HistogramVec
	interChunk    *prometheus.HistogramVec
	tpot          *prometheus.HistogramVec
	e2e           *prometheus.HistogramVec
	schedDelay    *prometheus.HistogramVec

	lastSuccess   *prometheus.GaugeVec
	lastTimestamp *prometheus.GaugeVec
	lastHeaders   *prometheus.GaugeVec
	lastTTFT      *prometheus.GaugeVec
	lastTPOT      *prometheus.GaugeVec
	lastE2E       *prometheus.GaugeVec
	lastTokens    *prometheus.GaugeVec
}

// baseLabels are the labels of every probe series.
func baseLabels() []string {
	return []string{LabelTarget, LabelModel, LabelAPI, LabelTargetServer}
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            name,
			Help:                            help,
			Buckets:                         buckets,
			NativeHistogramBucketFactor:     NativeBucketFactor,
			NativeHistogramMaxBucketNumber:  160,
			NativeHistogramMinResetDuration: time.Hour,
		}, baseLabels())
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, baseLabels())
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenpath_probe_requests_total",
			Help: "Probes finished, by outcome (ok, no_usage, http_error, timeout, connection_error, malformed_stream, truncated, empty_response, discovery_error) and HTTP status code (empty without a response).",
		}, append(baseLabels(), LabelOutcome, LabelCode)),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenpath_probe_skipped_total",
			Help: "Scheduled probes not sent because the previous probe of the target was still running.",
		}, baseLabels()),
		outputTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenpath_probe_output_tokens_total",
			Help: "Output tokens of probes, from the server's usage.completion_tokens.",
		}, baseLabels()),
		chunks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenpath_probe_chunks_total",
			Help: "SSE chunks carrying generated text, received by probes that completed.",
		}, baseLabels()),
		timeToHeaders: hist("tokenpath_probe_time_to_headers_seconds",
			"Request sent to response headers received, for every probe that got a response.", LatencyBuckets()),
		firstChunk: hist("tokenpath_probe_time_to_first_chunk_seconds",
			"Request sent to the first SSE data event of any kind (a role-only delta counts), completed probes.", LatencyBuckets()),
		ttft: hist("tokenpath_probe_ttft_seconds",
			"Time to first token: request sent to the first SSE chunk with non-empty generated text (content or reasoning), completed probes.", LatencyBuckets()),
		firstVisible: hist("tokenpath_probe_time_to_first_content_seconds",
			"Request sent to the first chunk with non-empty visible content (reasoning excluded), completed probes.", LatencyBuckets()),
		interChunk: hist("tokenpath_probe_inter_chunk_seconds",
			"Every gap between two consecutive SSE chunks carrying generated text (one observation per gap), completed probes.", TokenBuckets()),
		tpot: hist("tokenpath_probe_tpot_seconds",
			"Time per output token: (last text chunk - first text chunk) / (usage.completion_tokens - 1), probes with usage and at least 2 tokens.", TokenBuckets()),
		e2e: hist("tokenpath_probe_e2e_seconds",
			"Request sent to the end of the stream ([DONE]), completed probes.", LatencyBuckets()),
		schedDelay: hist("tokenpath_probe_schedule_delay_seconds",
			"Scheduled time of a probe to the moment its completion request was sent (model discovery included).", DelayBuckets()),
		lastSuccess: gauge("tokenpath_probe_last_success",
			"1 when the last probe's outcome was ok or no_usage, else 0."),
		lastTimestamp: gauge("tokenpath_probe_last_timestamp_seconds",
			"Unix time at which the last probe finished."),
		lastHeaders: gauge("tokenpath_probe_last_time_to_headers_seconds",
			"Time to headers of the last probe; absent when it got no response."),
		lastTTFT: gauge("tokenpath_probe_last_ttft_seconds",
			"TTFT of the last probe; absent when it did not complete."),
		lastTPOT: gauge("tokenpath_probe_last_tpot_seconds",
			"TPOT of the last probe; absent when it did not complete with usage and at least 2 tokens."),
		lastE2E: gauge("tokenpath_probe_last_e2e_seconds",
			"End-to-end latency of the last probe; absent when it did not complete."),
		lastTokens: gauge("tokenpath_probe_last_output_tokens",
			"usage.completion_tokens of the last probe; absent without usage."),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("registering the probe metrics (is a second probe manager on this registry?): %w", err)
			}
			return nil, fmt.Errorf("registering the probe metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.requests, m.skipped, m.outputTokens, m.chunks, m.timeToHeaders, m.firstChunk, m.ttft,
		m.firstVisible, m.interChunk, m.tpot, m.e2e, m.schedDelay, m.lastSuccess, m.lastTimestamp,
		m.lastHeaders, m.lastTTFT, m.lastTPOT, m.lastE2E, m.lastTokens,
	}
}

// forget deletes every series of one probe, when it is removed from the
// configuration or its model changes.
func (m *metrics) forget(lbls prometheus.Labels) {
	m.requests.DeletePartialMatch(lbls)
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.skipped, m.outputTokens, m.chunks, m.timeToHeaders, m.firstChunk, m.ttft, m.firstVisible,
		m.interChunk, m.tpot, m.e2e, m.schedDelay, m.lastSuccess, m.lastTimestamp, m.lastHeaders,
		m.lastTTFT, m.lastTPOT, m.lastE2E, m.lastTokens,
	} {
		v.DeletePartialMatch(lbls)
	}
}

// forgetLast deletes the last-value gauges of one label set.
func (m *metrics) forgetLast(lbls prometheus.Labels) {
	for _, g := range []*prometheus.GaugeVec{
		m.lastSuccess, m.lastTimestamp, m.lastHeaders, m.lastTTFT, m.lastTPOT, m.lastE2E, m.lastTokens,
	} {
		g.Delete(lbls)
	}
}
