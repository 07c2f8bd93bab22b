package slo

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/rules/cause"
)

// diagnosisOf is the diagnosis rules' output for the vLLM row at
// 127.0.0.1:8000 (the state set and its numbers), loaded as the rules
// package records it, so that the burn alerts' annotations read hand-set
// values.
func diagnosisOf(causeNow string, steps int) string {
	l := `server="vllm", model="m", instance="127.0.0.1:8000", job="vllm"`
	var b strings.Builder
	for _, c := range []string{"engine_restart", "queue_saturation", "none"} {
		v := 0
		if c == causeNow {
			v = 1
		}
		fmt.Fprintf(&b, "  tokenpath:diagnosis{%s, cause=%q} %dx%d\n", l, c, v, steps)
	}
	fmt.Fprintf(&b, "  tokenpath:diagnosis_tail:ratio{%s} 2.4x%d\n", l, steps)
	fmt.Fprintf(&b, "  tokenpath:diagnosis_queue_share:ratio{%s} 0.8x%d\n", l, steps)
	fmt.Fprintf(&b, "  tokenpath:requests_waiting{%s} 40x%d\n", l, steps)
	// Another host's row at the same address is not this alert's.
	fmt.Fprintf(&b, "  tokenpath:diagnosis{%s, host=\"other\", cause=\"engine_restart\"} 1x%d\n", l, steps)
	return b.String()
}

// TestBurnAlertsCarryTheDiagnosis: the page of a server's own TTFT SLO and
// of the probes' quote the diagnosis of the server row (the probes' by the
// probed instance and model) and link its README section; without a
// diagnosis they say so and link the section's index.
func TestBurnAlertsCarryTheDiagnosis(t *testing.T) {
	t.Parallel()
	const steps = 40
	les := []string{"1", "5", "10", "+Inf"}
	const diagnosed = "queue_saturation: the tail is 2.4× its objective, queue 80% of the TTFT, 40 waiting"
	cases := []struct {
		name      string
		obj       Objective
		load      string
		key       string
		diagnosis string
		runbook   string
	}{
		{
			name: "server source",
			obj:  Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceServer},
			load: serverTTFT("vllm", "m", steps, []string{"2.5", "5", "7.5", "+Inf"}, []float64{0.7, 0.8, 0.9, 1}, 3) +
				diagnosisOf("queue_saturation", steps),
			key:       `{indicator="ttft", instance="127.0.0.1:8000", model="m", server="vllm", slo="server-ttft-5s", source="server"}`,
			diagnosis: diagnosed,
			runbook:   cause.RunbookBase + "queue_saturation",
		},
		{
			name:      "probe source: the probed server's row",
			obj:       Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe},
			load:      probeSeries("m", steps, 80, 20, les, []float64{70, 80, 80, 80}, 64) + diagnosisOf("queue_saturation", steps),
			key:       `{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`,
			diagnosis: diagnosed,
			runbook:   cause.RunbookBase + "queue_saturation",
		},
		{
			name:      "no diagnosis rules: not diagnosed yet",
			obj:       Objective{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe},
			load:      probeSeries("m", steps, 80, 20, les, []float64{70, 80, 80, 80}, 64),
			key:       `{indicator="ttft", instance="127.0.0.1:8000", model="m", server="probe", slo="probe-ttft-5s", source="probe"}`,
			diagnosis: "not diagnosed yet",
			runbook:   cause.RunbookBase + "diagnosis-what-to-do",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files, _, err := RuleFiles([]Objective{tc.obj}, nil)
			require.NoError(t, err)
			h := newHarness(t, time.Minute, files, "load 1m\n"+tc.load)
			h.EvalUntil(30 * time.Minute)
			for _, alert := range []string{AlertFastBurn, AlertSlowBurn} {
				require.Equal(t, map[string]string{tc.key: "firing"}, h.AlertStates(alert), alert)
				require.Equal(t, map[string]string{tc.key: tc.diagnosis}, h.AlertAnnotation(alert, "diagnosis"), alert)
				require.Equal(t, map[string]string{tc.key: tc.runbook}, h.AlertAnnotation(alert, "runbook_url"), alert)
			}
		})
	}
}
