package panels

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/stretchr/testify/require"
)

// legendVar is a {{label}} reference of a legend format.
var legendVar = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// fillLegend renders a legend format for a series the way Grafana and the
// web UI's legend() do: each {{label}} becomes its value, spaces collapse.
func fillLegend(format string, l labels.Labels) string {
	s := legendVar.ReplaceAllStringFunc(format, func(ref string) string {
		return l.Get(legendVar.FindStringSubmatch(ref)[1])
	})
	return strings.Join(strings.Fields(s), " ")
}

// replicaSeries are two replicas of one model on one box (same server
// kind, same model, ports 8000 and 8001) and two hosts whose GPUs are both
// GPU 0: series that differ by instance alone.
func replicaSeries() string {
	var b strings.Builder
	for _, inst := range []string{"10.0.0.1:8000", "10.0.0.1:8001"} {
		l := fmt.Sprintf(`server="vllm", model="llama", instance=%q, job="vllm"`, inst)
		for _, q := range []string{"ttft", "e2e", "itl"} {
			for _, quant := range []string{"0.5", "0.9", "0.99"} {
				extra := ""
				if q == "itl" {
					extra = `, measure="itl"`
				}
				fmt.Fprintf(&b, "  tokenpath:%s_seconds:histogram_quantile{%s, quantile=%q%s} 1\n", q, l, quant, extra)
			}
		}
		for _, name := range []string{
			"tokenpath:generation_tokens:rate1m", "tokenpath:prompt_tokens:rate1m", "tokenpath:requests_running",
			"tokenpath:requests_waiting", "tokenpath:kv_cache_usage:ratio", "tokenpath:queue_seconds:mean_rate1m",
			"tokenpath:prefill_seconds:mean_rate1m", "tokenpath:decode_seconds:mean_rate1m",
		} {
			fmt.Fprintf(&b, "  %s{%s} 1\n", name, l)
		}
	}
	for _, inst := range []string{"host-a:9090", "host-b:9090"} {
		l := fmt.Sprintf(`gpu="0", name="NVIDIA H100", uuid="GPU-%s", instance=%q, job="tokenpath"`, inst, inst)
		for _, name := range []string{
			"gpu_vram_used_bytes", "gpu_vram_total_bytes", "gpu_compute_utilization", "gpu_temperature_celsius",
			"gpu_power_draw_watts", "gpu_power_limit_watts", "gpu_memory_bandwidth_utilization",
			"gpu_sm_clock_hertz", "gpu_memory_clock_hertz",
		} {
			fmt.Fprintf(&b, "  %s{%s} 1\n", name, l)
		}
		for _, st := range []string{"idle", "balanced", "compute_bound", "memory_bound"} {
			fmt.Fprintf(&b, "  tokenpath:gpu_state{%s, state=%q} 1\n", l, st)
		}
	}
	return b.String()
}

// TestLegendsUniquePerSeries evaluates every chart's queries on series that
// differ only by instance and requires one legend per series in each chart:
// two replicas of a model, or GPU 0 of two hosts, never share a line name.
func TestLegendsUniquePerSeries(t *testing.T) {
	st := promqltest.LoadedStorage(t, "load 1m\n"+replicaSeries())
	ng := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	for _, p := range append(append(TokenPath(), Latency()...), GPU()...) {
		if p.Kind == KindHeatmap {
			continue // one series per bucket bound, named by le
		}
		t.Run(p.ID, func(t *testing.T) {
			seen := map[string]string{}
			for _, q := range p.Queries {
				expr := Expand(q.Expr, nil)
				iq, err := ng.NewInstantQuery(t.Context(), st, nil, expr, time.Unix(0, 0))
				require.NoError(t, err, expr)
				t.Cleanup(iq.Close)
				vec, err := iq.Exec(t.Context()).Vector()
				require.NoError(t, err, expr)
				require.NotEmpty(t, vec, expr)
				for _, s := range vec {
					name := fillLegend(q.Legend, s.Metric)
					prev, dup := seen[name]
					require.False(t, dup, "legend %q names both %s and %s", name, prev, s.Metric)
					seen[name] = s.Metric.String()
				}
			}
		})
	}
}

// TestPerModelTotalsSaySo: a query that sums a model's instances names
// itself a total of all instances.
func TestPerModelTotalsSaySo(t *testing.T) {
	for _, p := range append(TokenPath(), Latency()...) {
		for _, q := range p.Queries {
			if strings.HasPrefix(q.Expr, "sum by (host, model) (") {
				require.Contains(t, q.Legend, "(all instances)", "%s: %s", p.ID, q.Expr)
			}
		}
	}
}
