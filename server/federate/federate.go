// Package federate serves /federate, Prometheus' federation endpoint, from
// tokenpath's TSDB. It is written from the endpoint's documented contract
// (prometheus.io "Federation", the text and protobuf exposition formats):
//
//   - every match[] parameter is a series selector; the union of the series
//     they select is exposed, each series once;
//   - each series contributes its most recent sample within the lookback
//     window (--query.lookback-delta), with that sample's timestamp, unless
//     the series has gone stale;
//   - the configuration's external labels are attached to every sample that
//     does not carry a label of that name already, and a sample without an
//     instance label gets instance="" so that the federating Prometheus does
//     not put its own target's instance there (with honor_labels: true);
//   - samples are untyped, histograms are histograms: native (exponential)
//     histograms only in the protobuf formats, since the text format cannot
//     carry them; histograms with custom buckets travel as classic buckets.
//
// The differential test in this package checks the output against a real
// Prometheus federating the same samples.
package federate

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	promstorage "github.com/prometheus/prometheus/storage"
	promtsdb "github.com/prometheus/prometheus/tsdb"
)

// DefaultLookback mirrors the default of Prometheus' --query.lookback-delta.
const DefaultLookback = 5 * time.Minute

// Options configure a Handler. Storage is required.
type Options struct {
	Storage promstorage.Queryable
	// Lookback is how old the newest sample of a series may be and still
	// be federated (default DefaultLookback).
	Lookback time.Duration
	// ExternalLabels returns the current configuration's external labels
	// (default: none).
	ExternalLabels func() labels.Labels
	Logger         *slog.Logger
	// Registerer receives the handler's error and warning counters
	// (default: not registered).
	Registerer prometheus.Registerer
	// Now is the evaluation time of a request (default time.Now).
	Now func() time.Time
}

// Handler serves /federate.
type Handler struct {
	opts     Options
	parser   parser.Parser
	errors   prometheus.Counter
	warnings prometheus.Counter
}

// New returns a handler with the options' defaults filled in.
func New(o Options) *Handler {
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
	}
	if o.ExternalLabels == nil {
		o.ExternalLabels = labels.EmptyLabels
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{
		opts:   o,
		parser: parser.NewParser(parser.Options{}),
		// The names are Prometheus' own, so dashboards and alerts written
		// for a Prometheus that federates keep working.
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_web_federation_errors_total",
			Help: "Total number of errors that occurred while sending federation responses.",
		}),
		warnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_web_federation_warnings_total",
			Help: "Total number of warnings that occurred while sending federation responses.",
		}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(h.errors, h.warnings)
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, fmt.Sprintf("error parsing form values: %v", err), http.StatusBadRequest)
		return
	}
	selectors := make([][]*labels.Matcher, 0, len(r.Form["match[]"]))
	for _, s := range r.Form["match[]"] {
		matchers, err := h.parser.ParseMetricSelector(s)
		if err != nil {
			http.Error(w, fmt.Sprintf("invalid match[] selector %q: %v", s, err), http.StatusBadRequest)
			return
		}
		selectors = append(selectors, matchers)
	}

	points, err := h.newestPoints(r, selectors)
	if err != nil {
		h.errors.Inc()
		code := http.StatusInternalServerError
		if errors.Is(err, promtsdb.ErrNotReady) {
			code = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), code)
		return
	}

	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, family := range families(points, carriesNativeHistograms(format), h.attachedLabels()) {
		if err := enc.Encode(family); err != nil {
			// The status line is gone already; all that is left is to say so.
			h.errors.Inc()
			h.opts.Logger.Error("Writing the federation response failed", "err", err)
			return
		}
	}
}

// attachedLabels are the labels every federated sample carries unless it
// has one of the same name: the external labels, and an empty instance. A
// slice, not labels.Labels, because an empty value must survive.
func (h *Handler) attachedLabels() []labels.Label {
	var attached []labels.Label
	hasInstance := false
	h.opts.ExternalLabels().Range(func(l labels.Label) {
		hasInstance = hasInstance || l.Name == "instance"
		attached = append(attached, l)
	})
	if !hasInstance {
		attached = append(attached, labels.Label{Name: "instance"})
	}
	return attached
}

// carriesNativeHistograms tells whether an exposition format can hold
// exponential native histograms: only the protobuf ones can.
func carriesNativeHistograms(f expfmt.Format) bool {
	switch f.FormatType() {
	case expfmt.TypeProtoDelim, expfmt.TypeProtoText, expfmt.TypeProtoCompact:
		return true
	default:
		return false
	}
}
