package slo

import (
	"testing"
	"time"
)

// Harness exposes the rule-evaluation harness to the external tests
// (package slo_test), which may import packages that import this one.
type Harness struct{ h *harness }

// NewHarness is newHarness for external tests.
func NewHarness(t *testing.T, interval time.Duration, files map[string][]byte, load string) Harness {
	return Harness{newHarness(t, interval, files, load)}
}

// EvalUntil is harness.evalUntil.
func (h Harness) EvalUntil(until time.Duration) { h.h.evalUntil(until) }

// Series is harness.series.
func (h Harness) Series(expr string) map[string]float64 { return h.h.series(expr) }

// AlertStates is harness.alertStates.
func (h Harness) AlertStates(name string) map[string]string { return h.h.alertStates(name) }
