package federate

import (
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/proto"
)

// families turns points, ordered by name, into exposition metric families:
// floats are untyped, histograms histograms (gauge histograms when their
// counter-reset hint says gauge). A run of one name and one type is one
// family. Exponential histograms are left out when the format cannot carry
// them (withNative false); histograms with custom buckets become classic
// histograms, which every format can carry.
func families(points []point, withNative bool, attached []labels.Label) []*dto.MetricFamily {
	var (
		out     []*dto.MetricFamily
		current *dto.MetricFamily
	)
	for _, p := range points {
		name := p.name()
		if name == "" {
			continue // The exposition formats cannot hold a nameless sample.
		}
		if p.h != nil && !p.h.UsesCustomBuckets() && !withNative {
			continue
		}
		kind := familyType(p)
		if current == nil || current.GetName() != name || current.GetType() != kind {
			current = &dto.MetricFamily{Name: proto.String(name), Type: kind.Enum()}
			out = append(out, current)
		}
		current.Metric = append(current.Metric, metric(p, attached))
	}
	return out
}

func familyType(p point) dto.MetricType {
	switch {
	case p.h == nil:
		return dto.MetricType_UNTYPED
	case p.h.CounterResetHint == histogram.GaugeType:
		return dto.MetricType_GAUGE_HISTOGRAM
	default:
		return dto.MetricType_HISTOGRAM
	}
}

// metric is one sample with its labels: the series' own (but the name and
// empty ones) and each attached label the series does not have, by name.
func metric(p point, attached []labels.Label) *dto.Metric {
	m := &dto.Metric{TimestampMs: proto.Int64(p.t)}
	p.series.Range(func(l labels.Label) {
		if l.Name != model.MetricNameLabel && l.Value != "" {
			m.Label = append(m.Label, labelPair(l.Name, l.Value))
		}
	})
	for _, l := range attached {
		if !p.series.Has(l.Name) {
			m.Label = append(m.Label, labelPair(l.Name, l.Value))
		}
	}
	slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })

	switch {
	case p.h == nil:
		m.Untyped = &dto.Untyped{Value: proto.Float64(p.f)}
	case p.h.UsesCustomBuckets():
		m.Histogram = classicBuckets(p.h)
	default:
		m.Histogram = exponentialBuckets(p.h)
	}
	return m
}

func labelPair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: proto.String(name), Value: proto.String(value)}
}

// exponentialBuckets writes a native histogram with its float counts.
func exponentialBuckets(h *histogram.FloatHistogram) *dto.Histogram {
	d := &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
		Schema:           proto.Int32(h.Schema),
		ZeroThreshold:    proto.Float64(h.ZeroThreshold),
		ZeroCountFloat:   proto.Float64(h.ZeroCount),
		PositiveSpan:     spans(h.PositiveSpans),
		PositiveCount:    slices.Clone(h.PositiveBuckets),
		NegativeSpan:     spans(h.NegativeSpans),
		NegativeCount:    slices.Clone(h.NegativeBuckets),
	}
	if len(d.PositiveSpan) == 0 && len(d.NegativeSpan) == 0 {
		// A native histogram without observations still needs one (empty)
		// span, or a reader takes it for a classic histogram.
		d.PositiveSpan = []*dto.BucketSpan{{Offset: proto.Int32(0), Length: proto.Uint32(0)}}
	}
	return d
}

func spans(in []histogram.Span) []*dto.BucketSpan {
	out := make([]*dto.BucketSpan, 0, len(in))
	for _, s := range in {
		out = append(out, &dto.BucketSpan{Offset: proto.Int32(s.Offset), Length: proto.Uint32(s.Length)})
	}
	return out
}

// classicBuckets writes a histogram with custom bucket bounds as classic
// cumulative buckets, one per bound; the +Inf bucket is the sample count.
func classicBuckets(h *histogram.FloatHistogram) *dto.Histogram {
	perBucket := make([]float64, len(h.CustomValues))
	for it := h.PositiveBucketIterator(); it.Next(); {
		if b := it.At(); int(b.Index) < len(perBucket) {
			perBucket[b.Index] += b.Count
		}
	}
	d := &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
		Bucket:           make([]*dto.Bucket, len(h.CustomValues)),
	}
	var cumulative float64
	for i, upper := range h.CustomValues {
		cumulative += perBucket[i]
		d.Bucket[i] = &dto.Bucket{UpperBound: proto.Float64(upper), CumulativeCountFloat: proto.Float64(cumulative)}
	}
	return d
}
