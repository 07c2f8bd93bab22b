package components

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"
)

func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, c.Render(t.Context(), &buf))
	doc, err := goquery.NewDocumentFromReader(&buf)
	require.NoError(t, err)
	return doc
}

func testPage(title, path string) Page {
	return Page{
		Title: title, Path: path, Version: "v1.2.3", AssetJS: "/static/app.js?v=1", AssetCSS: "/static/app.css?v=1",
		Controls: Controls{Show: true, Range: "6h", Refresh: "30s", Model: "m<1>", Filter: true, Models: []string{"a", "b"}},
	}
}

func one(t *testing.T, doc *goquery.Document, testid string) *goquery.Selection {
	t.Helper()
	s := doc.Find(`[data-testid="` + testid + `"]`)
	require.Equal(t, 1, s.Length(), "exactly one %s", testid)
	return s
}

func vs(v float64) Value { return Value{V: v, OK: true} }

func TestLayout(t *testing.T) {
	doc := render(t, Latency(LatencyPage{Page: testPage("Latency", "/latency")}))
	require.Equal(t, "Latency · tokenpath", doc.Find("title").Text())
	require.Equal(t, "v1.2.3", one(t, doc, "version").Text())
	require.Equal(t, "/static/app.js?v=1", doc.Find("script").AttrOr("src", ""))
	require.Equal(t, 1, doc.Find("script").Length())
	cur := doc.Find(`nav a[aria-current]`)
	require.Equal(t, "Latency", cur.Text())
	// Nav links keep the range, refresh and filter.
	require.Equal(t, "/gpu?model=m%3C1%3E&range=6h&refresh=30s", one(t, doc, "nav-GPU").AttrOr("href", ""))
	require.Equal(t, "6h", one(t, doc, "range").Find("option[selected]").AttrOr("value", ""))
	require.Equal(t, "30s", one(t, doc, "refresh").Find("option[selected]").AttrOr("value", ""))
	// A model in the URL but not in the data stays selectable; the value is escaped.
	require.Equal(t, "m<1>", one(t, doc, "filter-model").Find("option[selected]").AttrOr("value", ""))
	require.Equal(t, []string{"", "a", "b", "m<1>"}, one(t, doc, "filter-model").Find("option").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") }))
	_, hidden := one(t, doc, "custom-range").Attr("hidden")
	require.True(t, hidden)
	require.Equal(t, 0, doc.Find(`[data-testid="page-error"]`).Length())
}

func TestLayoutVariants(t *testing.T) {
	tests := []struct {
		name  string
		page  Page
		check func(t *testing.T, doc *goquery.Document)
	}{
		{"error banner", Page{Title: "X", Error: "query failed: <boom>"}, func(t *testing.T, doc *goquery.Document) {
			require.Equal(t, "query failed: <boom>", one(t, doc, "page-error").Text())
		}},
		{"no controls", Page{Title: "X"}, func(t *testing.T, doc *goquery.Document) {
			require.Equal(t, 0, doc.Find(`[data-testid="controls"]`).Length())
		}},
		{"custom range", Page{Title: "X", Path: "/", Controls: Controls{Show: true, Range: "custom", From: "2026-01-01T00:00", To: "2026-01-02T00:00"}}, func(t *testing.T, doc *goquery.Document) {
			s := one(t, doc, "custom-range")
			_, hidden := s.Attr("hidden")
			require.False(t, hidden)
			require.Equal(t, "2026-01-01T00:00", s.Find(`input[name="from"]`).AttrOr("value", ""))
			require.Equal(t, 0, doc.Find(`[data-testid="filter-model"]`).Length())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, render(t, Latency(LatencyPage{Page: tc.page})))
		})
	}
}

func TestChartPanelStateLegend(t *testing.T) {
	doc := render(t, ChartPanel(Chart{ID: "gpu_state", Kind: "state-timeline", Mappings: []ChartMapping{
		{Value: 0, Text: "idle", Color: "blue"}, {Value: 3, Text: "memory-bound", Color: "orange"},
	}}))
	items := one(t, doc, "state-legend").Find("li")
	require.Equal(t, []string{"idle", "memory-bound"}, items.Map(func(_ int, s *goquery.Selection) string { return s.Text() }))
	require.True(t, items.Eq(1).Find("i").HasClass("swatch-orange"))
	require.Equal(t, 0, render(t, ChartPanel(Chart{ID: "x"})).Find(`[data-testid="state-legend"]`).Length())
}

func TestChartPanel(t *testing.T) {
	c := Chart{
		ID: "ttft", Title: "TTFT", Description: "why", Kind: "heatmap", Unit: "s",
		Queries: []ChartQuery{{Expr: `sum by (le) (x{model=~"a\"b"})`, Legend: "{{le}}"}},
	}
	doc := render(t, ChartPanel(c))
	s := one(t, doc, "chart-ttft")
	require.Equal(t, "heatmap", s.AttrOr("data-kind", ""))
	require.Equal(t, "loading", s.AttrOr("data-state", ""))
	var got Chart
	require.NoError(t, json.Unmarshal([]byte(s.AttrOr("data-chart", "")), &got))
	require.Equal(t, c.Queries, got.Queries)
	require.Equal(t, "TTFT", got.Title)
	require.Equal(t, "TTFT", s.Find("h3").Text())
}

func TestTokenPath(t *testing.T) {
	rows := []ServerRow{
		{
			Server: "vllm", Model: "llama", Instance: "h:8000",
			TTFT: Quantiles{vs(0.1), vs(0.2), vs(0.5)},
			ITL:  Quantiles{P50: vs(0.02), P99: vs(0.05)}, ITLMeasure: "itl",
			E2E:   Quantiles{P99: vs(8)},
			Queue: Quantiles{P50: vs(0.1), P99: vs(1)}, Prefill: Quantiles{P50: vs(0.2), P99: vs(1)}, Decode: Quantiles{P50: vs(1), P99: vs(2)},
			ProbeTTFT:    &Quantiles{P50: vs(0.15), P99: vs(0.7)},
			TokensPerSec: vs(250), Running: vs(8), Waiting: vs(0), KVCache: vs(0.5), ErrorRate: vs(0),
			Alerts: []string{"HighTTFT"},
		},
		{Server: "tgi", Instance: "h:8080", TTFTEstimate: true, ITLMeasure: "tpot"},
	}
	tests := []struct {
		name  string
		view  TokenPathPage
		check func(t *testing.T, doc *goquery.Document)
	}{
		{"empty", TokenPathPage{Page: testPage("Token path", "/")}, func(t *testing.T, doc *goquery.Document) {
			require.Contains(t, one(t, doc, "empty-servers").Text(), "set VLLM_ENDPOINT")
			require.Equal(t, 0, doc.Find(`[data-testid="server-table"]`).Length())
			require.Contains(t, one(t, doc, "empty-slos").Text(), "--slo.enable")
			require.Equal(t, 0, doc.Find(`[data-testid="slo-table"]`).Length())
		}},
		{"slos", TokenPathPage{Page: testPage("Token path", "/"), SLOs: []SLORow{
			{Model: "llama", Instance: "h:8000", SLO: "probe-ttft-5s", Server: "probe", Objective: vs(0.99), Attainment: vs(0.995), BudgetRemaining: vs(0.5), BurnRate: vs(0.4)},
			{Model: "llama", SLO: "server-itl-100ms", Server: "vllm", Objective: vs(0.99), Attainment: vs(0.9), BudgetRemaining: vs(0), BurnRate: vs(14.4)},
			{SLO: "server-ttft-5s", Server: "sglang", Objective: vs(0.99)},
		}}, func(t *testing.T, doc *goquery.Document) {
			trs := doc.Find(`[data-testid="slo-row"]`)
			require.Equal(t, 3, trs.Length())
			met := trs.Eq(0)
			require.Equal(t, "probe-ttft-5s/probe/llama/h:8000", met.AttrOr("data-key", ""))
			require.Equal(t, "h:8000", met.Find(`[data-testid="slo-instance"]`).Text())
			require.Equal(t, "99.50%", met.Find(`[data-testid="slo-attainment-value"]`).Text())
			require.Equal(t, "met", met.Find(`[data-testid="slo-met"]`).Text())
			require.Equal(t, "50%", met.Find(`[data-testid="slo-budget-value"]`).Text())
			require.Equal(t, 0, met.Find(`[data-testid="slo-attainment-span"], [data-testid="slo-budget-span"]`).Length(), "coverage unknown: no span claimed")
			missed := trs.Eq(1)
			require.Equal(t, "missed", missed.Find(`[data-testid="slo-missed"]`).Text())
			require.Equal(t, "14.4", missed.Find(`[data-testid="slo-burn"]`).Text())
			none := trs.Eq(2)
			require.Equal(t, "—", none.Find(`[data-testid="slo-attainment-value"]`).Text())
			require.Equal(t, 0, none.Find(`[data-testid="slo-met"], [data-testid="slo-missed"]`).Length())
			require.Contains(t, none.Find(`[data-testid="slo-model"]`).Text(), "model not reported")
		}},
		{"rows", TokenPathPage{Page: testPage("Token path", "/"), Rows: rows, Charts: []Chart{{ID: "a"}, {ID: "b"}}}, func(t *testing.T, doc *goquery.Document) {
			trs := doc.Find(`[data-testid="server-row"]`)
			require.Equal(t, 2, trs.Length())
			v := trs.Eq(0)
			require.Equal(t, "vllm/llama/h:8000", v.AttrOr("data-key", ""))
			for id, want := range map[string]string{
				"ttft-p50": "100 ms", "ttft-p90": "200 ms", "ttft-p99": "500 ms", "itl-p50": "20 ms", "itl-p99": "50 ms",
				"e2e-p99": "8 s", "tokens": "250", "running": "8", "waiting": "0", "kv-cache": "50%", "error-rate": "0.0%",
			} {
				require.Equal(t, want, v.Find(`[data-testid="`+id+`"]`).Text(), id)
			}
			require.Equal(t, "probe 150 ms / 700 ms", v.Find(`[data-testid="probe-ttft"]`).Text())
			require.Equal(t, "HighTTFT", v.Find(`[data-testid="row-alert"]`).Text())
			// Bars scale to the longest P99 lifecycle (4 s): P99 is 25/25/50 %.
			require.Equal(t, "width:25.00%;", v.Find(`[data-testid="bar-p99"] .queue`).AttrOr("style", ""))
			require.Equal(t, "width:50.00%;", v.Find(`[data-testid="bar-p99"] .decode`).AttrOr("style", ""))
			require.Equal(t, "width:2.50%;", v.Find(`[data-testid="bar-p50"] .queue`).AttrOr("style", ""))
			require.Equal(t, "/latency?instance=h%3A8000&model=llama&range=6h&refresh=30s#chart-ttft_percentiles", v.Find(`[data-testid="ttft-p50"]`).AttrOr("href", ""))
			g := trs.Eq(1)
			require.Equal(t, "—", g.Find(`[data-testid="ttft-p50"]`).Text())
			require.Contains(t, g.Text(), "estimate")
			require.Contains(t, g.Text(), "TPOT")
			require.Contains(t, g.Find(`[data-testid="row-model"]`).Text(), "model not reported")
			require.Equal(t, 0, g.Find(`[data-testid="probe-ttft"]`).Length())
			require.Equal(t, []string{"chart-a", "chart-b"}, doc.Find("section.chart").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-testid", "") }))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, render(t, TokenPath(tc.view))) })
	}
}

func TestGPU(t *testing.T) {
	card := GPUCard{
		Index: "0", Name: "H100", UUID: "GPU-1", Up: true, State: "memory_bound",
		VRAMUsed: vs(40 << 30), VRAMTotal: vs(80 << 30), Compute: vs(30), Bandwidth: vs(90),
		Temp: vs(70), Power: vs(500), PowerLimit: vs(700), SMClock: vs(1.5e9), MemClock: vs(2.6e9),
		Throttle:  []string{"sw_power_cap"},
		Processes: []GPUProcess{{PID: "1", Name: "vllm", Memory: 30 << 30}},
	}
	tests := []struct {
		name  string
		view  GPUPage
		check func(t *testing.T, doc *goquery.Document)
	}{
		{"off", GPUPage{Page: testPage("GPU", "/gpu"), Off: true}, func(t *testing.T, doc *goquery.Document) {
			require.Contains(t, one(t, doc, "gpu-off").Text(), "GPU metrics off: no NVIDIA driver")
			require.Equal(t, 0, doc.Find(`[data-testid="gpu-card"]`).Length())
		}},
		{"card", GPUPage{Page: testPage("GPU", "/gpu"), Cards: []GPUCard{card, {Index: "1", Up: false}}, Charts: []Chart{{ID: "vram"}}}, func(t *testing.T, doc *goquery.Document) {
			cards := doc.Find(`[data-testid="gpu-card"]`)
			require.Equal(t, 2, cards.Length())
			c := cards.Eq(0)
			require.Equal(t, "memory_bound", c.Find(`[data-testid="gpu-state"]`).Text())
			require.Contains(t, c.Find(`[data-testid="gpu-vram"]`).Text(), "40 GiB / 80 GiB")
			require.Equal(t, "width:50.0%;", c.Find(`[data-testid="gpu-vram"] .meter span`).AttrOr("style", ""))
			require.Equal(t, "70 °C", c.Find(`[data-testid="gpu-temp"]`).Text())
			require.Equal(t, "1500 MHz / 2600 MHz", c.Find(`[data-testid="gpu-clocks"]`).Text())
			require.Equal(t, "sw_power_cap", c.Find(`[data-testid="gpu-throttle"] .badge`).Text())
			require.Contains(t, c.Find(`[data-testid="gpu-process"]`).Text(), "30 GiB")
			require.Equal(t, 0, c.Find(`[data-testid="gpu-lost"]`).Length())
			lost := cards.Eq(1)
			require.Equal(t, 1, lost.Find(`[data-testid="gpu-lost"]`).Length())
			require.Equal(t, "unknown", lost.Find(`[data-testid="gpu-state"]`).Text())
			require.Equal(t, 1, lost.Find(`[data-testid="gpu-no-processes"]`).Length())
			one(t, doc, "chart-vram")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, render(t, GPU(tc.view))) })
	}
}

func TestAlerts(t *testing.T) {
	since := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		view  AlertsPage
		check func(t *testing.T, doc *goquery.Document)
	}{
		{"empty", AlertsPage{Page: testPage("Alerts", "/alerts")}, func(t *testing.T, doc *goquery.Document) {
			one(t, doc, "empty-alerts")
			require.Contains(t, one(t, doc, "empty-rules").Text(), "rule_files")
		}},
		{"alerts and rules", AlertsPage{
			Page:   testPage("Alerts", "/alerts"),
			Now:    since.Add(5 * time.Minute),
			Alerts: []AlertRow{{Name: "HighTTFT", State: "firing", Labels: []Label{{"model", "m"}}, Value: "7.5", Since: since, Summary: "slow"}},
			Rules: []RuleRow{
				{Group: "g", Name: "HighTTFT", Type: "alerting", Health: "ok", State: "firing", LastEvaluation: since},
				{Group: "g", Name: "tokenpath:x", Type: "recording", Health: "err", Error: "many-to-many matching not allowed"},
			},
		}, func(t *testing.T, doc *goquery.Document) {
			a := one(t, doc, "alert-row")
			require.Equal(t, "firing", a.Find(`[data-testid="alert-state"]`).Text())
			require.Equal(t, "7.5", a.Find(`[data-testid="alert-value"]`).Text())
			require.Equal(t, "2026-11-27 10:00:00Z", a.Find(`[data-testid="alert-since"]`).Text())
			require.Equal(t, "5m0s ago", a.Find(`[data-testid="alert-since-ago"]`).Text())
			require.Contains(t, a.Text(), `model="m"`)
			rules := doc.Find(`[data-testid="rule-row"]`)
			require.Equal(t, 2, rules.Length())
			require.Equal(t, "2026-11-27 10:00:00Z", rules.Eq(0).Find(`[data-testid="rule-last-eval"]`).Text())
			require.Equal(t, "never", rules.Eq(1).Find(`[data-testid="rule-last-eval"]`).Text())
			require.Equal(t, "err", rules.Eq(1).Find(`[data-testid="rule-health"]`).Text())
			require.Equal(t, "many-to-many matching not allowed", rules.Eq(1).Find(`[data-testid="rule-error"]`).Text())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, render(t, Alerts(tc.view))) })
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name  string
		view  TargetsPage
		check func(t *testing.T, doc *goquery.Document)
	}{
		{"empty", TargetsPage{Page: testPage("Targets", "/targets")}, func(t *testing.T, doc *goquery.Document) {
			require.Contains(t, one(t, doc, "empty-targets").Text(), "VLLM_ENDPOINT")
		}},
		{"targets", TargetsPage{Page: testPage("Targets", "/targets"), Now: time.Unix(100, 0), Targets: []TargetRow{{
			Job: "vllm", Instance: "h:8000", Server: "vllm", URL: "http://h:8000/metrics", Health: "down",
			DurationSecond: 0.0123, LastScrape: time.Unix(97, 0), Samples: vs(812), Error: "connection refused", Labels: []Label{{"env", "prod"}},
		}}}, func(t *testing.T, doc *goquery.Document) {
			r := one(t, doc, "target-row")
			require.Equal(t, "vllm", r.Find(`[data-testid="target-server"]`).Text())
			require.Equal(t, "down", r.Find(`[data-testid="target-health"]`).Text())
			require.Equal(t, "12.3 ms", r.Find(`[data-testid="target-duration"]`).Text())
			require.Equal(t, "812", r.Find(`[data-testid="target-samples"]`).Text())
			require.Equal(t, "3s ago", r.Find(`[data-testid="target-last-scrape"]`).Text())
			require.Equal(t, "connection refused", r.Find(`[data-testid="target-error"]`).Text())
			require.Contains(t, r.Text(), `env="prod"`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, render(t, Targets(tc.view))) })
	}
}

func TestExploreAndNotFound(t *testing.T) {
	doc := render(t, Explore(ExplorePage{Page: testPage("Explore", "/explore"), Expr: `rate(x{a="<b>"}[5m])`}))
	require.Equal(t, `rate(x{a="<b>"}[5m])`, one(t, doc, "explore-expr").Text())
	_, hidden := one(t, doc, "explore-error").Attr("hidden")
	require.True(t, hidden)
	one(t, doc, "explore-graph")
	one(t, doc, "explore-table")

	doc = render(t, NotFound(NotFoundPage{Page: Page{Title: "Page not found"}, URL: "/<x>"}))
	require.Contains(t, one(t, doc, "not-found").Text(), "/<x>")
}

func TestFormatting(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{FormatSeconds(Value{}), "—"},
		{FormatSeconds(vs(0.0005)), "500 µs"},
		{FormatSeconds(vs(0.1234)), "123 ms"},
		{FormatSeconds(vs(1.5)), "1.5 s"},
		{FormatSeconds(vs(90)), "1.5 min"},
		{FormatRatio(vs(0.123)), "12%"},
		{FormatPercent(vs(5.55)), "5.5%"},
		{FormatNumber(vs(1234.5)), "1.23k"},
		{FormatNumber(vs(2.5e6)), "2.5M"},
		{FormatNumber(vs(0.125)), "0.125"},
		{FormatBytes(vs(1536)), "1.5 KiB"},
		{FormatUnit(vs(1.41e9), "hertz"), "1410 MHz"},
		{FormatAgo(time.Unix(100, 0), time.Unix(130, 0)), "30s ago"},
		{FormatAgo(time.Time{}, time.Unix(130, 0)), "never"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) { require.Equal(t, tc.want, tc.got) })
	}
	require.False(t, Some(mathNaN()).OK)
}
