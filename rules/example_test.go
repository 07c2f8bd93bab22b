package rules_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/ritwikareddykancharla/token-path-observability/rules"
)

// ExampleDefaultRuleFiles renders the embedded rules with a lower TTFT
// warning; every other threshold keeps its default.
func ExampleDefaultRuleFiles() {
	t := rules.DefaultThresholds()
	t.TTFTWarning = 2 * time.Second
	t.HighTTFTFor = time.Minute
	files, err := rules.DefaultRuleFiles(t)
	if err != nil {
		fmt.Println(err)
		return
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Println(names)
	// Output: [alerts.rules.yml diagnosis.rules.yml gpu.rules.yml longrange.rules.yml token_path.rules.yml]
}
