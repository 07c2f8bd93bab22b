package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/config"
	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestFederateMatchesPrometheus is the differential test of /federate: the
// same samples are remote-written into tokenpath's server and into Debian's
// Prometheus, and both federate them. Parsed, the two answers must hold the
// same families, types, labels, values and timestamps, in the text format
// and in protobuf (which also carries native histograms), for single,
// overlapping and empty selections.
func TestFederateMatchesPrometheus(t *testing.T) {
	prom := testbin.StartPrometheus(t, testbin.PrometheusOptions{
		Config: "global:\n  external_labels:\n    site: edge-1\n",
		Args:   []string{"--web.enable-remote-write-receiver", "--enable-feature=native-histograms"},
	})
	s := newTestServer(t, func(o *Options) { o.API.EnableRemoteWriteReceiver = true })
	cfg := promconfig.DefaultConfig
	cfg.GlobalConfig.ExternalLabels = labels.FromStrings("site", "edge-1")
	s.ApplyConfig(&config.Config{Prometheus: &cfg}, true)

	body := federationSamples(t, time.Now())
	for _, target := range []struct {
		name  string
		write func(*http.Request) (int, string)
		url   string
	}{
		{"tokenpath", func(r *http.Request) (int, string) { rec := s.do(r); return rec.Code, rec.Body.String() }, "http://tokenpath"},
		{"prometheus", doRemote, prom.URL()},
	} {
		req := httptest.NewRequest(http.MethodPost, target.url+"/api/v1/write", bytes.NewReader(body))
		req.RequestURI = ""
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		code, msg := target.write(req)
		require.Equal(t, http.StatusNoContent, code, "remote write into %s: %s", target.name, msg)
	}

	selections := map[string][]string{
		"every test series":     {`{__name__=~"fed_.*"}`},
		"overlapping selectors": {`fed_requests_total`, `{job="a",__name__=~"fed_.*"}`},
		"nothing matches":       {`fed_does_not_exist`},
	}
	formats := map[string]expfmt.Format{
		"text":     expfmt.NewFormat(expfmt.TypeTextPlain),
		"protobuf": expfmt.NewFormat(expfmt.TypeProtoDelim),
	}
	for selName, selectors := range selections {
		for formatName, format := range formats {
			t.Run(selName+"/"+formatName, func(t *testing.T) {
				q := url.Values{"match[]": selectors}.Encode()
				ours := readFamilies(t, format, func(r *http.Request) *http.Response {
					return s.do(r).Result()
				}, "/federate?"+q)
				theirs := readFamilies(t, format, func(r *http.Request) *http.Response {
					resp, err := http.DefaultClient.Do(r)
					require.NoError(t, err)
					return resp
				}, prom.URL()+"/federate?"+q)
				require.Equal(t, theirs, ours, "tokenpath's /federate differs from Prometheus' for %v", selectors)
				if selName == "every test series" {
					// Guard against two empty answers agreeing.
					hasLine := func(prefix string) bool {
						return slices.ContainsFunc(ours, func(l string) bool { return strings.HasPrefix(l, prefix) })
					}
					require.True(t, hasLine(`fed_requests_total{instance="x:1",job="a",site="edge-1"} untyped 12 @`), "newest sample of a counter: %v", ours)
					require.True(t, hasLine(`fed_requests_total{instance="",job="b",site="edge-1"} untyped 3 @`), "empty instance attached: %v", ours)
					require.True(t, hasLine(`fed_temperature_celsius{instance="x:1",job="a",site="own"} untyped 21.5 @`), "the series' own label wins over the external one: %v", ours)
					require.NotContains(t, strings.Join(ours, "\n"), "fed_gone", "a stale series is not federated")
					require.NotContains(t, strings.Join(ours, "\n"), "fed_old", "a series older than the lookback is not federated")
					if formatName == "protobuf" {
						require.True(t, hasLine(`fed_native_seconds{instance="",job="a",site="edge-1"} histogram count=6 sum=3.25 schema=1 zero<=0.001:1 +[-2]=2 +[-1]=1 +[1]=2 @`), "native histogram in protobuf: %v", ours)
					} else {
						require.False(t, hasLine("fed_native_seconds"), "the text format cannot carry a native histogram")
					}
				}
			})
		}
	}
}

func doRemote(r *http.Request) (int, string) {
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// federationSamples is one remote-write request covering what federation
// must handle: counters with and without an instance label, a series whose
// own label shadows an external one, a series that went stale, one older
// than the lookback, a classic histogram and a native one.
func federationSamples(t *testing.T, now time.Time) []byte {
	t.Helper()
	ms := func(ago time.Duration) int64 { return now.Add(-ago).UnixMilli() }
	series := func(name string, kv ...string) []prompb.Label {
		ls := []prompb.Label{{Name: "__name__", Value: name}}
		for i := 0; i+1 < len(kv); i += 2 {
			ls = append(ls, prompb.Label{Name: kv[i], Value: kv[i+1]})
		}
		sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
		return ls
	}
	floats := func(ls []prompb.Label, pairs ...float64) prompb.TimeSeries {
		ts := prompb.TimeSeries{Labels: ls}
		for i := 0; i+1 < len(pairs); i += 2 {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: ms(time.Duration(pairs[i]) * time.Second), Value: pairs[i+1]})
		}
		return ts
	}
	stale := math.Float64frombits(value.StaleNaN)
	native := &histogram.Histogram{
		Count: 6, Sum: 3.25, Schema: 1, ZeroThreshold: 0.001, ZeroCount: 1,
		PositiveSpans:   []histogram.Span{{Offset: -2, Length: 2}, {Offset: 1, Length: 1}},
		PositiveBuckets: []int64{2, -1, 1}, // absolute 2, 1, 2
	}
	wr := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		floats(series("fed_requests_total", "job", "a", "instance", "x:1"), 90, 10, 30, 12),
		floats(series("fed_requests_total", "job", "b"), 20, 3),
		floats(series("fed_temperature_celsius", "job", "a", "instance", "x:1", "site", "own"), 15, 21.5),
		floats(series("fed_gone", "job", "a"), 60, 1, 30, stale),
		floats(series("fed_old", "job", "a"), 600, 7),
		floats(series("fed_latency_seconds_bucket", "job", "a", "le", "0.1"), 10, 4),
		floats(series("fed_latency_seconds_bucket", "job", "a", "le", "1"), 10, 9),
		floats(series("fed_latency_seconds_bucket", "job", "a", "le", "+Inf"), 10, 10),
		floats(series("fed_latency_seconds_sum", "job", "a"), 10, 3.5),
		floats(series("fed_latency_seconds_count", "job", "a"), 10, 10),
		{Labels: series("fed_native_seconds", "job", "a"), Histograms: []prompb.Histogram{prompb.FromIntHistogram(ms(5*time.Second), native)}},
	}}
	raw, err := wr.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, raw)
}

// readFamilies GETs a federation URL in one format and flattens the answer
// into sorted lines "name{labels} type value @timestamp", histograms with
// their count, sum and buckets, so two answers compare as text.
func readFamilies(t *testing.T, format expfmt.Format, do func(*http.Request) *http.Response, target string) []string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, http.NoBody)
	if strings.HasPrefix(target, "http") {
		req.RequestURI = ""
	}
	req.Header.Set("Accept", string(format))
	resp := do(req)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", target, raw)

	var fams []*dto.MetricFamily
	if format.FormatType() == expfmt.TypeTextPlain {
		parser := expfmt.NewTextParser(model.UTF8Validation)
		byName, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
		require.NoError(t, err, "%s:\n%s", target, raw)
		for _, mf := range byName {
			fams = append(fams, mf)
		}
	} else {
		dec := expfmt.NewDecoder(bytes.NewReader(raw), format)
		for {
			mf := &dto.MetricFamily{}
			err := dec.Decode(mf)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, target)
			fams = append(fams, mf)
		}
	}
	lines := []string{}
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			lines = append(lines, flatten(mf, m))
		}
	}
	sort.Strings(lines)
	return lines
}

func flatten(mf *dto.MetricFamily, m *dto.Metric) string {
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(pairs)
	head := fmt.Sprintf("%s{%s} %s", mf.GetName(), strings.Join(pairs, ","), strings.ToLower(mf.GetType().String()))
	switch mf.GetType() {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return fmt.Sprintf("%s %s @%d", head, histogramText(m.GetHistogram()), m.GetTimestampMs())
	case dto.MetricType_COUNTER:
		return fmt.Sprintf("%s %g @%d", head, m.GetCounter().GetValue(), m.GetTimestampMs())
	case dto.MetricType_GAUGE:
		return fmt.Sprintf("%s %g @%d", head, m.GetGauge().GetValue(), m.GetTimestampMs())
	default:
		return fmt.Sprintf("%s %g @%d", head, m.GetUntyped().GetValue(), m.GetTimestampMs())
	}
}

// histogramText writes a histogram's meaning whatever its encoding (integer
// deltas or float counts): count, sum, classic buckets, and for native ones
// the schema, zero bucket and absolute count of every populated bucket.
func histogramText(h *dto.Histogram) string {
	var b strings.Builder
	count := h.GetSampleCountFloat()
	if count == 0 {
		count = float64(h.GetSampleCount())
	}
	fmt.Fprintf(&b, "count=%g sum=%g", count, h.GetSampleSum())
	for _, bk := range h.GetBucket() {
		c := bk.GetCumulativeCountFloat()
		if c == 0 {
			c = float64(bk.GetCumulativeCount())
		}
		fmt.Fprintf(&b, " le%g=%g", bk.GetUpperBound(), c)
	}
	if len(h.GetPositiveSpan())+len(h.GetNegativeSpan()) == 0 {
		return b.String()
	}
	zero := h.GetZeroCountFloat()
	if zero == 0 {
		zero = float64(h.GetZeroCount())
	}
	fmt.Fprintf(&b, " schema=%d zero<=%g:%g", h.GetSchema(), h.GetZeroThreshold(), zero)
	for _, side := range []struct {
		sign   string
		spans  []*dto.BucketSpan
		floats []float64
		deltas []int64
	}{{"+", h.GetPositiveSpan(), h.GetPositiveCount(), h.GetPositiveDelta()}, {"-", h.GetNegativeSpan(), h.GetNegativeCount(), h.GetNegativeDelta()}} {
		idx, i, running := int32(0), 0, int64(0)
		for _, sp := range side.spans {
			idx += sp.GetOffset()
			for range sp.GetLength() {
				c := 0.0
				if side.floats != nil {
					c = side.floats[i]
				} else {
					running += side.deltas[i]
					c = float64(running)
				}
				if c != 0 {
					fmt.Fprintf(&b, " %s[%d]=%g", side.sign, idx, c)
				}
				idx++
				i++
			}
		}
	}
	return b.String()
}
