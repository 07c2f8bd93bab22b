package rules

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/rules/internal/rulestest"
)

// TestRuleScripts runs every promqltest script in testdata (*.promqltest) on the
// default rules: each script loads a server's series, and its eval commands
// hold the hand-worked values of the rules' outputs (the script's comments
// work them out).
func TestRuleScripts(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.promqltest")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			rulestest.RunScript(t, ruleOptions(t, Thresholds{}), p)
		})
	}
}
