package scrape

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/util/teststorage"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestTargetHealthLog runs Prometheus' scrape manager against a target that
// goes down and comes back: at the default level the log has one line for
// each change and none for the scrapes in between.
func TestTargetHealthLog(t *testing.T) {
	var down atomic.Bool
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		scrapes.Add(1)
		if down.Load() {
			http.Error(w, "going away", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "app_up 1\n")
	}))
	t.Cleanup(srv.Close)

	var logs testbin.LogBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m, err := New(Options{Logger: logger, Appendable: teststorage.NewAppendable(), HealthCheckInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	cfg, err := promconfig.Load(fmt.Sprintf(`
global: {scrape_interval: 100ms, scrape_timeout: 100ms}
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%q]
        labels: {server: other}
`, strings.TrimPrefix(srv.URL, "http://")), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, m.ApplyConfig(cfg))
	done := make(chan error, 1)
	go func() { done <- m.Run() }()
	t.Cleanup(func() {
		m.Stop()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("the scrape manager did not stop")
		}
	})

	health := func() string {
		for _, ts := range m.Scrape().TargetsActive() {
			for _, tg := range ts {
				return string(tg.Health())
			}
		}
		return ""
	}
	require.Eventually(t, func() bool { return health() == "up" && scrapes.Load() >= 3 }, 20*time.Second, 10*time.Millisecond)
	down.Store(true)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "Target down") }, 20*time.Second, 10*time.Millisecond)
	before := scrapes.Load()
	require.Eventually(t, func() bool { return scrapes.Load() >= before+3 }, 20*time.Second, 10*time.Millisecond, "a few failed scrapes")
	down.Store(false)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "Target is back") }, 20*time.Second, 10*time.Millisecond)
	before = scrapes.Load()
	require.Eventually(t, func() bool { return scrapes.Load() >= before+3 }, 20*time.Second, 10*time.Millisecond, "a few good scrapes")

	var msgs []string
	for line := range strings.Lines(logs.String()) {
		if !strings.Contains(line, `component="target health"`) {
			continue
		}
		msg := regexp.MustCompile(`msg="([^"]*)"`).FindStringSubmatch(line)
		require.NotNil(t, msg, line)
		msgs = append(msgs, msg[1])
	}
	require.Equal(t, []string{"Target down", "Target is back"}, msgs, logs.String())
	require.Regexp(t, `level=WARN msg="Target down" component="target health" job=app target=http://127\.0\.0\.1:\d+/metrics err=.*503`, logs.String())
	require.Regexp(t, `level=INFO msg="Target is back" component="target health" job=app target=http://127\.0\.0\.1:\d+/metrics`, logs.String())
	require.NotContains(t, logs.String(), "Scrape failed", "a failed scrape is a debug line")
}
