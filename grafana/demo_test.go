package grafana

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// demoDeadline bounds the wait for the recording rules: rate1m series need
// two scrapes inside a minute, then a rule evaluation.
const demoDeadline = 90 * time.Second

// chartQueries returns every query a chart runs, with where it comes from:
// the targets of both dashboards, their variables' selectors, and the web
// UI's panels.
func chartQueries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	labelValues := regexp.MustCompile(`^label_values\((.+), *[a-z_]+\)$`)
	for _, name := range DashboardFiles() {
		b, err := fs.ReadFile(Files(), DashboardsDir+"/"+name)
		require.NoError(t, err)
		var d gDashboard
		require.NoError(t, json.Unmarshal(b, &d))
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				// The range variables at their short-range value: the 5 m
				// series come at most every 5 minutes (rules/testdata/
				// longrange.promqltest checks their values).
				expr := panels.Expand(tg.Expr, map[string]string{panels.VarBucketRate: "rate1m", panels.VarQuantile: "histogram_quantile"})
				out[expr] = fmt.Sprintf("%s panel %q %s", name, p.Title, tg.RefID)
			}
		}
		for _, v := range d.Templating.List {
			if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
				out[m[1]] = fmt.Sprintf("%s variable %s", name, v.Name)
			}
		}
	}
	for set, ps := range map[string][]panels.Panel{"TokenPath": panels.TokenPath(), "Latency": panels.Latency(), "GPU": panels.GPU()} {
		for _, p := range ps {
			for _, q := range p.Queries {
				if _, ok := out[q.Expr]; !ok {
					out[q.Expr] = fmt.Sprintf("panels.%s %s", set, p.ID)
				}
			}
		}
	}
	return out
}

// requireChartData waits, at most demoDeadline, until every query returns
// data, and fails naming each one that never does.
func requireChartData(t *testing.T, a promv1.API, queries map[string]string) {
	t.Helper()
	pending := slices.Sorted(maps.Keys(queries))
	lastErr := map[string]error{}
	deadline := time.Now().Add(demoDeadline)
	for len(pending) > 0 && time.Now().Before(deadline) {
		pending = slices.DeleteFunc(pending, func(q string) bool {
			v, _, _, err := a.Query(t.Context(), panels.Expand(q, nil), time.Now())
			lastErr[q] = err
			return err == nil && len(v.(model.Vector)) > 0
		})
		if len(pending) > 0 {
			time.Sleep(2 * time.Second)
		}
	}
	var msg strings.Builder
	for _, q := range pending {
		fmt.Fprintf(&msg, "\n%s (%s): no data after %s (last error: %v)", queries[q], panels.Expand(q, nil), demoDeadline, lastErr[q])
	}
	require.Empty(t, pending, "chart queries without data:%s", msg.String())
	t.Logf("all %d chart queries return data", len(queries))
}

// TestEveryChartHasDataFromTheDemo runs a whole tokenpath with --demo and
// requires every chart query to return data once the rules have run: a
// renamed series or a rule that never matches fails here, not in front of a
// user.
func TestEveryChartHasDataFromTheDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole tokenpath; not in -short")
	}
	// Steady load: the demo's cycle follows the wall clock, and during its
	// kv_cache_pressure turn every probe times out, so the probe TTFT panels
	// would have no data for minutes whenever a run started then.
	p := testbin.Start(t, testbin.Options{Args: []string{"--demo", "--demo.scenario=steady", "--scrape.interval=1s"}})
	client, err := api.NewClient(api.Config{Address: p.URL})
	require.NoError(t, err)
	a := promv1.NewAPI(client)

	queries := chartQueries(t)
	requireChartData(t, a, queries)

	// Selecting one value of a variable, the way the UI and Grafana do,
	// narrows the result to it.
	for _, v := range []struct{ name, label, probe string }{
		// The model of a vLLM server: it reports every quantity the charts show.
		{panels.VarModel, "model", "tokenpath:ttft_seconds_bucket:rate1m"},
		{panels.VarGPU, "gpu", "gpu_vram_total_bytes"},
	} {
		vals, _, _, err := a.LabelValues(t.Context(), v.label, []string{v.probe}, time.Time{}, time.Time{})
		require.NoError(t, err)
		var chosen string
		for _, lv := range vals {
			if lv != "" {
				chosen = string(lv)
				break
			}
		}
		require.NotEmpty(t, chosen, "no %s values in the demo", v.label)
		for expr, where := range queries {
			if !strings.Contains(expr, "$"+v.name) {
				continue
			}
			e := panels.Expand(expr, map[string]string{v.name: panels.Regex(chosen)})
			res, _, _, err := a.Query(t.Context(), e, time.Now())
			require.NoError(t, err, e)
			vec := res.(model.Vector)
			require.NotEmpty(t, vec, "%s with %s=%s: %s", where, v.name, chosen, e)
			for _, s := range vec {
				if got, ok := s.Metric[model.LabelName(v.label)]; ok {
					require.Equal(t, chosen, string(got), "%s: %s", where, e)
				}
			}
		}
	}
}
