package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

// TestBrowserInferenceEndpoints: a configured vLLM endpoint with nothing
// behind it and a "TGI" endpoint that is really a vLLM server both show on
// the token-path page — the first down, with its error, since when, and its
// InferenceTargetDown alert; the second with the mismatch spelled out.
func TestBrowserInferenceEndpoints(t *testing.T) {
	testbin.RequirePeer(t, "chromium", "chromium")
	vllm, err := sim.New(sim.Options{Engine: sim.EngineVLLM, Seed: 1})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = vllm.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	mislabelled := httptest.NewServer(vllm.Handler())
	t.Cleanup(mislabelled.Close)
	dead := testbin.FreePort(t) // nothing listens there

	p := testbin.Start(t, testbin.Options{Args: []string{
		"--scrape.interval=1s",
		"--no-gpu.enable",
		"--no-probe.enable",
		"--vllm.endpoint=http://" + dead,
		"--tgi.endpoint=" + mislabelled.URL,
		"--alert.for=2s",
	}})
	api := demoAPI(t, p.URL)
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, _, _, err := api.Query(t.Context(), `ALERTS{alertname="InferenceTargetDown", alertstate="firing"}`, time.Time{})
		vec, _ := v.(model.Vector)
		if err == nil && len(vec) == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "InferenceTargetDown not firing after 60s: %v %v", v, err)
		time.Sleep(500 * time.Millisecond)
	}

	b := newBrowser(t)
	b.open(t, p.URL+"/")
	b.do(t, chromedp.WaitVisible(`[data-testid="inference-targets"]`))
	type row struct {
		Key, Health, Server, DownSince, Mismatch, Error, Alert string
	}
	rows := eval[[]row](t, b, `[...document.querySelectorAll('[data-testid="inference-target"]')].map(r => {
  const text = id => (r.querySelector('[data-testid="' + id + '"]') || {textContent: ''}).textContent.trim();
  return {Key: r.dataset.key, Health: text('inference-target-health'), Server: text('inference-target-server'),
    DownSince: text('inference-target-down-since'), Mismatch: text('inference-target-mismatch'),
    Error: text('inference-target-error'), Alert: text('inference-target-alert')};
})`)
	require.Len(t, rows, 2, "%+v", rows)
	byKey := map[string]row{}
	for _, r := range rows {
		byKey[r.Key] = r
	}
	down, ok := byKey["vllm/"+dead]
	require.True(t, ok, "%+v", rows)
	require.Equal(t, "down", down.Health)
	require.Contains(t, down.DownSince, "down since")
	require.Contains(t, down.Error, "connection refused")
	require.Equal(t, "InferenceTargetDown firing", down.Alert)
	require.Equal(t, "not detected yet", down.Server)

	mis, ok := byKey["tgi/"+strings.TrimPrefix(mislabelled.URL, "http://")]
	require.True(t, ok, "%+v", rows)
	require.Equal(t, "up", mis.Health)
	require.Equal(t, "vllm", mis.Server)
	require.Equal(t, "configured as tgi, but it exposes vllm metrics", mis.Mismatch)
	require.Empty(t, mis.DownSince)
	require.Empty(t, b.takeErrors())
}
