package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// gapAlert is rules/slo's AlertClientServerGap.
const gapAlert = "TokenPathClientServerGap"

// amAlert is an alert as Alertmanager's v2 API returns it.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// alerts returns the active alerts of that name Alertmanager has received.
func (am *alertmanager) alerts(t *testing.T, name string) []amAlert {
	t.Helper()
	q := url.Values{"filter": {fmt.Sprintf("alertname=%q", name)}}
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, am.URL()+"/api/v2/alerts?"+q.Encode(), http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []amAlert
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	return out
}

// TestReplicasKeepTheirOwnProbes runs two simulated vLLM servers serving the
// same model, one behind a 1.5 s front delay (a slow proxy) under double
// load, scraped and probed by one tokenpath. Each token-path row shows the
// probe numbers of its own server (the recorded probe series of its
// instance, whose raw per-target probe metrics put the slow one above the
// front delay and the fast one under it), and the client-server gap and
// the probe SLO series are per instance; the gap alert that reaches a real
// Alertmanager names the slow replica only.
func TestReplicasKeepTheirOwnProbes(t *testing.T) {
	const frontDelay = 1500 * time.Millisecond
	am := startAlertmanager(t)
	fast := startSimulator(t)
	slow := startSimulator(t, "--load=2", "--front-delay="+frontDelay.String())
	dir := t.TempDir()
	cfg := writeFile(t, dir, "tokenpath.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
alerting:
  alertmanagers:
  - static_configs:
    - targets: [%[3]q]
scrape_configs:
- job_name: vllm
  static_configs:
  - targets: [%[1]q, %[2]q]
tokenpath:
  probes:
  - {endpoint: "http://%[1]s", max_tokens: 8, interval: 3s, timeout: 3s}
  - {endpoint: "http://%[2]s", max_tokens: 8, interval: 3s, timeout: 3s}
`, fast, slow, am.Addr()))
	// The TTFT objective at 1 s (it follows --alert.ttft-warning): every probe
	// of the slow replica misses it, none of the fast one's does, so the
	// slow replica burns its error budget and the fast one does not.
	p := start(t, procOpts{args: []string{
		"--config.file=" + cfg, "--probe.gap-threshold=700ms", "--probe.gap-for=5s",
		"--alert.ttft-warning=1s", "--alert.ttft-critical=30s",
	}, keepRules: true})
	api := p.api()

	// Both probes have recorded percentiles, each under its server's instance.
	waitValue(t, api, `count(tokenpath:ttft_seconds:histogram_quantile{server="probe",quantile="0.5"})`, 2, 60*time.Second)
	waitValue(t, api, `count(tokenpath:requests_running{server="vllm"})`, 2, 30*time.Second)

	// The raw probe metrics per target: the slow server's probes wait for
	// the front delay, the fast one's do not.
	last := map[string]float64{}
	for _, s := range instant(t, api, `tokenpath_probe_last_ttft_seconds`, time.Now()) {
		last[strings.TrimPrefix(string(s.Metric["target"]), "http://")] = float64(s.Value)
	}
	require.GreaterOrEqual(t, last[slow], frontDelay.Seconds(), "%v", last)
	require.Less(t, last[fast], frontDelay.Seconds(), "%v", last)

	// Each row's probe numbers are the recorded probe percentiles of its own
	// instance. The page and the query below may straddle a rule
	// evaluation (every second), so they are compared until they agree.
	rowProbe := func(doc *goquery.Document, inst string) string {
		return doc.Find(`[data-testid="server-row"][data-key$="/` + inst + `"] [data-testid="probe-ttft"]`).Text()
	}
	recorded := func(inst, q string) float64 {
		vec := instant(t, api, fmt.Sprintf(`tokenpath:ttft_seconds:histogram_quantile{server="probe",instance=%q,quantile=%q}`, inst, q), time.Now())
		require.Len(t, vec, 1, inst)
		return float64(vec[0].Value)
	}
	waitFor(t, 30*time.Second, "rows showing their own instance's probe percentiles", func() (bool, string) {
		status, body := p.get("/", nil)
		if status != http.StatusOK {
			return false, strconv.Itoa(status)
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
		require.NoError(t, err)
		var state []string
		ok := true
		for _, inst := range []string{fast, slow} {
			want := "probe " + components.FormatSeconds(components.Some(recorded(inst, "0.5"))) +
				" / " + components.FormatSeconds(components.Some(recorded(inst, "0.99")))
			got := rowProbe(doc, inst)
			ok = ok && got == want
			state = append(state, fmt.Sprintf("%s: page %q, recorded %q", inst, got, want))
		}
		return ok, strings.Join(state, "; ")
	})
	// A percentile interpolates inside a bucket (a native one is about 9%
	// wide), so the slow median may read a little under the delay itself.
	require.Greater(t, recorded(slow, "0.5"), 0.85*frontDelay.Seconds(), "the slow row's probe median includes the front delay")
	require.Less(t, recorded(fast, "0.5"), 0.5, "the fast row's probe median does not")

	// The gap is per instance: the front delay in front of one replica only.
	waitValue(t, api, `count(tokenpath:ttft_client_server_gap_seconds{quantile="0.5"})`, 2, 30*time.Second)
	gap := map[string]float64{}
	for _, s := range instant(t, api, `tokenpath:ttft_client_server_gap_seconds{quantile="0.5"}`, time.Now()) {
		gap[string(s.Metric["instance"])] = float64(s.Value)
	}
	require.Greater(t, gap[slow], 1.0, "%v", gap)
	require.Less(t, gap[fast], 0.5, "%v", gap)

	// The gap alert reaches Alertmanager for the slow replica only, and its
	// summary names that replica.
	var received []amAlert
	waitFor(t, 60*time.Second, "Alertmanager to receive "+gapAlert, func() (bool, string) {
		received = am.alerts(t, gapAlert)
		return len(received) > 0, fmt.Sprint(received)
	})
	require.Len(t, received, 1, "%v", received)
	require.Equal(t, slow, received[0].Labels["instance"])
	require.Contains(t, received[0].Annotations["summary"], "on "+slow+" wait")

	// The probe SLO series (a group evaluated once a minute) come per
	// instance too, and the SLO table says how little data they cover.
	// The burn rate is recorded after the ratios, attainment, coverage and
	// budget of the same evaluation: once it is there, they all are.
	waitValue(t, api, `count(tokenpath:slo_burn_rate:ratio_rate1h{slo="probe-ttft-1s"})`, 2, 75*time.Second)
	instances := map[model.LabelValue]bool{}
	for _, s := range instant(t, api, `tokenpath:slo_errors:ratio_rate5m{slo="probe-ttft-1s"}`, time.Now()) {
		instances[s.Metric["instance"]] = true
	}
	require.Equal(t, map[model.LabelValue]bool{model.LabelValue(fast): true, model.LabelValue(slow): true}, instances)
	status, body := p.get("/?instance="+slow, nil)
	require.Equal(t, http.StatusOK, status)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	require.NoError(t, err)
	row := doc.Find(`[data-testid="slo-row"][data-key^="probe-ttft-1s/probe/"]`)
	require.Equal(t, 1, row.Length(), "one probe TTFT row: the filtered instance's")
	require.Equal(t, slow, row.Find(`[data-testid="slo-instance"]`).Text())
	require.Regexp(t, `^over [0-9]+ min$`, row.Find(`[data-testid="slo-attainment-span"]`).Text())

	// The fast-burn alert (every slow probe misses the objective: an error
	// ratio of 1 over 1 h and 5 min, far above 14.4 × the 1% budget) reaches
	// Alertmanager after its 2 minutes, for the slow replica only, naming it.
	const fastBurn = "TokenPathSLOFastBurn"
	waitFor(t, 4*time.Minute, "Alertmanager to receive "+fastBurn, func() (bool, string) {
		received = am.alerts(t, fastBurn)
		return len(received) > 0, fmt.Sprint(received)
	})
	var probeBurns []amAlert
	for _, a := range received {
		if a.Labels["slo"] == "probe-ttft-1s" {
			probeBurns = append(probeBurns, a)
		}
	}
	require.Len(t, probeBurns, 1, "%v", received)
	require.Equal(t, slow, probeBurns[0].Labels["instance"])
	require.Contains(t, probeBurns[0].Annotations["summary"], "on "+slow+" burns its error budget")
	for _, a := range received {
		require.NotEqual(t, fast, a.Labels["instance"], "the healthy replica never burns: %v", a)
	}
}
