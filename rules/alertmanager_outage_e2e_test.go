package rules_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestAlertsSurviveAlertmanagerOutage: a real Alertmanager is stopped while tokenpath fires
// an alert and restarted on the same port with an empty state; the alert reaches the new
// one. Prometheus' notifier does not retry a failed batch (it counts it in
// prometheus_notifications_dropped_total); what delivers the alert after the outage is the
// rule manager re-sending every firing alert each ResendDelay (1 minute, as in Prometheus).
// The queue in between holds at most 10000 alerts (notifier QueueCapacity), dropping the
// oldest first; docs/hardening.md has the numbers.
func TestAlertsSurviveAlertmanagerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tokenpath and Alertmanager twice")
	}
	am := testbin.StartAlertmanager(t, testbin.AlertmanagerOptions{})
	amURL := am.URL()

	// The TGI endpoint answers until the test closes it; the vLLM endpoint is dead all along.
	tgi := answeringTGI(t)
	tgiAddr := strings.TrimPrefix(tgi.URL, "http://")
	deadVLLM := testbin.FreePort(t)
	tp := testbin.Start(t, testbin.Options{Args: targetArgs("http://"+deadVLLM, tgi.URL,
		"--alertmanager.url="+amURL,
		"--alert.for=2s",
	)})

	instances := func(url string) map[string]bool {
		out := map[string]bool{}
		for _, a := range alertmanagerAlerts(t, url, "InferenceTargetDown") {
			out[a.Labels["instance"]] = true
		}
		return out
	}
	waitFor(t, 90*time.Second, "the dead vLLM endpoint's alert in the first Alertmanager", func() (bool, string) {
		got := instances(amURL)
		return got[deadVLLM] && !got[tgiAddr], fmt.Sprint(got)
	})

	// Alertmanager goes away; then the TGI endpoint dies and its alert fires meanwhile.
	am.Stop()
	tgi.Close()
	waitFor(t, 90*time.Second, "tokenpath fails to send the TGI endpoint's alert", func() (bool, string) {
		m := notifierMetrics(t, tp.URL)
		firing := firingInstances(t, tp.URL)
		return firing[tgiAddr] && m["prometheus_notifications_errors_total"] > 0 && m["prometheus_notifications_dropped_total"] > 0,
			fmt.Sprint(m, firing)
	})

	// A new Alertmanager, empty, on the same address: both alerts arrive with the next re-send.
	amURL2 := testbin.StartAlertmanager(t, testbin.AlertmanagerOptions{Addr: am.Addr()}).URL()
	require.Empty(t, instances(amURL2))
	waitFor(t, 150*time.Second, "both alerts in the restarted Alertmanager", func() (bool, string) {
		got := instances(amURL2)
		return got[deadVLLM] && got[tgiAddr], fmt.Sprint(got)
	})
	m := notifierMetrics(t, tp.URL)
	require.Positive(t, m["prometheus_notifications_sent_total"])
	require.Zero(t, m["prometheus_notifications_queue_length"], "the queue drained once Alertmanager answered")
	require.Equal(t, 10000.0, m["prometheus_notifications_queue_capacity"])
}

// TestAlertsQueueWhileAlertmanagerIsSlow: Alertmanager answers only when the test lets it
// (a proxy in front of a real one holds every request). The first alert's send waits; an
// alert that fires meanwhile waits in the notifier's queue (queue length 1, nothing dropped);
// when Alertmanager answers, both are delivered and the queue is empty. The alerting section
// of the configuration gives the send a 60 s timeout so the held request does not time out.
func TestAlertsQueueWhileAlertmanagerIsSlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tokenpath and Alertmanager")
	}
	amURL := testbin.StartAlertmanager(t, testbin.AlertmanagerOptions{}).URL()
	target, err := url.Parse(amURL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	release := make(chan struct{})
	var held atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		held.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-time.After(2 * time.Minute): // bounded, whatever the test does
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	var once sync.Once
	releaseAll := func() { once.Do(func() { close(release) }) }
	t.Cleanup(releaseAll)

	tgi := answeringTGI(t)
	tgiAddr := strings.TrimPrefix(tgi.URL, "http://")
	deadVLLM := testbin.FreePort(t)
	cfg := filepath.Join(t.TempDir(), "tokenpath.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
alerting:
  alertmanagers:
  - timeout: 60s
    static_configs:
    - targets: [%q]
`, strings.TrimPrefix(slow.URL, "http://"))), 0o600))
	tp := testbin.Start(t, testbin.Options{Args: targetArgs("http://"+deadVLLM, tgi.URL,
		"--config.file="+cfg,
		"--alert.for=2s",
	)})

	waitFor(t, 90*time.Second, "the first alert's send held by the slow Alertmanager", func() (bool, string) {
		return held.Load() == 1, strconv.FormatInt(held.Load(), 10)
	})
	tgi.Close()
	waitFor(t, 50*time.Second, "the second alert queued behind the first", func() (bool, string) {
		m := notifierMetrics(t, tp.URL)
		return m["prometheus_notifications_queue_length"] == 1, fmt.Sprint(m, firingInstances(t, tp.URL))
	})
	m := notifierMetrics(t, tp.URL)
	require.Zero(t, m["prometheus_notifications_dropped_total"])
	require.Zero(t, m["prometheus_notifications_errors_total"])
	require.Empty(t, alertmanagerAlerts(t, amURL, "InferenceTargetDown"), "nothing delivered while Alertmanager is slow")

	releaseAll()
	waitFor(t, 60*time.Second, "both alerts in Alertmanager", func() (bool, string) {
		got := map[string]bool{}
		for _, a := range alertmanagerAlerts(t, amURL, "InferenceTargetDown") {
			got[a.Labels["instance"]] = true
		}
		return got[deadVLLM] && got[tgiAddr], fmt.Sprint(got)
	})
	m = notifierMetrics(t, tp.URL)
	require.Zero(t, m["prometheus_notifications_queue_length"])
	require.Zero(t, m["prometheus_notifications_dropped_total"])
	require.GreaterOrEqual(t, m["prometheus_notifications_sent_total"], 2.0)
}

// notifierMetrics sums tokenpath's own prometheus_notifications_* series by name, as
// /metrics exposes them.
func notifierMetrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "prometheus_notifications_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[name] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return out
}

// firingInstances lists the instances of tokenpath's firing InferenceTargetDown alerts.
func firingInstances(t *testing.T, base string) map[string]bool {
	t.Helper()
	res, err := apiClient(t, base).Alerts(t.Context())
	require.NoError(t, err)
	out := map[string]bool{}
	for _, a := range res.Alerts {
		if a.Labels["alertname"] == "InferenceTargetDown" && a.State == "firing" {
			out[string(a.Labels["instance"])] = true
		}
	}
	return out
}

// answeringTGI is a TGI endpoint that answers every scrape (with one counter)
// until the test closes it: a target whose InferenceTargetDown the test
// causes by closing it.
func answeringTGI(t *testing.T) *httptest.Server {
	t.Helper()
	tgi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE tgi_request_count counter\ntgi_request_count 0\n"))
	}))
	t.Cleanup(tgi.Close)
	return tgi
}
