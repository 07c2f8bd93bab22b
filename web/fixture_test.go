package web

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// prometheusBin is Debian's prometheus package: a real implementation of the
// HTTP API the UI reads, so handler tests need no hand-written fake.
const prometheusBin = "/usr/bin/prometheus"

// promtoolBin comes with the same Debian package; it backfills history.
const promtoolBin = "/usr/bin/promtool"

// fullExposition is what the fixture target serves: the unified token-path
// series of a vLLM server, a TGI server and the probe, with GPU series of two
// GPUs. The colon names are recording-rule outputs in real tokenpath; here
// they are scraped as they are (honor_labels keeps instance and job).
//
// load (0–1) scales throughput and latencies so that history looks alive.
func fullExposition(load float64) string {
	var b strings.Builder
	lat := 0.7 + 0.6*load
	vllm := `server="vllm",model="llama-3-8b",instance="127.0.0.1:8000",job="vllm"`
	tgi := `server="tgi",model="",instance="127.0.0.1:8080",job="tgi"`
	probe := `server="probe",model="llama-3-8b",instance="127.0.0.1:8000",job="tokenpath"` // the probe of the vLLM server
	qs := map[string][3]float64{
		"ttft": {0.12, 0.35, 0.9}, "itl": {0.02, 0.03, 0.06}, "e2e": {2.5, 4, 7},
		"queue": {0.01, 0.05, 0.2}, "prefill": {0.1, 0.25, 0.6}, "decode": {2.3, 3.6, 6},
	}
	for q, v := range qs {
		for i, quant := range []string{"0.5", "0.9", "0.99"} {
			extra := ""
			if q == "itl" {
				extra = `,measure="itl"`
			}
			fmt.Fprintf(&b, "tokenpath:%s_seconds:histogram_quantile{%s,quantile=%q%s} %g\n", q, vllm, quant, extra, v[i]*lat)
			tgiExtra := ""
			switch q {
			case "itl":
				tgiExtra = `,measure="tpot"`
			case "ttft":
				tgiExtra = `,estimate="queue_plus_prefill"`
			}
			fmt.Fprintf(&b, "tokenpath:%s_seconds:histogram_quantile{%s,quantile=%q%s} %g\n", q, tgi, quant, tgiExtra, 2*v[i])
		}
		fmt.Fprintf(&b, "tokenpath:%s_seconds:mean_rate1m{%s} %g\n", q, vllm, v[0]*1.1)
	}
	fmt.Fprintf(&b, "tokenpath:ttft_seconds:histogram_quantile{%s,quantile=\"0.5\"} 0.15\n", probe)
	fmt.Fprintf(&b, "tokenpath:ttft_seconds:histogram_quantile{%s,quantile=\"0.99\"} 1.1\n", probe)
	// Cumulative per-bucket rates, as rate(…_bucket[1m]) gives them.
	buckets := map[string][]struct {
		le   string
		rate float64
	}{
		"ttft": {{"0.05", 0.5}, {"0.1", 2}, {"0.25", 6}, {"0.5", 9}, {"1", 9.8}, {"2.5", 10}, {"+Inf", 10}},
		"itl":  {{"0.01", 20}, {"0.025", 300}, {"0.05", 420}, {"0.1", 450}, {"+Inf", 450}},
		"e2e":  {{"1", 0.5}, {"2.5", 5}, {"5", 9}, {"10", 10}, {"+Inf", 10}},
	}
	for q, bs := range buckets {
		for _, bk := range bs {
			fmt.Fprintf(&b, "tokenpath:%s_seconds_bucket:rate1m{%s,le=%q} %g\n", q, vllm, bk.le, bk.rate*(0.2+load))
		}
	}
	for _, s := range []struct {
		name string
		v    float64
	}{
		{"tokenpath:generation_tokens:rate1m", 1234.5},
		{"tokenpath:prompt_tokens:rate1m", 4321},
		{"tokenpath:requests:rate1m", 10},
		{"tokenpath:requests_running", 24},
		{"tokenpath:requests_waiting", 3},
		{"tokenpath:kv_cache_usage:ratio", 0.42},
		{"tokenpath:request_errors:ratio_rate1m", 0.015},
	} {
		fmt.Fprintf(&b, "%s{%s} %g\n", s.name, vllm, s.v*2*load)
		fmt.Fprintf(&b, "%s{%s} %g\n", s.name, tgi, s.v*load)
	}
	b.WriteString(`tokenpath_gpu_up{instance="127.0.0.1:9090",job="tokenpath"} 1` + "\n")
	gpu1 := "idle"
	if load > 0.7 {
		gpu1 = "balanced"
	}
	for _, g := range []struct{ idx, uuid, state string }{{"0", "GPU-aaaa", "memory_bound"}, {"1", "GPU-bbbb", gpu1}} {
		l := fmt.Sprintf(`gpu=%q,uuid=%q,name="NVIDIA H100 80GB HBM3",instance="127.0.0.1:9090",job="tokenpath"`, g.idx, g.uuid)
		for name, v := range map[string]float64{
			"gpu_vram_used_bytes": 76e9, "gpu_vram_total_bytes": 80e9, "gpu_compute_utilization": 35,
			"gpu_memory_bandwidth_utilization": 88, "gpu_temperature_celsius": 67, "gpu_power_draw_watts": 512,
			"gpu_power_limit_watts": 700, "gpu_sm_clock_hertz": 1.98e9, "gpu_memory_clock_hertz": 2.6e9,
		} {
			fmt.Fprintf(&b, "%s{%s} %g\n", name, l, v)
		}
		for _, st := range []string{"idle", "memory_bound", "compute_bound", "balanced"} {
			v := 0
			if st == g.state {
				v = 1
			}
			fmt.Fprintf(&b, "tokenpath:gpu_state{%s,state=%q} %d\n", l, st, v)
		}
		fmt.Fprintf(&b, "gpu_clock_throttle_active{%s,reason=\"sw_power_cap\"} %s\n", l, map[string]string{"0": "1", "1": "0"}[g.idx])
		fmt.Fprintf(&b, "gpu_process_memory_used_bytes{%s,pid=\"4242\",process_name=\"python3\"} 7.2e10\n", l)
	}
	// The 5 m long-range series that charts of 6 h and more read
	// (rules/defaults/longrange.rules.yml.tmpl), with the 1 m series' values.
	for _, l := range strings.Split(b.String(), "\n") {
		if long := longRangeName.Replace(l); long != l {
			b.WriteString(long + "\n")
		}
	}
	return b.String()
}

// longRangeName renames a 1 m bucket rate or percentile to its 5 m series.
var longRangeName = strings.NewReplacer("_seconds_bucket:rate1m{", "_seconds_bucket:rate5m{", "_seconds:histogram_quantile{", "_seconds:histogram_quantile_rate5m{")

// fixtureRules fires one alert on the vLLM row and has one rule that fails
// at evaluation (duplicate series after the rename), for the rules table.
const fixtureRules = `groups:
- name: fixture
  interval: 1s
  rules:
  - alert: HighTTFT
    expr: tokenpath:ttft_seconds:histogram_quantile{quantile="0.99",server="vllm"} > 0.5
    annotations:
      summary: p99 TTFT above 500ms
  - alert: NeverFires
    expr: vector(1) == 2
  - record: tokenpath:fixture_broken
    expr: '{__name__=~"tokenpath:(e2e|queue)_seconds:histogram_quantile",server="vllm",quantile="0.5"}'
`

// promFixture is a running Debian prometheus scraping a fixture target.
type promFixture struct {
	URL string
	API promv1.API
}

// liveLoad is the load the fixture target serves now; the handler tests'
// expected numbers are the exposition's values at this load.
const liveLoad = 0.5

// startPrometheus runs Debian's Prometheus (testbin.StartPrometheus) scraping
// a target that serves exposition(liveLoad) every second, and waits until the
// first scrape and rule evaluation are visible through the API. With history
// > 0, promtool first backfills that much past data (one sample every two
// minutes, load varying over the day), so that 24 h charts have lines.
func startPrometheus(t *testing.T, exposition func(load float64) string, rules string, history time.Duration) *promFixture {
	t.Helper()
	testbin.RequirePeer(t, prometheusBin, "prometheus")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, exposition(liveLoad))
	}))
	t.Cleanup(target.Close)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if history > 0 {
		backfill(t, exposition, history, dataDir)
	}
	ruleFile := filepath.Join(dir, "rules.yml")
	require.NoError(t, os.WriteFile(ruleFile, []byte(cmp.Or(rules, "groups: []\n")), 0o600))
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
- job_name: fixture
  honor_labels: true
  static_configs:
  - targets: [%q]
    labels: {server: vllm}
`, ruleFile, strings.TrimPrefix(target.URL, "http://"))
	prom := testbin.StartPrometheus(t, testbin.PrometheusOptions{Config: cfg, DataDir: dataDir})
	f := &promFixture{URL: prom.URL()}
	c, err := promapi.NewClient(promapi.Config{Address: f.URL})
	require.NoError(t, err)
	f.API = promv1.NewAPI(c)
	deadline := time.Now().Add(30 * time.Second)
	for !f.ready(t.Context(), rules != "") {
		if time.Now().After(deadline) {
			t.Fatalf("prometheus has not scraped the fixture (and evaluated its rules) after 30s:\n%s", testbin.Tail(prom.Logs(), 5000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return f
}

// ready reports whether the target has been scraped twice (so rates and
// range queries have points) and, with rules, evaluated.
func (f *promFixture) ready(ctx context.Context, withRules bool) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v, _, _, err := f.API.Query(ctx, `count_over_time(up{job="fixture"}[1m])`, time.Time{})
	if err != nil {
		return false
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) == 0 || vec[0].Value < 2 {
		return false
	}
	if !withRules {
		return true
	}
	r, err := f.API.Rules(ctx, nil)
	if err != nil || len(r.Groups) == 0 {
		return false
	}
	for _, rule := range r.Groups[0].Rules {
		if a, ok := rule.(promv1.AlertingRule); ok && a.LastEvaluation.IsZero() {
			return false
		}
	}
	return true
}

// backfill writes OpenMetrics samples for the past and turns them into TSDB
// blocks with Debian's promtool.
func backfill(t *testing.T, exposition func(load float64) string, history time.Duration, dataDir string) {
	t.Helper()
	var om strings.Builder
	// History stops beyond the 5m lookback, so instant queries see only the
	// live scrape (whose target labels the backfilled lines lack).
	end := time.Now().Add(-6 * time.Minute).Truncate(2 * time.Minute)
	for ts := end.Add(-history); !ts.After(end); ts = ts.Add(2 * time.Minute) {
		day := float64(ts.Unix()%86400) / 86400
		load := 0.5 + 0.45*math.Sin(2*math.Pi*day*3)
		for _, line := range strings.Split(strings.TrimSpace(exposition(load)), "\n") {
			fmt.Fprintf(&om, "%s %d\n", line, ts.Unix())
		}
	}
	om.WriteString("# EOF\n")
	in := filepath.Join(t.TempDir(), "history.om")
	require.NoError(t, os.WriteFile(in, []byte(om.String()), 0o600))
	require.NoError(t, os.MkdirAll(dataDir, 0o755))
	out, err := exec.Command(promtoolBin, "tsdb", "create-blocks-from", "openmetrics", "--quiet", in, dataDir).CombinedOutput()
	require.NoError(t, err, "promtool backfill: %s", out)
}

// newUI returns a UI reading from the fixture, logging to the test log.
func newUI(t *testing.T, api promv1.API) *UI {
	t.Helper()
	u, err := New(Options{Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)), API: api, Version: "v0.0.0-test"})
	require.NoError(t, err)
	return u
}

// serveUI serves the UI and, like tokenpath does, /api/v1 on one origin:
// the API part is proxied to the fixture's prometheus.
func serveUI(t *testing.T, f *promFixture) string {
	t.Helper()
	target, err := url.Parse(f.URL)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", httputil.NewSingleHostReverseProxy(target))
	mux.Handle("/", newUI(t, f.API))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
