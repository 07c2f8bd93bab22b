package main_test

import (
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestDemoBackfill: a fresh `tokenpath --demo` answers a 24 h range query with data from
// the range's first step — the simulated servers' own series, the simulated GPUs' series
// (as the self-scrape stores them) and the series the embedded rules record from them —
// and over that day the diagnosis has gone through the cycle's causes, the GPU-bound ones
// included. A second start on the same data directory does not backfill again.
func TestDemoBackfill(t *testing.T) {
	dataDir := t.TempDir()
	// Everything stored at or before began is backfilled: the process starts after it.
	began := time.Now().Add(-time.Second)
	p := start(t, procOpts{keepRules: true, dataDir: dataDir, args: []string{"--demo", "--no-probe.enable"}})
	api := p.api()
	end := time.Now().Truncate(time.Second)
	r := promv1.Range{Start: end.Add(-24 * time.Hour), End: end, Step: 10 * time.Minute}
	first := model.TimeFromUnixNano(r.Start.UnixNano())
	for _, q := range []string{
		`up{job="vllm"}`, `up{job="tgi"}`,
		`vllm:num_requests_running`, `tgi_queue_size`,
		`rate(vllm:generation_tokens_total[5m])`,
		`tokenpath:requests_running{server="vllm"}`, `tokenpath:requests_running{server="tgi"}`,
		`tokenpath:ttft_seconds:histogram_quantile{server="vllm", quantile="0.99"}`,
		`tokenpath:diagnosis == 1`,
		// The long-range series that charts of 6 h and more read.
		`sum(tokenpath:ttft_seconds_bucket:rate5m{server="vllm"})`,
		`tokenpath:ttft_seconds:histogram_quantile_rate5m{server="vllm", quantile="0.99"}`,
		`tokenpath_gpu_up{job="tokenpath"}`,
	} {
		m := rangeQuery(t, api, q, r)
		require.NotEmpty(t, m, q)
		points := 0
		for _, s := range m {
			points += len(s.Values)
		}
		// One series per target from start to end (the live scrapes continue the backfilled
		// series: same labels), except the diagnosis, whose causes take turns.
		var firsts []model.Time
		for _, s := range m {
			firsts = append(firsts, s.Values[0].Timestamp)
		}
		sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
		require.Equal(t, first, firsts[0], "%s: the first step has a value (%d series, %d points)", q, len(m), points)
		// A percentile is missing where its window saw no request (an engine loading its model).
		require.GreaterOrEqual(t, points, 24*5, "%s: values through the day", q)
		if !strings.Contains(q, "diagnosis") && !strings.Contains(q, "quantile") && !strings.Contains(q, "rate5m") {
			require.Len(t, m, 1, "%s: the backfilled and the live series are one", q)
			require.Len(t, m[0].Values, 24*6+1, q)
		}
	}
	// The backfilled histograms stay cumulative at every scrape of the day, engine restarts
	// included (every counter of a target resets together, empty buckets too).
	every := promv1.Range{Start: began.Add(-24 * time.Hour), End: began, Step: 30 * time.Second}
	for _, q := range []string{
		`sum by (le) (tgi_request_duration_bucket)`,
		`sum by (le) (vllm:time_to_first_token_seconds_bucket)`,
	} {
		byStep := map[model.Time]map[float64]float64{}
		for _, s := range rangeQuery(t, api, q, every) {
			le, err := strconv.ParseFloat(string(s.Metric["le"]), 64)
			require.NoError(t, err)
			for _, v := range s.Values {
				if byStep[v.Timestamp] == nil {
					byStep[v.Timestamp] = map[float64]float64{}
				}
				byStep[v.Timestamp][le] = float64(v.Value)
			}
		}
		require.NotEmpty(t, byStep, q)
		for ts, counts := range byStep {
			les := make([]float64, 0, len(counts))
			for le := range counts {
				les = append(les, le)
			}
			slices.Sort(les)
			for i := 1; i < len(les); i++ {
				require.GreaterOrEqualf(t, counts[les[i]], counts[les[i-1]], "%s at %s: le=%g below le=%g", q, ts.Time(), les[i], les[i-1])
			}
		}
	}

	// Each of the eight simulated GPUs, from the first step to the last, as one series with
	// the live self-scrape's labels, and the GPU rules' series recorded from them.
	for _, q := range []string{
		`gpu_gpm_dram_bandwidth_utilization_percent`, `DCGM_FI_PROF_SM_ACTIVE`, `rate(gpu_energy_joules_total[5m])`,
		`tokenpath:gpu_memory_bandwidth:ratio`, `tokenpath:gpu_state{state="idle"}`,
		`tokenpath_inference_target_gpu{target_job="vllm"}`, `tokenpath_inference_target_gpu{target_job="tgi"}`,
	} {
		m := rangeQuery(t, api, q, r)
		require.Len(t, m, 8, q)
		for _, s := range m {
			require.Equal(t, "tokenpath", string(s.Metric["job"]), q)
			require.Equal(t, first, s.Values[0].Timestamp, "%s %s: the first step has a value", q, s.Metric)
			require.Len(t, s.Values, 24*6+1, "%s %s", q, s.Metric)
		}
	}
	// GPUs 0–3 follow the vLLM simulator and 4–7 TGI: decode-heavy turns made them memory
	// bound and prefill-heavy ones compute bound at some time of the backfilled day, and the
	// diagnosis said so for the servers they serve.
	for _, q := range []string{
		`max_over_time(tokenpath:gpu_state{state="memory_bound"}[1d]) == 1`,
		`max_over_time(tokenpath:gpu_state{state="compute_bound"}[1d]) == 1`,
	} {
		require.Len(t, instant(t, api, q, began), 8, q)
	}
	for _, q := range []string{
		`max_over_time(tokenpath:diagnosis{cause="memory_bandwidth_bound"}[1d]) == 1`,
		`max_over_time(tokenpath:diagnosis{cause="compute_bound"}[1d]) == 1`,
	} {
		got := instant(t, api, q, began)
		require.NotEmpty(t, got, q)
	}
	// The counters rise through the day: a day's worth of generated tokens (~1000/s at
	// load 1, less in the gentler turns), not a few minutes'.
	day := instant(t, api, `increase(vllm:generation_tokens_total[1d])`, end)
	require.Len(t, day, 1)
	require.Greater(t, float64(day[0].Value), 10e6)
	// The day went through the cycle's causes.
	causes := instant(t, api, `count by (cause) (count_over_time((tokenpath:diagnosis == 1)[1d:5m]))`, end)
	var seen []string
	for _, s := range causes {
		seen = append(seen, string(s.Metric["cause"]))
	}
	require.Subset(t, seen, []string{"none", "queue_saturation", "kv_cache_pressure", "prefill_interference", "memory_bandwidth_bound", "compute_bound", "engine_restart"})

	// Restarted on the same directory: the history is there, nothing is written twice.
	p.stop(syscall.SIGTERM, 30*time.Second)
	p2 := start(t, procOpts{keepRules: true, dataDir: dataDir, args: []string{"--demo", "--no-probe.enable"}})
	require.Contains(t, p2.Logs(), "Not backfilling: the TSDB already holds data")
	m := rangeQuery(t, p2.api(), `count(up{job="vllm"})`, r)
	require.Len(t, m, 1)
	require.Equal(t, first, m[0].Values[0].Timestamp)
}

// TestDemoBadFlags: a bad --demo.scenario (flag or variable) or --demo.backfill stops
// tokenpath with an error that names it, before anything is served.
func TestDemoBadFlags(t *testing.T) {
	bin := testbin.Binary(t)
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--demo.scenario=bogus"}, "", `--demo.scenario (or TOKENPATH_DEMO_SCENARIO): unknown scenario "bogus": want one of steady,`},
		{nil, "TOKENPATH_DEMO_SCENARIO=nope", `unknown scenario "nope"`},
		{[]string{"--demo.backfill=-1h"}, "", "--demo.backfill=-1h0m0s: must not be negative"},
	} {
		cmd := exec.Command(bin, append([]string{"--demo", "--storage.tsdb.path=" + t.TempDir(), "--web.listen-address=" + testbin.FreePort(t)}, tc.args...)...)
		cmd.Env = append(testbin.CleanEnv(), tc.env)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, string(out))
		require.Contains(t, string(out), tc.want)
	}
}
