package main_test

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// countingTarget serves app_scrapes_total, which goes up by one at every
// scrape, so that every stored sample has its own value.
func countingTarget(t testing.TB) string {
	t.Helper()
	var n atomic.Int64
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "app_scrapes_total", Help: "Scrapes so far."},
		func() float64 { return float64(n.Add(1)) }))
	return hostOf(serveRegistry(t, reg))
}

func scrapeConfig(jobs map[string]string) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n")
	for _, job := range []string{"a", "b", "c", "app"} {
		if addr, ok := jobs[job]; ok {
			fmt.Fprintf(&b, "- job_name: %s\n  static_configs:\n  - targets: [%q]\n", job, addr)
		}
	}
	return b.String()
}

// rawSamples returns every raw sample of sel within 10 minutes before ts.
func rawSamples(t testing.TB, api promv1.API, sel string, ts time.Time) model.Matrix {
	t.Helper()
	v, _, _, err := api.Query(ctxT(t), sel+"[10m]", ts)
	require.NoError(t, err)
	m, ok := v.(model.Matrix)
	require.True(t, ok, "%T", v)
	return m
}

func totalSamples(m model.Matrix) int {
	n := 0
	for _, s := range m {
		n += len(s.Values)
	}
	return n
}

// countingRun is tokenpath scraping countingTarget into its own data
// directory, for tests that stop it and start another on the same data.
type countingRun struct {
	cfg, dataDir string
	p            *proc
	// T is two seconds before the scrapes counted: every sample stamped
	// before it is committed. raw are app_scrapes_total's samples up to T.
	T   time.Time
	raw model.Matrix
}

// startCounting starts a countingRun and waits for at least scrapes samples.
func startCounting(t testing.TB, scrapes float64) countingRun {
	t.Helper()
	r := countingRun{
		cfg:     writeFile(t, t.TempDir(), "tokenpath.yml", scrapeConfig(map[string]string{"app": countingTarget(t)})),
		dataDir: t.TempDir(),
	}
	r.p = r.restart(t)
	waitAtLeast(t, r.p.api(), `sum(count_over_time(app_scrapes_total[10m]))`, scrapes, 60*time.Second)
	r.T = time.Now().Add(-2 * time.Second)
	r.raw = rawSamples(t, r.p.api(), "app_scrapes_total", r.T)
	return r
}

// restart starts another tokenpath with the run's config and data directory.
func (r countingRun) restart(t testing.TB) *proc {
	t.Helper()
	return start(t, procOpts{args: []string{"--config.file=" + r.cfg}, dataDir: r.dataDir})
}

func rangeQuery(t testing.TB, api promv1.API, q string, r promv1.Range) model.Matrix {
	t.Helper()
	v, _, _, err := api.QueryRange(ctxT(t), q, r)
	require.NoError(t, err)
	m, ok := v.(model.Matrix)
	require.True(t, ok, "%T", v)
	return m
}

// TestCrashRecovery: tokenpath killed with SIGKILL loses nothing it had
// written: after a restart on the same data directory every sample that a
// query returned before the kill is there with the same value.
func TestCrashRecovery(t *testing.T) {
	run := startCounting(t, 8)
	p1, api1, T, raw := run.p, run.p.api(), run.T, run.raw
	require.GreaterOrEqual(t, totalSamples(raw), 6)
	r := promv1.Range{Start: T.Add(-5 * time.Second), End: T, Step: 500 * time.Millisecond}
	ranged := rangeQuery(t, api1, `sum(app_scrapes_total)`, r)
	require.Len(t, ranged, 1)

	require.Equal(t, -1, p1.stop(syscall.SIGKILL, 10*time.Second), "killed by a signal")
	require.NotContains(t, p1.Logs(), "See you next time", "no graceful shutdown happened")

	p2 := run.restart(t)
	api2 := p2.api()
	require.Equal(t, raw, rawSamples(t, api2, "app_scrapes_total", T), "raw samples before the kill")
	require.Equal(t, ranged, rangeQuery(t, api2, `sum(app_scrapes_total)`, r), "query_range before the kill")
	require.Contains(t, p2.Logs(), "WAL replay completed")
	// Scraping goes on after the restart.
	waitAtLeast(t, api2, `sum(count_over_time(app_scrapes_total[10m]))`, float64(totalSamples(raw)+3), 30*time.Second)
}

// TestGracefulShutdown: SIGTERM makes tokenpath exit 0, and the TSDB opens
// again cleanly with the data it had.
func TestGracefulShutdown(t *testing.T) {
	run := startCounting(t, 5)
	p1, T, raw := run.p, run.T, run.raw
	require.GreaterOrEqual(t, totalSamples(raw), 3)

	require.Equal(t, 0, p1.stop(syscall.SIGTERM, 30*time.Second), p1.Logs())
	require.Contains(t, p1.Logs(), "See you next time!")
	require.NotContains(t, p1.Logs(), "level=ERROR")
	_, err := os.Stat(p1.DataDir + "/wal")
	require.NoError(t, err, "the WAL directory is there")

	p2 := run.restart(t)
	require.Equal(t, raw, rawSamples(t, p2.api(), "app_scrapes_total", T))
	logs := p2.Logs()
	require.Contains(t, logs, "WAL replay completed")
	for _, bad := range []string{"corruption", "repair", "level=ERROR"} {
		require.NotContains(t, strings.ToLower(logs), strings.ToLower(bad), "a clean reopen")
	}
}

// reloadSuccessful reads prometheus_config_last_reload_successful from
// tokenpath's own /metrics.
func reloadSuccessful(t testing.TB, p *proc) float64 {
	t.Helper()
	code, body := p.get("/metrics", http.Header{"Accept": {"text/plain;version=0.0.4"}})
	require.Equal(t, http.StatusOK, code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err)
	mf, ok := fams["prometheus_config_last_reload_successful"]
	require.True(t, ok, "prometheus_config_last_reload_successful on /metrics")
	require.Len(t, mf.GetMetric(), 1)
	return mf.GetMetric()[0].GetGauge().GetValue()
}

func activeJobs(t testing.TB, api promv1.API) []string {
	t.Helper()
	res, err := api.Targets(ctxT(t))
	require.NoError(t, err)
	var jobs []string
	for _, at := range res.Active {
		if j := string(at.Labels["job"]); j != "tokenpath" {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

// TestReload: a changed configuration is picked up on SIGHUP and on POST
// /-/reload without losing data; a broken one is refused, says why, and the
// old one keeps running.
func TestReload(t *testing.T) {
	targets := map[string]string{"a": countingTarget(t), "b": countingTarget(t), "c": countingTarget(t)}
	cfgFile := writeFile(t, t.TempDir(), "tokenpath.yml", scrapeConfig(map[string]string{"a": targets["a"]}))
	rewrite := func(content string) { require.NoError(t, os.WriteFile(cfgFile, []byte(content), 0o600)) }
	p := start(t, procOpts{args: []string{"--config.file=" + cfgFile, "--web.enable-lifecycle"}})
	api := p.api()
	waitAtLeast(t, api, `sum(count_over_time(app_scrapes_total{job="a"}[10m]))`, 3, 60*time.Second)
	require.Equal(t, 1.0, reloadSuccessful(t, p))
	T := time.Now().Add(-2 * time.Second)
	beforeA := rawSamples(t, api, `app_scrapes_total{job="a"}`, T)
	require.NotEmpty(t, beforeA)

	t.Run("SIGHUP adds a target", func(t *testing.T) {
		rewrite(scrapeConfig(map[string]string{"a": targets["a"], "b": targets["b"]}))
		require.NoError(t, p.peer.Signal(syscall.SIGHUP))
		waitValue(t, api, `max(up{job="b"})`, 1, 30*time.Second)
		require.ElementsMatch(t, []string{"a", "b"}, activeJobs(t, api))
		require.Equal(t, beforeA, rawSamples(t, api, `app_scrapes_total{job="a"}`, T), "job a's data survives the reload")
		require.Equal(t, 1.0, reloadSuccessful(t, p))
	})

	t.Run("POST /-/reload adds a target", func(t *testing.T) {
		rewrite(scrapeConfig(targets))
		code, body := p.send(http.MethodPost, "/-/reload", nil, nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		waitValue(t, api, `max(up{job="c"})`, 1, 30*time.Second)
		require.ElementsMatch(t, []string{"a", "b", "c"}, activeJobs(t, api))
		require.Equal(t, beforeA, rawSamples(t, api, `app_scrapes_total{job="a"}`, T))
		require.Equal(t, 1.0, reloadSuccessful(t, p))
	})

	broken := "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['127.0.0.1:1']\n  bogus_field: 1\n"
	t.Run("POST /-/reload refuses a broken file", func(t *testing.T) {
		rewrite(broken)
		code, body := p.send(http.MethodPost, "/-/reload", nil, nil)
		require.Equal(t, http.StatusInternalServerError, code)
		require.Contains(t, string(body), "failed to reload config")
		require.Contains(t, string(body), cfgFile)
		require.Contains(t, string(body), "line 7")
		require.Contains(t, string(body), "bogus_field")
		require.Equal(t, 0.0, reloadSuccessful(t, p))
		ri, err := api.Runtimeinfo(ctxT(t))
		require.NoError(t, err)
		require.False(t, ri.ReloadConfigSuccess)
		cfg, err := api.Config(ctxT(t))
		require.NoError(t, err)
		require.Contains(t, cfg.YAML, "job_name: c", "the old configuration is still in effect")
		require.NotContains(t, cfg.YAML, "bogus_field")
	})

	t.Run("SIGHUP with a broken file keeps the old configuration", func(t *testing.T) {
		require.NoError(t, p.peer.Signal(syscall.SIGHUP))
		waitFor(t, 10*time.Second, "the failed reload to be logged twice", func() (bool, string) {
			n := strings.Count(p.Logs(), "Failed to apply configuration")
			return n >= 2, strconv.Itoa(n)
		})
		require.Equal(t, 0.0, reloadSuccessful(t, p))
		require.ElementsMatch(t, []string{"a", "b", "c"}, activeJobs(t, api))
		// The old targets are still scraped.
		now := time.Now()
		n := totalSamples(rawSamples(t, api, `app_scrapes_total{job="c"}`, now))
		waitAtLeast(t, api, `sum(count_over_time(app_scrapes_total{job="c"}[10m]))`, float64(n+2), 30*time.Second)
	})

	t.Run("a fixed file is accepted again", func(t *testing.T) {
		rewrite(scrapeConfig(map[string]string{"a": targets["a"]}))
		code, body := p.send(http.MethodPost, "/-/reload", nil, nil)
		require.Equal(t, http.StatusOK, code, "%s", body)
		require.Equal(t, 1.0, reloadSuccessful(t, p))
		waitFor(t, 30*time.Second, "jobs b and c to go", func() (bool, string) {
			jobs := activeJobs(t, api)
			return len(jobs) == 1 && jobs[0] == "a", fmt.Sprint(jobs)
		})
		require.Equal(t, beforeA, rawSamples(t, api, `app_scrapes_total{job="a"}`, T))
	})
}
