package main_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeServer serves one metric line at /metrics, enough for server
// detection to classify it.
func fakeServer(t *testing.T, exposition string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, exposition)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSLOBucketWarningsOnlyForScrapedServers: with the default SLOs, only
// SGLang's TTFT histogram lacks a boundary (5 s). A tokenpath that scrapes
// only vLLM says nothing about it; one that scrapes SGLang (added with
// --sglang.endpoint) says it once, when the target is first detected, and
// not again on reloads. The SGLang endpoint is also probed, as the others.
func TestSLOBucketWarningsOnlyForScrapedServers(t *testing.T) {
	const warning = "SLO threshold between bucket boundaries"
	vllm := fakeServer(t, "vllm:num_requests_running 0\n")
	sglang := fakeServer(t, "sglang:num_running_reqs 0\n")

	t.Run("vLLM only", func(t *testing.T) {
		p := start(t, procOpts{keepRules: true, args: []string{"--scrape.interval=1s", "--no-gpu.enable", "--vllm.endpoint=" + vllm.URL, "--tgi.endpoint="}})
		waitFor(t, 30*time.Second, "vLLM detected", func() (bool, string) {
			return strings.Contains(p.Logs(), `msg="Detected server kind"`) && strings.Contains(p.Logs(), "server=vllm"), "not yet"
		})
		require.NotContains(t, p.Logs(), warning)
		require.NotContains(t, p.Logs(), "sglang")
		// TGI is switched off: no target, no probe.
		api := p.api()
		waitAtLeast(t, api, `count(up{job="vllm"})`, 1, 30*time.Second)
		require.Empty(t, instant(t, api, `up{job="tgi"}`, time.Now()))
		require.NotContains(t, p.Logs(), "localhost:8080")
	})

	t.Run("SGLang", func(t *testing.T) {
		p := start(t, procOpts{keepRules: true, args: []string{"--scrape.interval=1s", "--no-gpu.enable", "--web.enable-lifecycle", "--sglang.endpoint=" + sglang.URL}, env: []string{"VLLM_ENDPOINT=", "TGI_ENDPOINT="}})
		waitFor(t, 30*time.Second, "the SGLang warning", func() (bool, string) {
			return strings.Contains(p.Logs(), warning), "not yet"
		})
		// Reloads keep the kind known: no second warning.
		for i := range 2 {
			require.NoError(t, p.peer.Signal(syscall.SIGHUP))
			waitFor(t, 30*time.Second, "the reload", func() (bool, string) {
				return strings.Count(p.Logs(), "Completed loading of configuration file") >= i+2, "not yet"
			})
		}
		api := p.api()
		waitValue(t, api, `count(up{job="sglang", server="sglang"})`, 1, 30*time.Second)
		// Probed like the others: the probe names the server kind.
		waitAtLeast(t, api, fmt.Sprintf(`count(tokenpath_probe_requests_total{target=%q, target_server="sglang"})`, sglang.URL), 1, 60*time.Second)
		require.Empty(t, instant(t, api, `up{job=~"vllm|tgi"}`, time.Now()), "VLLM_ENDPOINT= and TGI_ENDPOINT= turn the defaults off")

		logs := p.Logs()
		require.Equal(t, 1, strings.Count(logs, warning), logs)
		// The whole log line of the warning: its attributes come before
		// and after the message.
		before, after, _ := strings.Cut(logs, warning)
		rest, _, _ := strings.Cut(after, "\n")
		line := before[strings.LastIndex(before, "\n")+1:] + warning + rest
		require.Contains(t, line, "server=sglang")
		require.Contains(t, line, "sglang's ttft histogram (between 4 and 6)")
		require.NotContains(t, logs, "vllm's ttft histogram")
	})
}
