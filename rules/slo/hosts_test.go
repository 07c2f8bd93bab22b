package slo

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// onHost puts a host label (the external label a central engine's copies
// carry) on every series of a load script.
func onHost(host, load string) string {
	return strings.ReplaceAll(load, "{", `{host="`+host+`", `)
}

// TestHostsStayApart: the exported rules evaluated in a central engine see
// two boxes whose probe targets and instances are the same address
// (127.0.0.1:8000 on each): the gap, the SLO error ratios and the burn
// alerts stay per host — the numbers of TestReplicasStayApart, one box
// healthy, the other overloaded.
func TestHostsStayApart(t *testing.T) {
	t.Parallel()
	const inst = "127.0.0.1:8000"
	load := "load 1m\n" + onHost("a", healthyReplica("http://"+inst, inst)) + onHost("b", overloadedReplica("http://"+inst, inst))
	h := newHarness(t, time.Minute, ttftObjectiveFiles(t), load)
	h.EvalUntil(25 * time.Minute)

	gap := h.Series(`tokenpath:ttft_client_server_gap_seconds`)
	require.Len(t, gap, 2, "%v", gap)
	require.InDelta(t, 0.45-0.375, gap[`{host="a", instance="`+inst+`", model="m", quantile="0.5"}`], 1e-9)
	require.InDelta(t, 6.875-5, gap[`{host="b", instance="`+inst+`", model="m", quantile="0.5"}`], 1e-9)

	key := func(host, server string) string {
		slo, source := "probe-ttft-5s", "probe"
		if server != "probe" {
			slo, source = "server-ttft-5s", "server"
		}
		return `{host="` + host + `", indicator="ttft", instance="` + inst + `", model="m", server="` + server + `", slo="` + slo + `", source="` + source + `"}`
	}
	require.Equal(t, map[string]float64{
		key("a", "probe"): 0,
		key("b", "probe"): 0.8,
		key("a", "vllm"):  0,
		key("b", "vllm"):  0.5,
	}, roundAll(h.Series(`tokenpath:slo_errors:ratio_rate1h`)))
	require.Equal(t, map[string]string{key("b", "probe"): "firing", key("b", "vllm"): "firing"}, h.AlertStates(AlertFastBurn))
}
