package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"
)

// Two replicas of one model on one box, as the probe and SLO rules record
// them: the healthy one at :8000, the overloaded one at :8001 (and a probe
// of it spelled localhost, as a probe configured by hand may be).
const (
	replicaHealthy = "127.0.0.1:8000"
	replicaSlow    = "127.0.0.1:8001"
	replicaModel   = "llama-3-8b"
)

// replicasExposition serves the recorded series of two vLLM replicas of
// replicaModel with their probes, and the SLO series of each on a fresh
// install: six minutes of data in both windows.
func replicasExposition(float64) string {
	var b strings.Builder
	for _, r := range []struct {
		instance, probeInstance string
		ttft, probe             [2]float64 // p50, p99
		tokens                  float64
		attainment, budget      float64
	}{
		{replicaHealthy, replicaHealthy, [2]float64{0.02, 0.05}, [2]float64{0.025, 0.06}, 900, 1, 1},
		{replicaSlow, "localhost:8001", [2]float64{1.8, 4}, [2]float64{2.49, 4.5}, 150, 0.4, 0.9916},
	} {
		server := fmt.Sprintf(`server="vllm",model=%q,instance=%q,job="vllm"`, replicaModel, r.instance)
		probe := fmt.Sprintf(`server="probe",model=%q,instance=%q,job="tokenpath"`, replicaModel, r.probeInstance)
		for i, q := range []string{"0.5", "0.99"} {
			fmt.Fprintf(&b, "tokenpath:ttft_seconds:histogram_quantile{%s,quantile=%q} %g\n", server, q, r.ttft[i])
			fmt.Fprintf(&b, "tokenpath:ttft_seconds:histogram_quantile{%s,quantile=%q} %g\n", probe, q, r.probe[i])
		}
		fmt.Fprintf(&b, "tokenpath:generation_tokens:rate1m{%s} %g\n", server, r.tokens)
		fmt.Fprintf(&b, "tokenpath:requests_running{%s} 4\n", server)
		for _, o := range []struct{ slo, server string }{{"probe-ttft-5s", "probe"}, {"server-ttft-5s", "vllm"}} {
			l := fmt.Sprintf(`slo=%q,indicator="ttft",source=%q,server=%q,model=%q,instance=%q`,
				o.slo, strings.TrimSuffix(o.slo, "-ttft-5s"), o.server, replicaModel, r.instance)
			fmt.Fprintf(&b, "tokenpath:slo_attainment:ratio_rate1d{%s} %g\n", l, r.attainment)
			fmt.Fprintf(&b, "tokenpath:slo_error_budget_remaining:ratio{%s} %g\n", l, r.budget)
			fmt.Fprintf(&b, "tokenpath:slo_burn_rate:ratio_rate1h{%s} %g\n", l, (1-r.attainment)/0.01)
			fmt.Fprintf(&b, "tokenpath:slo_window_covered:seconds{%s,window=\"1d\"} 360\n", l)
			fmt.Fprintf(&b, "tokenpath:slo_window_covered:seconds{%s,window=\"30d\"} 360\n", l)
		}
	}
	for _, slo := range []string{"probe-ttft-5s", "server-ttft-5s"} {
		fmt.Fprintf(&b, "tokenpath:slo_objective:ratio{slo=%q,indicator=\"ttft\"} 0.99\n", slo)
	}
	return b.String()
}

// TestReplicasOfOneModel: each replica's row has its own probe numbers, and
// the SLO table has a row per replica, says it covers six minutes and
// follows the model and instance filters.
func TestReplicasOfOneModel(t *testing.T) {
	f := startPrometheus(t, replicasExposition, "", 0)
	ui := newUI(t, f.API)
	page := func(t *testing.T, target string) *goquery.Document { t.Helper(); return getOK(t, ui, target) }
	key := func(server, inst string) string { return server + "/" + replicaModel + "/" + inst }
	sloKeys := func(doc *goquery.Document) []string {
		return doc.Find(`[data-testid="slo-row"]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-key", "") })
	}

	t.Run("each row its own probe", func(t *testing.T) {
		doc := page(t, "/")
		rows := doc.Find(`[data-testid="server-row"]`)
		require.Equal(t, 2, rows.Length())
		healthy, slow := rows.Eq(0), rows.Eq(1)
		require.Equal(t, key("vllm", replicaHealthy), healthy.AttrOr("data-key", ""))
		require.Equal(t, key("vllm", replicaSlow), slow.AttrOr("data-key", ""))
		require.Equal(t, "probe 25 ms / 60 ms", healthy.Find(`[data-testid="probe-ttft"]`).Text())
		// The probe of localhost:8001 is the probe of 127.0.0.1:8001.
		require.Equal(t, "probe 2.49 s / 4.5 s", slow.Find(`[data-testid="probe-ttft"]`).Text())
		require.Equal(t, "20 ms", healthy.Find(`[data-testid="ttft-p50"]`).Text())
		require.Equal(t, "1.8 s", slow.Find(`[data-testid="ttft-p50"]`).Text())
		// Tokens per second per instance, not the model's total.
		require.Equal(t, "900", healthy.Find(`[data-testid="tokens"]`).Text())
		require.Equal(t, "150", slow.Find(`[data-testid="tokens"]`).Text())
	})

	t.Run("an SLO row per replica, over six minutes", func(t *testing.T) {
		doc := page(t, "/")
		require.Equal(t, []string{
			"probe-ttft-5s/probe/" + replicaModel + "/" + replicaHealthy,
			"probe-ttft-5s/probe/" + replicaModel + "/" + replicaSlow,
			"server-ttft-5s/vllm/" + replicaModel + "/" + replicaHealthy,
			"server-ttft-5s/vllm/" + replicaModel + "/" + replicaSlow,
		}, sloKeys(doc))
		slow := doc.Find(`[data-testid="slo-row"]`).Eq(1)
		require.Equal(t, replicaSlow, slow.Find(`[data-testid="slo-instance"]`).Text())
		require.Equal(t, "40.00%", slow.Find(`[data-testid="slo-attainment-value"]`).Text())
		require.Equal(t, "missed", slow.Find(`[data-testid="slo-missed"]`).Text())
		require.Equal(t, "over 6 min", slow.Find(`[data-testid="slo-attainment-span"]`).Text())
		require.Equal(t, "99%", slow.Find(`[data-testid="slo-budget-value"]`).Text())
		require.Equal(t, "over 6 min", slow.Find(`[data-testid="slo-budget-span"]`).Text())
		healthy := doc.Find(`[data-testid="slo-row"]`).Eq(0)
		require.Equal(t, "met", healthy.Find(`[data-testid="slo-met"]`).Text())
	})

	t.Run("the instance filter", func(t *testing.T) {
		doc := page(t, "/?instance="+replicaSlow)
		require.Equal(t, []string{
			"probe-ttft-5s/probe/" + replicaModel + "/" + replicaSlow,
			"server-ttft-5s/vllm/" + replicaModel + "/" + replicaSlow,
		}, sloKeys(doc))
		rows := doc.Find(`[data-testid="server-row"]`)
		require.Equal(t, 1, rows.Length())
		require.Equal(t, "probe 2.49 s / 4.5 s", rows.Find(`[data-testid="probe-ttft"]`).Text())
	})

	t.Run("the model filter", func(t *testing.T) {
		require.Len(t, sloKeys(page(t, "/?model="+replicaModel)), 4)
		doc := page(t, "/?model=another-model")
		require.Empty(t, sloKeys(doc))
		require.Equal(t, 1, doc.Find(`[data-testid="empty-slos"]`).Length())
	})
}
