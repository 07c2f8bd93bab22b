package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
)

// FuzzFederate feeds /federate arbitrary match[] selectors and Accept
// headers against a TSDB holding a few series. It answers 200 with an
// exposition that parses, or 400 saying why; never a server error.
func FuzzFederate(f *testing.F) {
	for _, s := range [][2]string{
		{`{__name__=~"tokenpath:.*"}`, "text/plain"},
		{`up`, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"},
		{`{job="vllm"}`, ""},
		{`{`, "text/plain"},
		{`{__name__=~".+"} or up`, "*/*"},
		{`fuzz_series{a!~"(("}`, "text/plain;version=0.0.4"},
		{"{x=\"\xff\"}", "application/openmetrics-text"},
	} {
		f.Add(s[0], s[1])
	}
	s := newTestServer(f, func(o *Options) { o.API.MaxQueryLength = 16384 })
	s.appendSeries(f, "fuzz_series", 30, time.Now().Add(-time.Minute))
	f.Fuzz(func(t *testing.T, match, accept string) {
		req := httptest.NewRequest(http.MethodGet, "/federate?"+url.Values{"match[]": {match}}.Encode(), http.NoBody)
		if accept != "" {
			req.Header["Accept"] = []string{accept}
		}
		rec := s.do(req)
		switch rec.Code {
		case http.StatusOK:
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
				return // protobuf: checked by the federation tests
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			if _, err := parser.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes())); err != nil {
				t.Fatalf("match[]=%q: the exposition does not parse: %v\n%s", match, err, rec.Body.String())
			}
		case http.StatusBadRequest:
			if rec.Body.Len() == 0 {
				t.Fatalf("match[]=%q: 400 without a reason", match)
			}
		default:
			t.Fatalf("match[]=%q, Accept %q: status %d: %s", match, accept, rec.Code, rec.Body.String())
		}
	})
}

// FuzzRemoteWrite feeds the remote-write receiver arbitrary bodies, content
// types and encodings. Every request gets a client-error or success status
// with a reason; none crashes it or answers with a server error.
func FuzzRemoteWrite(f *testing.F) {
	wr := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "pushed"}, {Name: "job", Value: "fuzz"}},
		Samples: []prompb.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}},
	}}}
	valid, err := wr.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("application/x-protobuf", "snappy", snappy.Encode(nil, valid))
	f.Add("application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy", snappy.Encode(nil, valid))
	f.Add("application/x-protobuf", "snappy", []byte("not snappy"))
	f.Add("application/json", "", []byte(`{}`))
	f.Add("", "gzip", valid)
	s := newTestServer(f, func(o *Options) { o.API.EnableRemoteWriteReceiver = true })
	ok := []int{http.StatusNoContent, http.StatusOK, http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge}
	f.Fuzz(func(t *testing.T, contentType, encoding string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
		if contentType != "" {
			req.Header["Content-Type"] = []string{contentType}
		}
		if encoding != "" {
			req.Header["Content-Encoding"] = []string{encoding}
		}
		rec := s.do(req)
		if !slices.Contains(ok, rec.Code) {
			t.Fatalf("Content-Type %q, Content-Encoding %q, %d bytes: status %d: %s", contentType, encoding, len(body), rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && rec.Body.Len() == 0 {
			t.Fatalf("status %d without a reason", rec.Code)
		}
	})
}
