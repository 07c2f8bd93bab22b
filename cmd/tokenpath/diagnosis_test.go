package main_test

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// TestDiagnosisScenarios runs, for each simulator scenario, a `tokenpath
// simulate --scenario X` scraped and probed by its own tokenpath (the
// scenarios in parallel, so the whole test takes about as long as the
// slowest), and checks that the embedded rules diagnose the cause the
// scenario was built for — tokenpath:diagnosis{cause="X"} 1 — and no other,
// for several evaluations in a row. The GPU-bound scenarios need GPUs that do
// the simulator's work: they run `tokenpath --demo --demo.scenario=X`, whose
// simulated H100s report its vLLM and TGI servers' decode/prefill split as GPM
// activity, and both rows must show the cause.
func TestDiagnosisScenarios(t *testing.T) {
	cases := []struct {
		scenario string
		cause    string
		// within is how long the cause may take: a 1m rate window must fill,
		// the restart scenario restarts after 2 minutes.
		within time.Duration
		// alert, when set, must reach a real Alertmanager carrying the cause.
		alert string
		// demo runs the scenario in --demo (two servers and the simulated GPUs).
		demo bool
	}{
		{"steady", "none", 90 * time.Second, "", false},
		{"queue_saturation", "queue_saturation", 150 * time.Second, "HighTTFT", false},
		{"kv_cache_pressure", "kv_cache_pressure", 150 * time.Second, "", false},
		{"prefill_interference", "prefill_interference", 150 * time.Second, "", false},
		{"front_of_engine", "front_of_engine", 150 * time.Second, "", false},
		{"engine_restart", "engine_restart", 190 * time.Second, "", false},
		{"memory_bandwidth_bound", "memory_bandwidth_bound", 150 * time.Second, "", true},
		{"compute_bound", "compute_bound", 150 * time.Second, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			alerting, args := "", []string{}
			sim, rows, scrape := "", 1, ""
			if tc.demo {
				rows = 2
				args = append(args, "--demo", "--demo.scenario="+tc.scenario, "--demo.backfill=0", "--no-probe.enable")
			} else {
				sim = startSimulator(t, "--scenario="+tc.scenario)
				scrape = fmt.Sprintf(`scrape_configs:
- job_name: vllm
  static_configs:
  - targets: [%[1]q]
tokenpath:
  probes:
  - {endpoint: "http://%[1]s", max_tokens: 8, interval: 5s, timeout: 5s}
`, sim)
			}
			var am *alertmanager
			if tc.alert != "" {
				am = startAlertmanager(t)
				alerting = fmt.Sprintf("alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: [%q]\n", am.Addr())
				// The alert fires once the diagnosis has held a few evaluations.
				args = append(args, "--alert.for=5s")
			}
			cfg := writeFile(t, t.TempDir(), "tokenpath.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
%[2]s%[1]s`, scrape, alerting))
			p := start(t, procOpts{args: append([]string{"--config.file=" + cfg}, args...), keepRules: true})
			api := p.api()

			// The cause holds, alone, for a dozen checks in a row (about 3 s: three
			// rule evaluations).
			held := 0
			waitFor(t, tc.within, fmt.Sprintf("tokenpath:diagnosis{cause=%q} alone", tc.cause), func() (bool, string) {
				vec := instant(t, api, `tokenpath:diagnosis == 1`, time.Now())
				var causes []string
				for _, s := range vec {
					causes = append(causes, string(s.Metric["cause"]))
				}
				sort.Strings(causes)
				alone := len(vec) == rows
				for _, s := range vec {
					alone = alone && s.Metric["cause"] == model.LabelValue(tc.cause) &&
						(tc.demo || s.Metric["instance"] == model.LabelValue(sim))
				}
				if alone {
					held++
				} else {
					held = 0
				}
				numbers := instant(t, api, `{__name__=~"tokenpath:diagnosis_.+:(ratio|seconds)"} or tokenpath:gpu_state == 1`, time.Now())
				return held >= 12, fmt.Sprintf("causes %v; %s", causes, numbers)
			})
			// The token-path page shows the cause first on the server's row.
			waitFor(t, 10*time.Second, "the row's diagnosis on the token-path page", func() (bool, string) {
				status, body := p.get("/", nil)
				if status != http.StatusOK {
					return false, strconv.Itoa(status)
				}
				doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
				require.NoError(t, err)
				row := `[data-testid="server-row"]`
				if !tc.demo {
					row += `[data-key$="/` + sim + `"]`
				}
				d := doc.Find(row + ` [data-testid="row-diagnosis"]`)
				ok := d.Length() == rows
				d.Each(func(_ int, s *goquery.Selection) { ok = ok && s.AttrOr("data-cause", "") == tc.cause })
				return ok, d.Text()
			})
			// Every other cause of the row is recorded as 0.
			others := instant(t, api, fmt.Sprintf(`tokenpath:diagnosis{cause!=%q}`, tc.cause), time.Now())
			require.Len(t, others, 8*rows, "%s", others)
			for _, s := range others {
				require.Zero(t, float64(s.Value), "%s", s)
			}
			if tc.alert == "" {
				return
			}
			// The alert that reaches Alertmanager carries the cause, its numbers
			// and the README section on what to do.
			var received []amAlert
			waitFor(t, 90*time.Second, "Alertmanager to receive "+tc.alert+" with the diagnosis", func() (bool, string) {
				received = am.alerts(t, tc.alert)
				for _, a := range received {
					if a.Labels["instance"] == sim && strings.HasPrefix(a.Annotations["diagnosis"], tc.cause+": the tail is ") {
						return true, ""
					}
				}
				return false, fmt.Sprint(received)
			})
			for _, a := range received {
				if a.Labels["instance"] == sim {
					require.Contains(t, a.Annotations["diagnosis"], "of the TTFT")
					require.Equal(t, "https://github.com/ritwikareddykancharla/token-path-observability/blob/main/README.md#"+tc.cause, a.Annotations["runbook_url"])
				}
			}
		})
	}
}
