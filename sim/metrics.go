package sim

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// builder registers metrics with the same constant labels on one registry and remembers the
// first registration errors, so that the exposition constructors stay linear.
type builder struct {
	reg    *prometheus.Registry
	labels prometheus.Labels
	errs   []error
}

func (b *builder) register(c prometheus.Collector) {
	if err := b.reg.Register(c); err != nil {
		b.errs = append(b.errs, err)
	}
}

func (b *builder) err() error {
	if len(b.errs) == 0 {
		return nil
	}
	return fmt.Errorf("registering simulator metrics: %w", errors.Join(b.errs...))
}

func (b *builder) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: b.labels})
	b.register(g)
	return g
}

func (b *builder) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: b.labels})
	b.register(c)
	return c
}

func (b *builder) hist(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets, ConstLabels: b.labels})
	b.register(h)
	return h
}

// counterVec registers a counter with one variable label and creates the given label values
// up front, the way vLLM creates one child per finish reason at start-up.
func (b *builder) counterVec(name, help, label string, values ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: b.labels}, []string{label})
	for _, v := range values {
		c.WithLabelValues(v)
	}
	b.register(c)
	return c
}

func (b *builder) gaugeVec(name, help string, labels []string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: b.labels}, labels)
	b.register(g)
	return g
}

func (b *builder) histVec(name, help, label string, buckets []float64, values ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets, ConstLabels: b.labels}, []string{label})
	for _, v := range values {
		h.WithLabelValues(v)
	}
	b.register(h)
	return h
}

// newExposition builds the exposition of engine e on reg.
func newExposition(e Engine, model string, prof profile, maxModelLen int, reg *prometheus.Registry) (exposition, error) {
	switch e {
	case EngineVLLM:
		return newVLLM(model, prof, maxModelLen, reg)
	case EngineVLLMV0:
		return newVLLMV0(model, prof, maxModelLen, reg)
	case EngineTGI:
		return newTGI(prof, maxModelLen, reg)
	case EngineSGLang:
		return newSGLang(model, prof, reg)
	case EngineLlamaCPP:
		return newLlamaCPP(reg)
	}
	return nil, fmt.Errorf("unknown engine %q", e)
}
