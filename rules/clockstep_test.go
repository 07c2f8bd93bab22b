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
	h.EvalUntil(10 * time.Minute)
	before := h.Alerts("InferenceTargetDown")
	require.Len(t, before, 1)
	a := before[`{instance="a:8000", job="vllm"}`]
	require.NotNil(t, a)
	require.Equal(t, promrules.StateFiring, a.State)
	activeAt := a.ActiveAt

	errs := h.EvalOnceAt(7 * time.Minute)
	for _, err := range errs {
		require.ErrorIs(t, err, promstorage.ErrOutOfOrderSample)
	}
	// The rejected write shows as that rule's error (health "err" in /api/v1/rules and the
	// UI) for this one evaluation.
	require.NotEmpty(t, errs)
	after := h.Alerts("InferenceTargetDown")[`{instance="a:8000", job="vllm"}`]
	require.NotNil(t, after)
	require.Equal(t, promrules.StateFiring, after.State, "the alert does not flap back to pending")
	require.Equal(t, activeAt, after.ActiveAt)

	h.EvalUntil(15 * time.Minute) // fails on any rule error
	requireSeries(t, h, `ALERTS{alertname="InferenceTargetDown", alertstate="firing"}`,
		map[string]float64{`{alertname="InferenceTargetDown", alertstate="firing", instance="a:8000", job="vllm", severity="critical"}`: 1})
}
