package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promstorage "github.com/prometheus/prometheus/storage"
	promtsdb "github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"google.golang.org/protobuf/proto"
)

// federation serves /federate. Prometheus' own handler (web/federate.go) is
// unexported and bound to its web.Handler, so this is a port of it: the last
// sample of every series matched by a match[] selector within the lookback
// window, stale markers dropped, external labels attached, classic and
// native histograms, and content negotiation between the text and protobuf
// formats (native histograms need protobuf, as in Prometheus).
type federation struct {
	logger        *slog.Logger
	storage       promstorage.Queryable
	lookbackDelta time.Duration
	parser        parser.Parser
	// externalLabels returns the current configuration's external labels.
	externalLabels func() labels.Labels
	now            func() time.Time
	errors         prometheus.Counter
	warnings       prometheus.Counter
}

func newFederation(logger *slog.Logger, q promstorage.Queryable, lookback time.Duration, external func() labels.Labels, reg prometheus.Registerer) *federation {
	f := &federation{
		logger:         logger,
		storage:        q,
		lookbackDelta:  lookback,
		parser:         parser.NewParser(parser.Options{}),
		externalLabels: external,
		now:            time.Now,
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_web_federation_errors_total",
			Help: "Total number of errors that occurred while sending federation responses.",
		}),
		warnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_web_federation_warnings_total",
			Help: "Total number of warnings that occurred while sending federation responses.",
		}),
	}
	reg.MustRegister(f.errors, f.warnings)
	return f
}

func (h *federation) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	if err := req.ParseForm(); err != nil {
		http.Error(w, fmt.Sprintf("error parsing form values: %v", err), http.StatusBadRequest)
		return
	}
	matcherSets, err := h.parser.ParseMetricSelectors(req.Form["match[]"])
	if err != nil {
		http.Error(w, fmt.Sprintf("invalid match[] selector: %v", err), http.StatusBadRequest)
		return
	}

	now := h.now()
	var (
		mint   = timestamp.FromTime(now.Add(-h.lookbackDelta))
		maxt   = timestamp.FromTime(now)
		format = expfmt.NegotiateAccept(req.Header, expfmt.NewFormat(expfmt.TypeProtoDelim), expfmt.NewFormat(expfmt.TypeProtoText), expfmt.NewFormat(expfmt.TypeProtoCompact), expfmt.NewFormat(expfmt.TypeTextPlain))
		enc    = expfmt.NewEncoder(w, format)
	)
	w.Header().Set("Content-Type", string(format))

	q, err := h.storage.Querier(mint, maxt)
	if err != nil {
		h.errors.Inc()
		if errors.Is(err, promtsdb.ErrNotReady) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer q.Close()

	vec := make(promql.Vector, 0, 1024)
	hints := &promstorage.SelectHints{Start: mint, End: maxt}
	var sets []promstorage.SeriesSet
	for _, mset := range matcherSets {
		sets = append(sets, q.Select(ctx, true, hints, mset...))
	}
	set := promstorage.NewMergeSeriesSet(sets, 0, promstorage.ChainedSeriesMerge)
	it := promstorage.NewBuffer(h.lookbackDelta.Milliseconds())
	var chkIter chunkenc.Iterator
Loop:
	for set.Next() {
		s := set.At()
		chkIter = s.Iterator(chkIter)
		it.Reset(chkIter)

		var (
			t  int64
			f  float64
			fh *histogram.FloatHistogram
		)
		switch it.Seek(maxt) {
		case chunkenc.ValFloat:
			t, f = it.At()
		case chunkenc.ValFloatHistogram, chunkenc.ValHistogram:
			t, fh = it.AtFloatHistogram(nil)
		default:
			sample, ok := it.PeekBack(1)
			if !ok {
				continue Loop
			}
			t = sample.T()
			switch sample.Type() {
			case chunkenc.ValFloat:
				f = sample.F()
			case chunkenc.ValHistogram:
				fh = sample.H().ToFloat(nil)
			case chunkenc.ValFloatHistogram:
				fh = sample.FH().Copy()
			default:
				continue Loop
			}
		}
		// The exposition formats cannot carry stale markers; drop them.
		if value.IsStaleNaN(f) || (fh != nil && value.IsStaleNaN(fh.Sum)) {
			continue
		}
		vec = append(vec, promql.Sample{Metric: s.Labels(), T: t, F: f, H: fh})
	}
	if ws := set.Warnings(); len(ws) > 0 {
		h.logger.Debug("Federation select returned warnings", "warnings", ws)
		h.warnings.Add(float64(len(ws)))
	}
	if set.Err() != nil {
		h.errors.Inc()
		http.Error(w, set.Err().Error(), http.StatusInternalServerError)
		return
	}

	slices.SortFunc(vec, func(a, b promql.Sample) int {
		return strings.Compare(a.Metric.Get(model.MetricNameLabel), b.Metric.Get(model.MetricNameLabel))
	})

	externalLabels := h.externalLabels().Map()
	if _, ok := externalLabels[model.InstanceLabel]; !ok {
		externalLabels[model.InstanceLabel] = ""
	}
	externalLabelNames := make([]string, 0, len(externalLabels))
	for ln := range externalLabels {
		externalLabelNames = append(externalLabelNames, ln)
	}
	sort.Strings(externalLabelNames)

	var (
		lastMetricName                          string
		lastWasHistogram, lastHistogramWasGauge bool
		protMetricFam                           *dto.MetricFamily
	)
	for _, s := range vec {
		isHistogram := s.H != nil
		formatType := format.FormatType()
		if isHistogram && !s.H.UsesCustomBuckets() &&
			formatType != expfmt.TypeProtoDelim && formatType != expfmt.TypeProtoText && formatType != expfmt.TypeProtoCompact {
			// A native histogram cannot be written in the text format.
			continue
		}

		nameSeen := false
		globalUsed := map[string]struct{}{}
		protMetric := &dto.Metric{}
		err := s.Metric.Validate(func(l labels.Label) error {
			if l.Value == "" {
				return nil
			}
			if l.Name == model.MetricNameLabel {
				nameSeen = true
				if l.Value == lastMetricName && lastWasHistogram == isHistogram &&
					(!isHistogram || lastHistogramWasGauge == (s.H.CounterResetHint == histogram.GaugeType)) {
					return nil
				}
				if protMetricFam != nil {
					if err := enc.Encode(protMetricFam); err != nil {
						return err
					}
				}
				protMetricFam = &dto.MetricFamily{Type: dto.MetricType_UNTYPED.Enum(), Name: proto.String(l.Value)}
				if isHistogram {
					if s.H.CounterResetHint == histogram.GaugeType {
						protMetricFam.Type = dto.MetricType_GAUGE_HISTOGRAM.Enum()
					} else {
						protMetricFam.Type = dto.MetricType_HISTOGRAM.Enum()
					}
				}
				lastMetricName = l.Value
				return nil
			}
			protMetric.Label = append(protMetric.Label, &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)})
			if _, ok := externalLabels[l.Name]; ok {
				globalUsed[l.Name] = struct{}{}
			}
			return nil
		})
		if err != nil {
			h.errors.Inc()
			h.logger.Error("Federation failed", "err", err)
			return
		}
		if !nameSeen {
			h.logger.Warn("Ignoring nameless metric during federation", "metric", s.Metric)
			continue
		}
		for _, ln := range externalLabelNames {
			if _, ok := globalUsed[ln]; !ok {
				protMetric.Label = append(protMetric.Label, &dto.LabelPair{Name: proto.String(ln), Value: proto.String(externalLabels[ln])})
			}
		}
		protMetric.TimestampMs = proto.Int64(s.T)
		if !isHistogram {
			lastHistogramWasGauge = false
			protMetric.Untyped = &dto.Untyped{Value: proto.Float64(s.F)}
		} else {
			lastHistogramWasGauge = s.H.CounterResetHint == histogram.GaugeType
			if s.H.UsesCustomBuckets() {
				protMetric.Histogram = classicHistogram(s.H)
			} else {
				protMetric.Histogram = nativeHistogram(s.H)
			}
		}
		lastWasHistogram = isHistogram
		protMetricFam.Metric = append(protMetricFam.Metric, protMetric)
	}
	if protMetricFam != nil {
		if err := enc.Encode(protMetricFam); err != nil {
			h.errors.Inc()
			h.logger.Error("Federation failed", "err", err)
		}
	}
}

// nativeHistogram writes a standard exponential-schema histogram.
func nativeHistogram(h *histogram.FloatHistogram) *dto.Histogram {
	result := &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
		Schema:           proto.Int32(h.Schema),
		ZeroThreshold:    proto.Float64(h.ZeroThreshold),
		ZeroCountFloat:   proto.Float64(h.ZeroCount),
		NegativeCount:    h.NegativeBuckets,
		PositiveCount:    h.PositiveBuckets,
	}
	result.PositiveSpan = bucketSpans(h.PositiveSpans)
	result.NegativeSpan = bucketSpans(h.NegativeSpans)
	return result
}

func bucketSpans(spans []histogram.Span) []*dto.BucketSpan {
	if len(spans) == 0 {
		return nil
	}
	out := make([]*dto.BucketSpan, len(spans))
	for i, sp := range spans {
		out[i] = &dto.BucketSpan{Offset: proto.Int32(sp.Offset), Length: proto.Uint32(sp.Length)}
	}
	return out
}

// classicHistogram writes a native histogram with custom buckets (NHCB) as
// a classic one; the +Inf bucket is implied.
func classicHistogram(h *histogram.FloatHistogram) *dto.Histogram {
	result := &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
		Bucket:           make([]*dto.Bucket, len(h.CustomValues)),
	}
	var (
		cumulative float64
		iter       = h.PositiveBucketIterator()
		available  = iter.Next()
	)
	for i, le := range h.CustomValues {
		for available && int(iter.At().Index) < i {
			available = iter.Next()
		}
		if available && int(iter.At().Index) == i {
			cumulative += iter.At().Count
		}
		result.Bucket[i] = &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCountFloat: proto.Float64(cumulative)}
	}
	return result
}
