package grafana

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
	"github.com/ritwikareddykancharla/token-path-observability/rules"
)

// growingTarget serves a /metrics fixture whose counters and histograms grow
// with every scrape (the n-th scrape shows n times the fixture's values), so
// that rate() sees traffic; gauges stay as they are. Lines for which drop
// returns true are left out.
func growingTarget(t *testing.T, file string, drop func(line string) bool) string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	types := map[string]string{}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if drop != nil && drop(l) {
			continue
		}
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
		lines = append(lines, l)
	}
	require.NoError(t, sc.Err())
	grows := func(name string) bool {
		if types[name] == "counter" {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && types[base] == "histogram" {
				return true
			}
		}
		return false
	}
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := float64(scrapes.Add(1))
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		var out strings.Builder
		for _, l := range lines {
			if strings.HasPrefix(l, "#") || l == "" {
				out.WriteString(l + "\n")
				continue
			}
			name := l[:strings.IndexAny(l, "{ ")]
			i := strings.LastIndexByte(l, ' ')
			v, err := strconv.ParseFloat(l[i+1:], 64)
			if err != nil || !grows(name) {
				out.WriteString(l + "\n")
				continue
			}
			out.WriteString(l[:i+1] + strconv.FormatFloat(v*n, 'g', -1, 64) + "\n")
		}
		_, _ = w.Write([]byte(out.String()))
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return u.Host
}

// TestEveryChartHasDataFromTheRules evaluates tokenpath's own default rules
// (rules.DefaultRuleFiles) in Debian's Prometheus over vLLM V1, vLLM V0, TGI
// and GPU scrapes, and requires every chart query to return data. It checks
// the dashboards against the rules without building the whole binary; the
// --demo test checks them against the running program.
func TestEveryChartHasDataFromTheRules(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server; not in -short")
	}
	dir := t.TempDir()
	files, err := rules.DefaultRuleFiles(rules.DefaultThresholds())
	require.NoError(t, err)
	var ruleFiles []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		ruleFiles = append(ruleFiles, strconv.Quote(p))
	}

	// The fixtures of package export. The GPU fixture also carries the state
	// set the rules record here, so those lines are left out.
	fixture := func(name string) string { return filepath.Join("..", "export", "testdata", name) }
	v1 := growingTarget(t, fixture("vllm-v1-scrape.txt"), nil)
	v0 := growingTarget(t, fixture("vllm-v0-scrape.txt"), nil)
	tgi := growingTarget(t, fixture("tgi-scrape.txt"), nil)
	gpu := growingTarget(t, fixture("gpu-scrape.txt"), func(l string) bool { return strings.Contains(l, "tokenpath:gpu_state") })

	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: [%s]
scrape_configs:
  - job_name: vllm
    static_configs: [{targets: [%q, %q]}]
  - job_name: tgi
    static_configs: [{targets: [%q], labels: {model: bigscience/bloom-560m}}]
  - job_name: gpu
    static_configs: [{targets: [%q]}]
`, strings.Join(ruleFiles, ", "), v1, v0, tgi, gpu)
	prom := testbin.StartPrometheus(t, testbin.PrometheusOptions{Config: cfg})
	client, err := api.NewClient(api.Config{Address: prom.URL()})
	require.NoError(t, err)
	requireChartData(t, promv1.NewAPI(client), chartQueries(t))
}
