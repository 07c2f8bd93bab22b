// Package export serves tokenpath's data in the seed project's exporter
// formats, for people who already run their own Prometheus and dashboards
// built on the seed's names (vllm_ttft_seconds, tgi_batch_size,
// gpu_vram_used_bytes, ...).
//
// The exporter endpoints hold no state of their own: every scrape queries
// tokenpath's TSDB (or any Prometheus) for the latest stored samples of the servers'
// own series (vllm:*, tgi_*, gpu_*) and re-exposes them under the seed's names.
// Counters and histograms stay cumulative, so rate() and histogram_quantile()
// work on the exported series as they do on the originals. README.md lists
// every name and its source.
package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
)

// Paths of the exporter endpoints served by NewHandler.
const (
	PathVLLM = "/export/vllm/metrics"
	PathTGI  = "/export/tgi/metrics"
	PathGPU  = "/export/gpu/metrics"
)

// Options configure NewHandler.
type Options struct {
	// Logger receives query failures; nil discards them. The caller names
	// the component (logger.With("component", "export")); each endpoint adds
	// its exporter's name.
	Logger *slog.Logger
	// Querier answers the PromQL queries: StorageQuerier over tokenpath's
	// own TSDB, or APIQuerier for any Prometheus that stores the same series.
	Querier Querier
	// Timeout bounds the queries of one scrape (default 10s); the scraper's
	// own timeout, when shorter, wins through the request context.
	Timeout time.Duration
}

// NewHandler returns the exporter endpoints PathVLLM, PathTGI and PathGPU.
// Mount it at /export/ without stripping the prefix. A scrape whose queries
// fail answers 500, so the scraping Prometheus records up=0 rather than
// partial data.
func NewHandler(o Options) (http.Handler, error) {
	if o.Querier == nil {
		return nil, errors.New("export: Options.Querier is required")
	}
	// The logger is defaulted first: everything below may log.
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	mux := http.NewServeMux()
	for _, e := range exporters() {
		if err := e.validate(); err != nil {
			return nil, err
		}
		h := &exporterHandler{querier: o.Querier, timeout: o.Timeout, exp: e, logger: o.Logger.With("exporter", e.name)}
		mux.Handle("GET "+e.path, h)
	}
	return mux, nil
}

// exporter is one endpoint: a list of families.
type exporter struct {
	name     string
	path     string
	families []family
}

func exporters() []exporter {
	return []exporter{
		{name: "vllm", path: PathVLLM, families: vllmFamilies()},
		{name: "tgi", path: PathTGI, families: tgiFamilies()},
		{name: "gpu", path: PathGPU, families: gpuSeriesFamilies()},
	}
}

// kind is the exposition type of a family.
type kind int

const (
	kindGauge kind = iota
	kindCounter
	kindHistogram
)

func (k kind) String() string {
	switch k {
	case kindCounter:
		return "counter"
	case kindHistogram:
		return "histogram"
	default:
		return "gauge"
	}
}

// label maps an exported label onto the label of the query result that
// carries its value.
type label struct {
	Name   string // Exported name, e.g. "model".
	Source string // Label in the query result, e.g. "model_name".
}

// family is one exported metric. Counters and gauges read Expr; histograms
// read Buckets (with `le`), Sum and Count. Every query must return at most one
// series per combination of the Source labels (they aggregate with sum by or
// max by over exactly those labels), so the exported series are unique.
type family struct {
	Name   string
	Help   string
	Kind   kind
	Labels []label
	// Source says in words where the values come from (README.md repeats it).
	Source string

	Expr                string // Counter and gauge.
	Buckets, Sum, Count string // Histogram.
}

// validate catches table mistakes at start-up rather than at the first scrape.
func (e exporter) validate() error {
	seen := map[string]bool{}
	for _, f := range e.families {
		if seen[f.Name] {
			return fmt.Errorf("export %s: family %s defined twice", e.name, f.Name)
		}
		seen[f.Name] = true
		if !model.UTF8Validation.IsValidMetricName(f.Name) || f.Help == "" || len(f.Labels) == 0 {
			return fmt.Errorf("export %s: family %q needs a valid name, help and labels", e.name, f.Name)
		}
		if (f.Kind == kindHistogram) != (f.Expr == "") {
			return fmt.Errorf("export %s: family %s: histograms use Buckets/Sum/Count, others Expr", e.name, f.Name)
		}
	}
	return nil
}

type exporterHandler struct {
	querier Querier
	timeout time.Duration
	exp     exporter
	logger  *slog.Logger
}

// ServeHTTP answers one scrape from a registry built for it: the collector
// needs the request's context, which a long-lived registry cannot pass to
// Collect.
func (h *exporterHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	reg := prometheus.NewPedanticRegistry()
	c := &collector{ctx: ctx, querier: h.querier, families: h.exp.families, at: time.Now(), logger: h.logger}
	if err := reg.Register(c); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slogErrorLog{h.logger},
		ErrorHandling: promhttp.HTTPErrorOnError,
	}).ServeHTTP(w, r)
}

// slogErrorLog adapts slog to promhttp's ErrorLog.
type slogErrorLog struct{ l *slog.Logger }

func (s slogErrorLog) Println(v ...any) {
	s.l.Error("Serving exported metrics failed", "err", fmt.Sprint(v...))
}

// collector queries every family once per scrape, all at the same time stamp
// so that the exported series describe one instant.
type collector struct {
	ctx      context.Context
	querier  Querier
	families []family
	at       time.Time
	logger   *slog.Logger
}

// Describe sends nothing: the label values are only known after the
// queries, which makes this an unchecked collector.
func (*collector) Describe(chan<- *prometheus.Desc) {}

// Collect runs the queries and sends one constant metric per result series.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.families {
		if err := c.collect(f, ch); err != nil {
			c.logger.Error("Querying an exported family failed", "family", f.Name, "err", err)
			ch <- prometheus.NewInvalidMetric(prometheus.NewDesc(f.Name, f.Help, nil, nil), err)
		}
	}
}

func (c *collector) query(expr string) (model.Vector, error) {
	return c.querier.Query(c.ctx, expr, c.at)
}

func labelNames(f family) []string {
	out := make([]string, len(f.Labels))
	for i, l := range f.Labels {
		out[i] = l.Name
	}
	return out
}

func labelValues(f family, m model.Metric) []string {
	out := make([]string, len(f.Labels))
	for i, l := range f.Labels {
		out[i] = string(m[model.LabelName(l.Source)])
	}
	return out
}

// key identifies a result series by the values of the family's labels.
func key(vals []string) string { return fmt.Sprintf("%q", vals) }

func (c *collector) collect(f family, ch chan<- prometheus.Metric) error {
	desc := prometheus.NewDesc(f.Name, f.Help, labelNames(f), nil)
	if f.Kind != kindHistogram {
		vec, err := c.query(f.Expr)
		if err != nil {
			return err
		}
		vt := prometheus.GaugeValue
		if f.Kind == kindCounter {
			vt = prometheus.CounterValue
		}
		for _, s := range vec {
			m, err := prometheus.NewConstMetric(desc, vt, float64(s.Value), labelValues(f, s.Metric)...)
			if err != nil {
				return fmt.Errorf("family %s: %w", f.Name, err)
			}
			ch <- m
		}
		return nil
	}
	return c.collectHistogram(f, desc, ch)
}

type histo struct {
	vals    []string
	buckets map[float64]uint64
	sum     float64
	count   uint64
	hasSum  bool
}

// collectHistogram rebuilds classic histograms from the latest stored
// _bucket, _sum and _count samples, keeping the server's own bucket bounds.
func (c *collector) collectHistogram(f family, desc *prometheus.Desc, ch chan<- prometheus.Metric) error {
	buckets, err := c.query(f.Buckets)
	if err != nil {
		return err
	}
	sums, err := c.query(f.Sum)
	if err != nil {
		return err
	}
	counts, err := c.query(f.Count)
	if err != nil {
		return err
	}
	hs := map[string]*histo{}
	get := func(m model.Metric) *histo {
		vals := labelValues(f, m)
		k := key(vals)
		if hs[k] == nil {
			hs[k] = &histo{vals: vals, buckets: map[float64]uint64{}}
		}
		return hs[k]
	}
	for _, s := range counts {
		get(s.Metric).count = toCount(s.Value)
	}
	for _, s := range sums {
		h := get(s.Metric)
		h.sum, h.hasSum = float64(s.Value), true
	}
	for _, s := range buckets {
		le, err := strconv.ParseFloat(string(s.Metric[model.BucketLabel]), 64)
		if err != nil {
			return fmt.Errorf("family %s: bucket bound %q: %w", f.Name, s.Metric[model.BucketLabel], err)
		}
		// +Inf is the count, which the exposition writes itself.
		if math.IsInf(le, +1) {
			continue
		}
		get(s.Metric).buckets[le] = toCount(s.Value)
	}
	for _, k := range slices.Sorted(maps.Keys(hs)) {
		h := hs[k]
		// A histogram seen half-way (a scrape that landed between the
		// _count and the _bucket samples of a new series) is left for the
		// next scrape rather than exposed with made-up parts.
		if !h.hasSum || len(h.buckets) == 0 {
			continue
		}
		m, err := prometheus.NewConstHistogram(desc, h.count, h.sum, h.buckets, h.vals...)
		if err != nil {
			return fmt.Errorf("family %s: %w", f.Name, err)
		}
		ch <- m
	}
	return nil
}

// toCount turns a stored observation count into the integer the classic
// exposition needs; sums over engines stay integral, so rounding only
// removes float noise.
func toCount(v model.SampleValue) uint64 {
	f := float64(v)
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	return uint64(math.Round(f))
}
