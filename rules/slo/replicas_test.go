package slo

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReplicasStayApart runs two replicas of one model, one healthy
// (127.0.0.1:8000) and one overloaded (127.0.0.1:8001), through the probe
// and SLO rules: every gap, error ratio and burn alert belongs to its own
// instance, and the alerts' annotations name it.
//
// Hand-worked numbers, every minute:
//
//   - healthy: 10 probes, all in the probe bucket (0.4, 0.5] s (p50 0.45 s,
//     mean 0.45 s); the server's own TTFT all in (0.25, 0.5] (p50 0.375 s,
//     mean 0.4 s). Gap 0.075 s (mean 0.05 s); no bad event at 5 s.
//   - overloaded: 10 probes, 2 in (2, 5] s and 8 in (5, 10] s: p50 =
//     5 + 5 × (5 − 2) / 8 = 6.875 s, mean 70 / 10 = 7 s, 80% over 5 s. The
//     server's own TTFT: 10% ≤ 2.5 s, 50% ≤ 5 s, 90% ≤ 7.5 s: p50 = 5 s
//     (the rank 0.5 ends the (2.5, 5] bucket), mean 5.5 s, 50% over 5 s.
//     Gap 6.875 − 5 = 1.875 s (mean 1.5 s), over the 1 s threshold.
//
// Merged by model (the old rules) both rows would read one gap, one error
// ratio and one alert.
func TestReplicasStayApart(t *testing.T) {
	t.Parallel()
	const (
		healthy = "127.0.0.1:8000"
		slow    = "127.0.0.1:8001"
	)
	load := "load 1m\n" + healthyReplica("http://"+healthy, healthy) + overloadedReplica("http://"+slow+"/", slow)
	h := newHarness(t, time.Minute, ttftObjectiveFiles(t), load)
	h.EvalUntil(25 * time.Minute)

	gap := func(inst string) string { return `{instance="` + inst + `", model="m", quantile="0.5"}` }
	got := h.Series(`tokenpath:ttft_client_server_gap_seconds`)
	require.Len(t, got, 2, "%v", got)
	require.InDelta(t, 0.45-0.375, got[gap(healthy)], 1e-9)
	require.InDelta(t, 6.875-5, got[gap(slow)], 1e-9)
	mean := h.Series(`tokenpath:ttft_client_server_gap_seconds:mean_rate5m`)
	require.Len(t, mean, 2, "%v", mean)
	require.InDelta(t, 0.45-0.4, mean[`{instance="`+healthy+`", model="m"}`], 1e-9)
	require.InDelta(t, 7-5.5, mean[`{instance="`+slow+`", model="m"}`], 1e-9)
	require.Equal(t, map[string]string{gap(slow): "firing"}, h.AlertStates(AlertClientServerGap))
	require.Equal(t,
		map[string]string{gap(slow): "Requests for m on 127.0.0.1:8001 wait 1.875s in front of the engine"},
		h.AlertAnnotation(AlertClientServerGap, "summary"))

	key := func(server, inst string) string {
		slo, source := "probe-ttft-5s", "probe"
		if server != "probe" {
			slo, source = "server-ttft-5s", "server"
		}
		return `{indicator="ttft", instance="` + inst + `", model="m", server="` + server + `", slo="` + slo + `", source="` + source + `"}`
	}
	require.Equal(t, map[string]float64{
		key("probe", healthy): 0,
		key("probe", slow):    0.8,
		key("vllm", healthy):  0,
		key("vllm", slow):     0.5,
	}, roundAll(h.Series(`tokenpath:slo_errors:ratio_rate1h`)))
	// Goodput: 10 probes a minute all good on the healthy replica, 2 on the
	// slow one; the servers' 1 request/s, half of it good on the slow one.
	require.Equal(t, roundAll(map[string]float64{
		key("probe", healthy): 10.0 / 60,
		key("probe", slow):    2.0 / 60,
		key("vllm", healthy):  1,
		key("vllm", slow):     0.5,
	}), roundAll(h.Series(`tokenpath:slo_goodput:rate5m`)))
	burning := map[string]string{key("probe", slow): "firing", key("vllm", slow): "firing"}
	require.Equal(t, burning, h.AlertStates(AlertFastBurn))
	require.Equal(t, burning, h.AlertStates(AlertSlowBurn))
	summaries := h.AlertAnnotation(AlertFastBurn, "summary")
	require.Equal(t, "SLO probe-ttft-5s of m on 127.0.0.1:8001 burns its error budget (page)", summaries[key("probe", slow)])
	require.Equal(t, "SLO server-ttft-5s of m on 127.0.0.1:8001 burns its error budget (page)", summaries[key("vllm", slow)])
	require.Contains(t, h.AlertAnnotation(AlertFastBurn, "description")[key("probe", slow)], "80% of ttft events of 127.0.0.1:8001 are over 5s")
}

// roundAll rounds every value to 1e-9, so that maps of hand-worked values
// compare with require.Equal.
func roundAll(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = math.Round(v*1e9) / 1e9
	}
	return out
}

// replicaSteps is how many one-minute steps the replica profiles run.
const replicaSteps = 40

// ttftObjectiveFiles renders the probe and the server TTFT objectives (5 s,
// 99%) that the replicas and hosts are judged by.
func ttftObjectiveFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files, _, err := RuleFiles([]Objective{
		{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceProbe},
		{Indicator: IndicatorTTFT, Threshold: 5 * time.Second, Target: 0.99, Source: SourceServer},
	}, nil)
	require.NoError(t, err)
	return files
}

// healthyReplica is the healthy profile of TestReplicasStayApart: the
// probes of probeTarget and the server's own TTFT on instance inst.
func healthyReplica(probeTarget, inst string) string {
	return probeSeriesAt(probeTarget, "m", replicaSteps, 10, 0, []string{"0.4", "0.5", "+Inf"}, []float64{0, 10, 10}, 4.5) +
		serverTTFTAt(inst, "vllm", "m", replicaSteps, []string{"0.25", "0.5", "+Inf"}, []float64{0, 1, 1}, 0.4)
}

// overloadedReplica is the overloaded profile of TestReplicasStayApart.
func overloadedReplica(probeTarget, inst string) string {
	return probeSeriesAt(probeTarget, "m", replicaSteps, 10, 0, []string{"2", "5", "10", "+Inf"}, []float64{0, 2, 10, 10}, 70) +
		serverTTFTAt(inst, "vllm", "m", replicaSteps, []string{"2.5", "5", "7.5", "+Inf"}, []float64{0.1, 0.5, 0.9, 1}, 5.5)
}
