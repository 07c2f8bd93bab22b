package slo

import (
	"testing"
	"time"

	"github.com/ritwikareddykancharla/token-path-observability/rules/internal/rulestest"
)

// NewHarness is newHarness for the external tests (package slo_test), which
// may import packages that import this one.
func NewHarness(t *testing.T, interval time.Duration, files map[string][]byte, load string) *rulestest.Harness {
	return newHarness(t, interval, files, load)
}
