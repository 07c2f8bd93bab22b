package rules

import (
	"testing"
	"time"

	promrules "github.com/prometheus/prometheus/rules"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

// TestRuleEvaluationSurvivesClockStepBack evaluates tokenpath's default rule groups as a
// stepped clock would make the rule manager do it (Prometheus' group loop stamps each
// evaluation with time.Now): steadily to 10 minutes, once at 7 minutes (the clock stepped
// back three minutes), then on from 10 minutes. The back-stepped evaluation's samples are
// older than the ones already written and are rejected by the TSDB as out of order: the rules
// whose write was rejected (the alert's ALERTS series) report ErrOutOfOrderSample for that
// one evaluation and nothing else; the firing alert stays firing with its original start,
// and the next evaluations, once the clock has caught up, have no error.
func TestRuleEvaluationSurvivesClockStepBack(t *testing.T) {
	h := newRuleHarness(t, Thresholds{For: time.Minute}, `load 15s
  up{job="vllm",instance="a:8000"} 1x20 0x100
`)
	h.evalUntil(10 * time.Minute)
	before := h.alerts("InferenceTargetDown")
	require.Len(t, before, 1)
	a := before[`{instance="a:8000", job="vllm"}`]
	require.NotNil(t, a)
	require.Equal(t, promrules.StateFiring, a.State)
	activeAt := a.ActiveAt

	back := time.Unix(0, 0).UTC().Add(7 * time.Minute)
	outOfOrder := 0
	for _, g := range h.groups {
		g.Eval(h.ll.Context(), back)
		for _, r := range g.Rules() {
			if err := r.LastError(); err != nil {
				require.ErrorIs(t, err, promstorage.ErrOutOfOrderSample, "rule %s", r.Name())
				outOfOrder++
			}
		}
	}
	// The rejected write shows as that rule's error (health "err" in /api/v1/rules and the
	// UI) for this one evaluation.
	require.Positive(t, outOfOrder)
	after := h.alerts("InferenceTargetDown")[`{instance="a:8000", job="vllm"}`]
	require.NotNil(t, after)
	require.Equal(t, promrules.StateFiring, after.State, "the alert does not flap back to pending")
	require.Equal(t, activeAt, after.ActiveAt)

	h.evalUntil(15 * time.Minute) // fails on any rule error
	requireSeries(t, h, `ALERTS{alertname="InferenceTargetDown", alertstate="firing"}`,
		map[string]float64{`{alertname="InferenceTargetDown", alertstate="firing", instance="a:8000", job="vllm", severity="critical"}`: 1})
}
