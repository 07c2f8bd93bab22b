package federate

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// TestFamilies covers what the differential test against Prometheus 2.42
// cannot: histograms with custom buckets (which 2.42 does not know), gauge
// histograms, nameless series and a name whose samples change kind.
func TestFamilies(t *testing.T) {
	custom := &histogram.FloatHistogram{
		Schema: histogram.CustomBucketsSchema, Count: 10, Sum: 4,
		CustomValues:    []float64{0.1, 0.5, 1},
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: 1}, {Offset: 1, Length: 2}},
		PositiveBuckets: []float64{3, 5, 2}, // bucket 0: 3, bucket 1: 0, bucket 2: 5, +Inf: 2
	}
	gauge := &histogram.FloatHistogram{Schema: 0, Count: 2, Sum: 1, CounterResetHint: histogram.GaugeType}
	points := []point{
		{series: labels.FromStrings("__name__", "a_custom", "job", "j"), t: 5, h: custom},
		{series: labels.FromStrings("__name__", "b_gauge_hist", "job", "j"), t: 6, h: gauge},
		{series: labels.FromStrings("__name__", "c_mixed", "job", "1"), t: 7, f: 1},
		{series: labels.FromStrings("__name__", "c_mixed", "job", "2"), t: 7, h: gauge},
		{series: labels.FromStrings("job", "nameless"), t: 8, f: 2},
	}
	attached := []labels.Label{{Name: "host", Value: "h1"}, {Name: "instance"}}

	for _, tc := range []struct {
		name       string
		withNative bool
		want       []string // family name and type, in order
	}{
		{"protobuf", true, []string{"a_custom HISTOGRAM", "b_gauge_hist GAUGE_HISTOGRAM", "c_mixed UNTYPED", "c_mixed GAUGE_HISTOGRAM"}},
		{"text", false, []string{"a_custom HISTOGRAM", "c_mixed UNTYPED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fams := families(points, tc.withNative, attached)
			var got []string
			for _, f := range fams {
				got = append(got, f.GetName()+" "+f.GetType().String())
			}
			require.Equal(t, tc.want, got)

			m := fams[0].GetMetric()[0]
			require.Equal(t, int64(5), m.GetTimestampMs())
			require.Equal(t, []string{"host=h1", "instance=", "job=j"}, pairs(m.GetLabel()))
			h := m.GetHistogram()
			require.InDelta(t, 10, h.GetSampleCountFloat(), 0)
			require.InDelta(t, 4, h.GetSampleSum(), 0)
			var buckets []float64
			for _, b := range h.GetBucket() {
				buckets = append(buckets, b.GetUpperBound(), b.GetCumulativeCountFloat())
			}
			require.Equal(t, []float64{0.1, 3, 0.5, 3, 1, 8}, buckets, "cumulative classic buckets; +Inf is the count")
			require.Empty(t, h.GetPositiveSpan(), "custom buckets are not written as a native histogram")
		})
	}
	t.Run("empty native histogram keeps one span", func(t *testing.T) {
		h := exponentialBuckets(gauge)
		require.Len(t, h.GetPositiveSpan(), 1)
		require.Equal(t, uint32(0), h.GetPositiveSpan()[0].GetLength())
	})
}

func pairs(ls []*dto.LabelPair) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.GetName()+"="+l.GetValue())
	}
	return out
}
