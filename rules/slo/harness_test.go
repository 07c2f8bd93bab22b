package slo

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ritwikareddykancharla/token-path-observability/rules/internal/rulestest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newHarness evaluates the generated rule files among files — the rules
// package's token-path series (when given) first, then the probe's unified
// series and gap, then the SLOs — every interval on load (a promqltest
// `load` script). Alerts are keyed without alertname, severity and action.
func newHarness(t *testing.T, interval time.Duration, files map[string][]byte, load string) *rulestest.Harness {
	t.Helper()
	var ordered []rulestest.File
	for _, name := range []string{"token_path.rules.yml", ProbeRuleFile, SLORuleFile} {
		if content, ok := files[name]; ok {
			ordered = append(ordered, rulestest.File{Name: name, Content: content})
		}
	}
	return rulestest.New(t, rulestest.Options{
		Interval: interval, Files: ordered, Load: load, AlertKeyWithout: []string{"severity", "action"},
	})
}
