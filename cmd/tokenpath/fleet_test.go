package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// outage is how long the central receivers are down in
// TestRemoteWriteSurvivesOutage: the two minutes.
const outage = 2 * time.Minute

// rssBytes is a process's resident set size, from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err)
			return kb * 1024
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// samplesBetween are the raw samples of sel with timestamps in [from, to],
// as timestamp → value (one series expected).
func samplesBetween(t *testing.T, api promv1.API, sel string, from, to time.Time) map[model.Time]model.SampleValue {
	t.Helper()
	window := to.Sub(from) + time.Minute
	v, _, _, err := api.Query(ctxT(t), fmt.Sprintf("%s[%ds]", sel, int(window.Seconds())), to.Add(30*time.Second))
	require.NoError(t, err, "raw samples of %s", sel)
	m, ok := v.(model.Matrix)
	require.True(t, ok, "%T", v)
	require.LessOrEqual(t, len(m), 1, "one series of %s: %v", sel, m)
	out := map[model.Time]model.SampleValue{}
	for _, s := range m {
		for _, p := range s.Values {
			if !p.Timestamp.Time().Before(from) && !p.Timestamp.Time().After(to) {
				out[p.Timestamp] = p.Value
			}
		}
	}
	return out
}

// TestRemoteWriteSurvivesOutage: tokenpath, under the demo's load plus a
// counter target, remote-writes to Debian's Prometheus and Debian's
// VictoriaMetrics; both are stopped for `outage` and started again on the
// same port. Afterwards each holds every sample of the counter that
// tokenpath scraped during the outage, with the same values: Prometheus'
// queue manager waited on its WAL and resent. tokenpath's RSS while it
// waited is recorded (docs/benchmarks.md), not asserted.
func TestRemoteWriteSurvivesOutage(t *testing.T) {
	prom := startPrometheusReceiver(t)
	vm := testbin.StartVictoriaMetrics(t)
	queue := "  queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 2s}\n"
	cfg := "global:\n  scrape_interval: 1s\n  external_labels:\n    host: box-1\nremote_write:\n" +
		fmt.Sprintf("- name: prometheus\n  url: http://%s/api/v1/write\n", prom.Addr()) + queue +
		fmt.Sprintf("- name: victoria-metrics\n  url: http://%s/api/v1/write\n", vm.Addr()) + queue +
		fmt.Sprintf("scrape_configs:\n- job_name: app\n  static_configs:\n  - targets: [%q]\n", countingTarget(t))
	p := start(t, procOpts{keepRules: true, args: []string{"--demo", "--config.file=" + writeFile(t, t.TempDir(), "tokenpath.yml", cfg)}})

	const counter = `app_scrapes_total{job="app", host="box-1"}`
	receivers := []*testbin.Peer{prom, vm}
	for _, r := range receivers {
		waitAtLeast(t, r.API(), "count_over_time("+counter+"[1m])", 5, 60*time.Second)
	}
	pid := p.peer.Pid()
	rssBefore := rssBytes(t, pid)

	down := time.Now()
	for _, r := range receivers {
		r.Stop()
	}
	rssMax := rssBefore
	for time.Since(down) < outage {
		time.Sleep(5 * time.Second)
		rssMax = max(rssMax, rssBytes(t, pid))
	}
	up := time.Now()
	for _, r := range receivers {
		r.Start()
	}
	// The queues deliver each series in order: a sample from after the
	// restart means the backlog before it is in.
	for _, r := range receivers {
		waitSample(t, r.API(), "max(timestamp("+counter+"))", "after "+r.Name()+"'s restart", 2*time.Minute,
			func(v float64) bool { return v > float64(up.Add(5*time.Second).Unix()) })
	}
	rssAfter := rssBytes(t, pid)
	t.Logf("tokenpath RSS: %.1f MiB before the %s outage, at most %.1f MiB during it, %.1f MiB after delivery",
		float64(rssBefore)/(1<<20), outage, float64(rssMax)/(1<<20), float64(rssAfter)/(1<<20))

	from, to := down.Add(-10*time.Second), up.Add(5*time.Second)
	local := samplesBetween(t, p.api(), `app_scrapes_total{job="app"}`, from, to)
	require.GreaterOrEqual(t, len(local), int(outage.Seconds()*0.8), "tokenpath scraped the counter through the outage")
	for _, r := range receivers {
		require.Equal(t, local, samplesBetween(t, r.API(), counter, from, to), "%s holds every sample of the outage", r.Name())
	}
}

// TestFederationKeepsHosts: a central Debian Prometheus federating
// {__name__=~"tokenpath:.*"} from two tokenpaths (honor_labels) gets each
// host's series with its host label, distinct, although both tokenpaths
// scrape the same server at the same address (the case of two identical
// boxes): the label sets of host a are exactly tokenpath a's own with
// host="a", and the same for b.
func TestFederationKeepsHosts(t *testing.T) {
	target := linearTarget(t, "vllm")
	hosts := map[string]*proc{}
	for _, h := range []string{"a", "b"} {
		cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  external_labels:\n    host: %s\n"+
			"scrape_configs:\n- job_name: vllm\n  static_configs:\n  - targets: [%q]\n", h, target)
		hosts[h] = start(t, procOpts{keepRules: true, args: []string{
			"--no-gpu.enable", "--no-probe.enable",
			"--config.file=" + writeFile(t, t.TempDir(), "tokenpath.yml", cfg),
		}})
	}
	prom := testbin.StartPrometheus(t, testbin.PrometheusOptions{Config: fmt.Sprintf(`global:
  scrape_interval: 2s
scrape_configs:
- job_name: federate
  honor_labels: true
  metrics_path: /federate
  params:
    match[]: ['{__name__=~"tokenpath:.*"}']
  static_configs:
  - targets: [%q, %q]
`, hosts["a"].Addr, hosts["b"].Addr)})

	for h, p := range hosts {
		waitFor(t, 90*time.Second, "host "+h+"'s tokenpath:* series on the central Prometheus", func() (bool, string) {
			now := time.Now()
			want := map[string]bool{}
			for _, s := range instant(t, p.api(), `{__name__=~"tokenpath:.+"}`, now) {
				m := s.Metric.Clone()
				m["host"] = model.LabelValue(h)
				if _, ok := m["job"]; !ok {
					// Prometheus gives a scraped series without a job the
					// scrape job's name, honor_labels or not (the SLO
					// aggregates have none); instance stays empty, since
					// /federate exposes instance="".
					m["job"] = "federate"
				}
				want[m.String()] = true
			}
			got := map[string]bool{}
			for _, s := range instant(t, prom.API(), fmt.Sprintf(`{__name__=~"tokenpath:.+", host=%q}`, h), now) {
				got[s.Metric.String()] = true
			}
			var missing, extra []string
			for k := range want {
				if !got[k] && len(missing) < 5 {
					missing = append(missing, k)
				}
			}
			for k := range got {
				if !want[k] && len(extra) < 5 {
					extra = append(extra, k)
				}
			}
			return len(want) > 50 && len(missing) == 0 && len(extra) == 0,
				fmt.Sprintf("tokenpath %s has %d series, the central Prometheus %d with host=%q; missing there %v; extra there %v",
					h, len(want), len(got), h, missing, extra)
		})
	}
	// Two of everything, one per host: the same vLLM seen from two boxes.
	running := instant(t, prom.API(), `tokenpath:requests_running{server="vllm"}`, time.Now())
	require.Len(t, running, 2, "%v", running)
	require.NotEqual(t, running[0].Metric["host"], running[1].Metric["host"])
	require.Empty(t, instant(t, prom.API(), `{__name__=~"tokenpath:.+", host=""}`, time.Now()), "every federated series names its host")
}

// TestFleetCommand: two tokenpaths (--demo, hosts a and b) remote-write to
// Debian's Prometheus and Debian's VictoriaMetrics; `tokenpath fleet`
// pointed at each engine serves the query API with both hosts' series and
// the token-path page with rows from the engine's data, and passes on no
// write, admin or lifecycle endpoint.
func TestFleetCommand(t *testing.T) {
	prom := startPrometheusReceiver(t)
	vm := testbin.StartVictoriaMetrics(t)
	for _, h := range []string{"a", "b"} {
		cfg := fmt.Sprintf("global:\n  scrape_interval: 2s\n  external_labels:\n    host: %s\nremote_write:\n"+
			"- url: http://%s/api/v1/write\n  queue_config: {batch_send_deadline: 1s}\n"+
			"- url: http://%s/api/v1/write\n  queue_config: {batch_send_deadline: 1s}\n", h, prom.Addr(), vm.Addr())
		start(t, procOpts{keepRules: true, args: []string{
			"--demo", "--no-probe.enable",
			"--config.file=" + writeFile(t, t.TempDir(), "tokenpath.yml", cfg),
		}})
	}
	for _, engine := range []*testbin.Peer{prom, vm} {
		t.Run(engine.Name(), func(t *testing.T) {
			fleet := startFleet(t, engine)
			api := fleet.API()
			waitFor(t, 2*time.Minute, "both hosts' unified series through tokenpath fleet", func() (bool, string) {
				v, _, _, err := api.Query(ctxT(t), `count by (host) (tokenpath:requests_running{server="vllm"})`, time.Now())
				if err != nil {
					return false, err.Error()
				}
				vec, _ := v.(model.Vector)
				hosts := map[string]bool{}
				for _, s := range vec {
					hosts[string(s.Metric["host"])] = true
				}
				return hosts["a"] && hosts["b"] && len(hosts) == 2, fmt.Sprint(v) //nolint:gocritic // v may be nil
			})

			get := func(method, path string) (int, string) {
				req, err := http.NewRequestWithContext(ctxT(t), method, fleet.URL()+path, http.NoBody)
				require.NoError(t, err)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				return resp.StatusCode, string(b)
			}
			code, page := get(http.MethodGet, "/")
			require.Equal(t, http.StatusOK, code, page)
			require.Contains(t, page, `data-testid="row-server"`, "the token-path table has rows from the engine's data")
			require.Contains(t, page, ">vllm<")
			require.Contains(t, page, ">tgi<")
			// One row per host: the selector offers both, each row names its
			// host, and ?host= keeps that host's rows only.
			rowHosts := func(page string) (rows, options []string) {
				doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
				require.NoError(t, err)
				rows = doc.Find(`[data-testid="server-row"] [data-testid="row-host"]`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
				options = doc.Find(`[data-testid="filter-host"] option`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") })
				return rows, options
			}
			rows, options := rowHosts(page)
			require.Equal(t, []string{"", "a", "b"}, options)
			require.Contains(t, rows, "a")
			require.Contains(t, rows, "b")
			code, page = get(http.MethodGet, "/?host=b")
			require.Equal(t, http.StatusOK, code, page)
			rows, _ = rowHosts(page)
			require.NotEmpty(t, rows)
			for _, h := range rows {
				require.Equal(t, "b", h, "?host=b shows host b's rows only")
			}
			for _, p := range []string{"/api/v1/write", "/api/v1/admin/tsdb/snapshot", "/-/reload", "/api/v1/status/config"} {
				code, _ := get(http.MethodPost, p)
				require.Containsf(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, code, "POST %s is not passed on", p)
			}
		})
	}
}

// TestFleetAlertsAndRules: `tokenpath fleet`'s alerts page shows the central
// engine's rules and alerts where the engine evaluates them (Debian's
// Prometheus loaded with `tokenpath rules export` and a firing alert of one
// host), narrowed by the host selector; where it evaluates none (Debian's
// VictoriaMetrics single-node answers an empty list), the page says where
// rules live instead of an error or an empty table.
func TestFleetAlertsAndRules(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(testbin.Binary(t), "rules", "export", "--dir", dir).CombinedOutput()
	require.NoError(t, err, "tokenpath rules export: %s", out)
	writeFile(t, dir, "canary.rules.yml", `groups:
- name: fleet-canary
  rules:
  - alert: FleetCanary
    expr: vector(1)
    labels: {host: gpu-box-a}
`)
	prom := testbin.StartPrometheus(t, testbin.PrometheusOptions{Config: fmt.Sprintf("global:\n  evaluation_interval: 1s\nrule_files: [%q]\n", dir+"/*.yml")})
	vm := testbin.StartVictoriaMetrics(t)

	fleetUI := func(t *testing.T, engine *testbin.Peer) func(path string) *goquery.Document {
		fleet := startFleet(t, engine)
		return func(path string) *goquery.Document {
			t.Helper()
			resp, err := http.Get(fleet.URL() + path) //nolint:noctx // bounded by the client's default transport and the test's timeout
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			doc, err := goquery.NewDocumentFromReader(resp.Body)
			require.NoError(t, err)
			return doc
		}
	}
	texts := func(s *goquery.Selection, attr string) []string {
		return s.Map(func(_ int, x *goquery.Selection) string { return x.AttrOr(attr, "") })
	}

	t.Run("prometheus evaluates the rules", func(t *testing.T) {
		get := fleetUI(t, prom)
		var doc *goquery.Document
		waitFor(t, time.Minute, "FleetCanary firing on the fleet's alerts page", func() (bool, string) {
			doc = get("/alerts")
			rows := doc.Find(`[data-testid="alert-row"][data-alert="FleetCanary"][data-state="firing"]`)
			return rows.Length() == 1, doc.Find("main").Text()
		})
		require.Equal(t, 0, doc.Find(`[data-testid="page-error"]`).Length(), doc.Find(`[data-testid="page-error"]`).Text())
		require.Equal(t, 0, doc.Find(`[data-testid="rules-elsewhere"]`).Length())
		rules := texts(doc.Find(`[data-testid="rule-row"]`), "data-rule")
		require.Contains(t, rules, "FleetCanary")
		require.Contains(t, rules, "HighTTFT", "tokenpath's exported alerts, evaluated by the central Prometheus")
		require.Contains(t, rules, "tokenpath:ttft_seconds:histogram_quantile")
		// The host selector narrows the alerts to the chosen host.
		require.Equal(t, []string{"FleetCanary"}, texts(get("/alerts?host=gpu-box-a").Find(`[data-testid="alert-row"]`), "data-alert"))
		require.Equal(t, 0, get("/alerts?host=gpu-box-b").Find(`[data-testid="alert-row"]`).Length())
	})

	t.Run("victoria-metrics has none", func(t *testing.T) {
		doc := fleetUI(t, vm)("/alerts")
		require.Equal(t, 0, doc.Find(`[data-testid="page-error"]`).Length(), doc.Find(`[data-testid="page-error"]`).Text())
		notice := doc.Find(`[data-testid="rules-elsewhere"]`)
		require.Equal(t, 1, notice.Length())
		require.Contains(t, notice.Text(), "rules are evaluated by vmalert or your ruler")
		require.Contains(t, notice.Text(), "tokenpath rules export")
		require.Equal(t, "http://"+vm.Addr(), notice.Find(`[data-testid="rules-engine"]`).Text())
		require.Equal(t, 0, doc.Find(`[data-testid="rules-table"]`).Length())
		require.Equal(t, 0, doc.Find(`[data-testid="alerts-table"]`).Length())
	})
}
