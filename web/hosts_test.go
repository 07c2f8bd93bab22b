package web

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

// Two boxes of a fleet, as a central engine holds them: each runs vLLM
// serving the same model at the same address (127.0.0.1:8000, as a
// tokenpath next to its server scrapes it), each with its own probe,
// diagnosis, SLOs and GPU 0 — told apart only by the external label host.
const (
	hostFast      = "gpu-box-a"
	hostSlow      = "gpu-box-b"
	sharedAddress = "127.0.0.1:8000"
	fleetModel    = "llama-3-8b"
)

type fleetBox struct {
	host          string
	ttft, probe   [2]float64 // p50, p99
	tokens        float64
	cause         string
	attainment    float64
	gpuVRAMUsedGB float64
}

var fleetBoxes = []fleetBox{
	{hostFast, [2]float64{0.02, 0.05}, [2]float64{0.025, 0.06}, 900, "none", 1, 20},
	{hostSlow, [2]float64{1.8, 4}, [2]float64{2.49, 4.5}, 150, "queue_saturation", 0.4, 76},
}

func twoHostsExposition(float64) string {
	var b strings.Builder
	for _, box := range fleetBoxes {
		h := fmt.Sprintf("host=%q", box.host)
		server := fmt.Sprintf(`%s,server="vllm",model=%q,instance=%q,job="vllm"`, h, fleetModel, sharedAddress)
		// The probe is configured as localhost:8000 on both boxes.
		probe := fmt.Sprintf(`%s,server="probe",model=%q,instance="localhost:8000",job="tokenpath"`, h, fleetModel)
		for i, q := range []string{"0.5", "0.99"} {
			fmt.Fprintf(&b, "tokenpath:ttft_seconds:histogram_quantile{%s,quantile=%q} %g\n", server, q, box.ttft[i])
			fmt.Fprintf(&b, "tokenpath:ttft_seconds:histogram_quantile{%s,quantile=%q} %g\n", probe, q, box.probe[i])
		}
		fmt.Fprintf(&b, "tokenpath:generation_tokens:rate1m{%s} %g\n", server, box.tokens)
		fmt.Fprintf(&b, "tokenpath:requests_running{%s} 4\n", server)
		for _, cause := range []string{"none", "queue_saturation"} {
			v := 0
			if cause == box.cause {
				v = 1
			}
			fmt.Fprintf(&b, "tokenpath:diagnosis{%s,cause=%q} %d\n", server, cause, v)
		}
		l := fmt.Sprintf(`%s,slo="server-ttft-5s",indicator="ttft",source="server",server="vllm",model=%q,instance=%q`, h, fleetModel, sharedAddress)
		fmt.Fprintf(&b, "tokenpath:slo_attainment:ratio_rate1d{%s} %g\n", l, box.attainment)
		fmt.Fprintf(&b, "tokenpath_gpu_up{%s,instance=\"127.0.0.1:9090\",job=\"tokenpath\"} 1\n", h)
		gpu := fmt.Sprintf(`%s,gpu="0",uuid="GPU-%s",name="NVIDIA H100 80GB HBM3",instance="127.0.0.1:9090",job="tokenpath"`, h, box.host)
		fmt.Fprintf(&b, "gpu_vram_used_bytes{%s} %g\n", gpu, box.gpuVRAMUsedGB*1e9)
		fmt.Fprintf(&b, "gpu_vram_total_bytes{%s} 80e9\n", gpu)
	}
	fmt.Fprintf(&b, "tokenpath:slo_objective:ratio{%s} 0.99\n", `slo="server-ttft-5s",indicator="ttft"`)
	return b.String()
}

// twoHostsRules fires HighTTFT for the slow box only; the alert keeps host.
const twoHostsRules = `groups:
- name: fleet
  rules:
  - alert: HighTTFT
    expr: tokenpath:ttft_seconds:histogram_quantile{server="vllm",quantile="0.99"} > 1
`

// TestTwoHostsSameInstance: two hosts with the same model at the same
// instance address are two rows everywhere — token path (own TTFT, probe,
// tokens, diagnosis, alerts), SLOs, GPU cards, alerts — and the host
// selector narrows each page to one host, charts included.
func TestTwoHostsSameInstance(t *testing.T) {
	f := startPrometheus(t, twoHostsExposition, twoHostsRules, 0)
	ui := newUI(t, f.API)
	page := func(t *testing.T, target string) *goquery.Document { t.Helper(); return getOK(t, ui, target) }
	attrs := func(s *goquery.Selection, attr string) []string {
		return s.Map(func(_ int, x *goquery.Selection) string { return x.AttrOr(attr, "") })
	}
	rowKey := func(host string) string { return host + "/vllm/" + fleetModel + "/" + sharedAddress }
	type rowWant struct{ ttft, probe, tokens, cause, alerts string }
	want := map[string]rowWant{
		hostFast: {"20 ms", "probe 25 ms / 60 ms", "900", "none", "none"},
		hostSlow: {"1.8 s", "probe 2.49 s / 4.5 s", "150", "queue_saturation", "HighTTFT"},
	}

	tests := []struct {
		name  string
		query string
		hosts []string // rows, SLO rows, GPU cards and alerts, in order
	}{
		{"every host", "", []string{hostFast, hostSlow}},
		{"the fast box", "?host=" + hostFast, []string{hostFast}},
		{"the slow box", "?host=" + hostSlow, []string{hostSlow}},
		{"the slow box and its instance", "?host=" + hostSlow + "&instance=" + sharedAddress, []string{hostSlow}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := page(t, "/"+tc.query)
			sel := doc.Find(`[data-testid="filter-host"]`)
			require.Equal(t, []string{"", hostFast, hostSlow}, attrs(sel.Find("option"), "value"))
			if len(tc.hosts) == 1 {
				require.Equal(t, tc.hosts[0], sel.Find("option[selected]").AttrOr("value", ""))
			}
			rows := doc.Find(`[data-testid="server-row"]`)
			var keys []string
			for _, h := range tc.hosts {
				keys = append(keys, rowKey(h))
			}
			require.Equal(t, keys, attrs(rows, "data-key"))
			for i, h := range tc.hosts {
				row, w := rows.Eq(i), want[h]
				require.Equal(t, h, row.Find(`[data-testid="row-host"]`).Text())
				require.Equal(t, w.ttft, row.Find(`[data-testid="ttft-p50"]`).Text())
				require.Equal(t, w.probe, row.Find(`[data-testid="probe-ttft"]`).Text(), "the probe of this box, not of the other")
				require.Equal(t, w.tokens, row.Find(`[data-testid="tokens"]`).Text())
				require.Equal(t, w.cause, row.Find(`[data-testid="row-diagnosis"]`).AttrOr("data-cause", ""))
				require.Equal(t, w.alerts, strings.TrimSpace(row.Find(`[data-testid="row-alerts"]`).Text()))
			}
			var sloKeys []string
			for _, h := range tc.hosts {
				sloKeys = append(sloKeys, h+"/server-ttft-5s/vllm/"+fleetModel+"/"+sharedAddress)
			}
			require.Equal(t, sloKeys, attrs(doc.Find(`[data-testid="slo-row"]`), "data-key"))

			// Every chart query is narrowed to the chosen host.
			for _, c := range chartsOf(t, doc) {
				for _, q := range c.Queries {
					if len(tc.hosts) == 1 {
						require.Contains(t, q.Expr, `host="`+tc.hosts[0]+`"`, c.ID)
					} else {
						require.NotContains(t, q.Expr, `host="`, c.ID) // the panels' own host=~".*" matches every host
					}
				}
			}

			gpu := page(t, "/gpu"+tc.query)
			require.Equal(t, tc.hosts, gpu.Find(`[data-testid="gpu-host"]`).Map(func(_ int, s *goquery.Selection) string { return s.Text() }))
			require.Equal(t, 1, gpu.Find(`[data-testid="filter-host"]`).Length())

			alerts := page(t, "/alerts"+tc.query)
			firing := []string{}
			for _, h := range tc.hosts {
				if want[h].alerts != "none" {
					firing = append(firing, "HighTTFT")
				}
			}
			require.Equal(t, firing, attrs(alerts.Find(`[data-testid="alert-row"]`), "data-alert"))
			require.Equal(t, 1, alerts.Find(`[data-testid="filter-host"]`).Length())
		})
	}
}

// chartsOf reads the charts a page hands the browser.
func chartsOf(t *testing.T, doc *goquery.Document) []components.Chart {
	t.Helper()
	var out []components.Chart
	doc.Find(`[data-chart]`).Each(func(_ int, s *goquery.Selection) {
		var c components.Chart
		require.NoError(t, json.Unmarshal([]byte(s.AttrOr("data-chart", "")), &c))
		out = append(out, c)
	})
	require.NotEmpty(t, out)
	return out
}

// TestNarrowToHostEveryPanel: every series selector of every dashboard
// query, whatever its nesting, gets host="…"; an empty host changes nothing.
func TestNarrowToHostEveryPanel(t *testing.T) {
	var all []panels.Panel
	all = append(append(append(all, panels.TokenPath()...), panels.Latency()...), panels.GPU()...)
	var exprs []string
	for _, tb := range append(panels.Tables(), panels.RowDetailTables()...) {
		exprs = append(exprs, panels.Expand(tb.Expr, nil))
	}
	for _, p := range all {
		for _, q := range p.Queries {
			exprs = append(exprs, panels.Expand(q.Expr, nil))
		}
	}
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			same, err := narrowToHost(expr, "")
			require.NoError(t, err)
			require.Equal(t, expr, same)
			got, err := narrowToHost(expr, `box "7"`)
			require.NoError(t, err)
			e, err := promql.ParseExpr(got)
			require.NoError(t, err, got)
			selectors := 0
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					selectors++
					require.Contains(t, vs.LabelMatchers, labels.MustNewMatcher(labels.MatchEqual, "host", `box "7"`), got)
				}
				return nil
			})
			require.Positive(t, selectors)
		})
	}
}
