package rules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestHighTTFTReachesAlertmanager is the token path's alerting end to end:
// tokenpath --demo scrapes the simulated vLLM server, the simulator is pushed
// into a latency spike, HighTTFT goes pending and then firing, and a real
// Alertmanager (Debian's prometheus-alertmanager, on loopback) receives it;
// when the spike ends the alert resolves there too.
func TestHighTTFTReachesAlertmanager(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tokenpath and Alertmanager and waits minutes for an alert")
	}
	amURL := testbin.StartAlertmanager(t, testbin.AlertmanagerOptions{}).URL()

	tp := testbin.Start(t, testbin.Options{Args: []string{
		"--demo",
		// Steady load until the test spikes it (the demo otherwise cycles through scenarios).
		"--demo.scenario=steady",
		"--scrape.interval=1s",
		"--no-gpu.enable",
		"--alertmanager.url=" + amURL,
		// A lower threshold and a short `for` keep the test to a couple of
		// minutes; the rule itself is the embedded HighTTFT.
		"--alert.ttft-warning=1s",
		"--alert.for=10s",
	}})
	api := apiClient(t, tp.URL)
	ctx := t.Context()

	vllm := simulatorURL(t, api, "vllm")
	// The simulator at its normal load: the alert must not be firing.
	waitFor(t, 2*time.Minute, "unified TTFT series for vllm", func() (bool, string) {
		v, _, _, err := api.Query(ctx, `tokenpath:ttft_seconds:histogram_quantile{server="vllm",quantile="0.99"}`, time.Now())
		return err == nil && v.String() != "", fmt.Sprint(v, err)
	})
	require.Empty(t, alertmanagerAlerts(t, amURL, "HighTTFT"), "no HighTTFT before the spike")

	setLoad(t, vllm, 12)
	sawPending := false
	waitFor(t, 4*time.Minute, "HighTTFT firing in tokenpath", func() (bool, string) {
		alerts, err := api.Alerts(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, a := range alerts.Alerts {
			if a.Labels["alertname"] != "HighTTFT" {
				continue
			}
			if a.State == promv1.AlertStatePending {
				sawPending = true
			}
			if a.State == promv1.AlertStateFiring {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", alerts.Alerts)
	})
	require.True(t, sawPending, "HighTTFT went pending before firing")

	var received []amAlert
	waitFor(t, time.Minute, "HighTTFT in Alertmanager", func() (bool, string) {
		received = alertmanagerAlerts(t, amURL, "HighTTFT")
		return len(received) > 0, ""
	})
	a := received[0]
	require.Equal(t, "warning", a.Labels["severity"])
	require.Equal(t, "vllm", a.Labels["server"])
	require.NotEmpty(t, a.Labels["model"], "the alert names the model")
	require.Contains(t, a.Annotations["summary"]+a.Annotations["description"], a.Labels["model"])
	require.Equal(t, "active", a.Status.State)

	setLoad(t, vllm, 1)
	waitFor(t, 5*time.Minute, "HighTTFT resolved in Alertmanager", func() (bool, string) {
		return len(alertmanagerAlerts(t, amURL, "HighTTFT")) == 0, ""
	})
}

// TestInferenceTargetDownReachesAlertmanager: a configured inference
// endpoint with nothing behind it fires InferenceTargetDown, a real
// Alertmanager receives it with the instance, and the alert's link (its
// generatorURL, as Alertmanager shows it) opens tokenpath's Explore page
// with the alert's expression.
func TestInferenceTargetDownReachesAlertmanager(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tokenpath and Alertmanager")
	}
	amURL := testbin.StartAlertmanager(t, testbin.AlertmanagerOptions{}).URL()

	deadVLLM := testbin.FreePort(t) // nothing listens there
	deadTGI := testbin.FreePort(t)
	tp := testbin.Start(t, testbin.Options{Args: targetArgs("http://"+deadVLLM, "http://"+deadTGI,
		"--alertmanager.url="+amURL,
		"--alert.for=3s",
	)})

	var received []amAlert
	waitFor(t, 90*time.Second, "InferenceTargetDown for both endpoints in Alertmanager", func() (bool, string) {
		received = alertmanagerAlerts(t, amURL, "InferenceTargetDown")
		return len(received) == 2, fmt.Sprintf("%+v", received)
	})
	byInstance := map[string]amAlert{}
	for _, a := range received {
		byInstance[a.Labels["instance"]] = a
	}
	require.Equal(t, "vllm", byInstance[deadVLLM].Labels["job"])
	require.Equal(t, "tgi", byInstance[deadTGI].Labels["job"])
	a := byInstance[deadVLLM]
	require.Equal(t, "critical", a.Labels["severity"])
	require.Equal(t, "Inference endpoint "+deadVLLM+" (job vllm) is not answering", a.Annotations["summary"])

	// The link as Alertmanager received it: no "//", tokenpath's own page.
	link, err := url.Parse(a.GeneratorURL)
	require.NoError(t, err)
	require.Equal(t, tp.URL+"/explore", link.Scheme+"://"+link.Host+link.Path, a.GeneratorURL)
	expr := link.Query().Get("expr")
	require.Contains(t, expr, `up{job=~"vllm|tgi|sglang|llamacpp"} == 0`)
	resp, err := http.Get(a.GeneratorURL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), html.EscapeString(expr), "the Explore page shows the alert's expression")
}

type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// alertmanagerAlerts lists the active alerts of that name through
// Alertmanager's v2 API (resolved alerts are not listed).
func alertmanagerAlerts(t *testing.T, amURL, name string) []amAlert {
	t.Helper()
	q := url.Values{"filter": {fmt.Sprintf("alertname=%q", name)}}
	resp, err := http.Get(amURL + "/api/v2/alerts?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var alerts []amAlert
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&alerts))
	return alerts
}

// targetArgs are tokenpath's flags for a test of alerts on two scraped
// targets, a vLLM and a TGI endpoint, scraped every second with neither GPU
// nor probe, followed by extra.
func targetArgs(vllmURL, tgiURL string, extra ...string) []string {
	return append([]string{
		"--scrape.interval=1s",
		"--no-gpu.enable",
		"--no-probe.enable",
		"--vllm.endpoint=" + vllmURL,
		"--tgi.endpoint=" + tgiURL,
	}, extra...)
}

func apiClient(t *testing.T, base string) promv1.API {
	t.Helper()
	c, err := promapi.NewClient(promapi.Config{Address: base})
	require.NoError(t, err)
	return promv1.NewAPI(c)
}

// simulatorURL finds the demo's simulated server of a job through
// /api/v1/targets, as a user would.
func simulatorURL(t *testing.T, api promv1.API, job string) string {
	t.Helper()
	var base string
	waitFor(t, 30*time.Second, "target of job "+job, func() (bool, string) {
		res, err := api.Targets(t.Context())
		if err != nil {
			return false, err.Error()
		}
		for _, tg := range res.Active {
			if string(tg.Labels["job"]) == job {
				u, err := url.Parse(tg.ScrapeURL)
				require.NoError(t, err)
				base = u.Scheme + "://" + u.Host
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", res.Active)
	})
	return base
}

func setLoad(t *testing.T, simURL string, multiplier float64) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fmt.Sprintf("%s/sim/load?multiplier=%g", simURL, multiplier), http.NoBody)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "setting the simulator's load")
}

// waitFor polls cond every second until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: not after %s; last: %s", what, d, last)
		case <-time.After(time.Second):
		}
	}
}
