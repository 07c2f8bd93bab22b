package components

import (
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"
)

func detailRows() []ServerRow {
	return []ServerRow{
		{
			Server: "vllm", Model: "llama", Instance: "h:8000", Job: "vllm", Diagnosis: "kv_cache_pressure",
			TTFT: Quantiles{P50: vs(0.2), P90: vs(0.9), P99: vs(2.5)}, ITL: Quantiles{P50: vs(0.02), P99: vs(0.05)},
			E2E: Quantiles{P99: vs(7)}, KVCache: vs(0.88),
			Detail: RowDetail{
				Lifecycle:   [4]Value{vs(0.5), vs(1), vs(0.5), vs(2)},
				Consistency: vs(0.8), Inconsistent: true,
				KVKnee: vs(0.92), KVHeadroom: vs(0.04),
				JoulesPerToken: vs(0.35), TokensPerJoule: vs(2.86),
				GPUMapping: "mapped",
				GPUs: []RowGPU{
					{Index: "0", State: "memory_bound", VRAMUsed: vs(76e9), VRAMTotal: vs(80e9), SM: vs(35), Power: vs(512)},
					{Index: "1", State: "idle", VRAMUsed: vs(1e9), VRAMTotal: vs(80e9), SM: vs(2), Power: vs(90)},
				},
				LastBucket: map[string]float64{"ttft": 2.5, "itl": 0.1},
			},
		},
		{
			Server: "tgi", Instance: "remote:8080", Job: "tgi", TTFTEstimate: true, ITLMeasure: "tpot",
			TTFT: Quantiles{P99: vs(1)}, KVCache: vs(0.3),
			Detail: RowDetail{
				Lifecycle:      [4]Value{{}, vs(0.25), vs(0.25), vs(1)},
				JoulesPerToken: vs(1.5), TokensPerJoule: vs(0.667), EnergyOfHost: true,
				GPUMapping: "remote",
			},
		},
		{
			Server: "sglang", Model: "qwen", Instance: "h:30000", Job: "sglang",
			Detail: RowDetail{
				GPUs: []RowGPU{{Index: "0", VRAMUsed: vs(76e9)}}, GPUsOfHost: true,
			},
		},
	}
}

func TestServerRowDetail(t *testing.T) {
	doc := render(t, TokenPath(TokenPathPage{Page: testPage("Token path", "/"), Rows: detailRows()}))
	trs := doc.Find(`[data-testid="server-row"]`)
	require.Equal(t, 3, trs.Length())
	vllm, tgi, sglang := trs.Eq(0), trs.Eq(1), trs.Eq(2)
	text := func(s *goquery.Selection, testid string) string {
		return strings.Join(strings.Fields(s.Find(`[data-testid="`+testid+`"]`).Text()), " ")
	}

	t.Run("lifecycle waterfall, labelled, marked when it does not add up", func(t *testing.T) {
		wf := vllm.Find(`[data-testid="waterfall"]`)
		require.Equal(t, []string{"front of engine", "queue", "prefill", "decode"}, wf.Find(".wf-label").Map(func(_ int, s *goquery.Selection) string { return s.Text() }))
		require.Equal(t, "500 ms", text(wf, "wf-front-value"))
		require.Equal(t, "1 s", text(wf, "wf-queue-value"))
		require.Equal(t, "2 s", text(wf, "wf-decode-value"))
		// The longest lifecycle (4 s) is the scale: each phase starts where the last ended.
		require.Equal(t, "margin-left:0.00%;width:12.50%;", wf.Find(`[data-testid="wf-front"] .wf-bar`).AttrOr("style", ""))
		require.Equal(t, "margin-left:12.50%;width:25.00%;", wf.Find(`[data-testid="wf-queue"] .wf-bar`).AttrOr("style", ""))
		require.Equal(t, "margin-left:50.00%;width:50.00%;", wf.Find(`[data-testid="wf-decode"] .wf-bar`).AttrOr("style", ""))
		require.Equal(t, "⚠ e2e is 80% of queue + prefill + decode", text(vllm, "lifecycle-inconsistent"))
		require.Equal(t, 0, tgi.Find(`[data-testid="lifecycle-inconsistent"]`).Length())
		require.Equal(t, "—", text(tgi, "wf-front-value"), "TGI has no front-of-engine figure")
		require.Equal(t, 0, sglang.Find(`[data-testid="waterfall"]`).Length(), "no lifecycle series: the P50/P99 bars")
		require.Equal(t, 2, sglang.Find(`[data-testid="lifecycle"] .bar`).Length())
	})

	t.Run("KV knee and headroom", func(t *testing.T) {
		require.Equal(t, "KV 88%, knee ≈ 92%", text(vllm, "kv-knee"))
		require.True(t, vllm.Find(`[data-testid="kv-knee"]`).HasClass("low"), "4% headroom is marked")
		require.Equal(t, "headroom 4.0%", text(vllm, "kv-headroom"))
		require.Equal(t, 0, tgi.Find(`[data-testid="kv-knee"]`).Length())
	})

	t.Run("energy per token", func(t *testing.T) {
		require.Equal(t, "350 mJ/token", text(vllm, "energy-per-token"))
		require.Equal(t, "2.86 tokens/s per W", text(vllm, "tokens-per-watt"))
		require.Equal(t, 0, vllm.Find(`[data-testid="energy-scope"]`).Length())
		require.Equal(t, "1.5 J/token", text(tgi, "energy-per-token"))
		require.Equal(t, "host", text(tgi, "energy-scope"))
	})

	t.Run("GPUs serving the row and their summary", func(t *testing.T) {
		require.Equal(t, "GPU 0, 1", text(vllm, "row-gpus"))
		items := vllm.Find(`[data-testid="gpu-summary-item"]`)
		require.Equal(t, 2, items.Length())
		require.Equal(t, "memory_bound", text(items.Eq(0), "gpu-summary-state"))
		require.Equal(t, "70.8 GiB / 74.5 GiB", text(items.Eq(0), "gpu-summary-vram"))
		require.Equal(t, "SM 35%", text(items.Eq(0), "gpu-summary-sm"))
		require.Equal(t, "512 W", text(items.Eq(0), "gpu-summary-power"))
		require.Equal(t, "unknown (remote)", text(tgi, "row-gpus"))
		require.Equal(t, 0, tgi.Find(`[data-testid="gpu-summary"]`).Length())
		require.Equal(t, "host's GPUs", text(sglang, "row-gpus-scope"))
		require.Equal(t, 0, sglang.Find(`[data-testid="row-gpus"]`).Length(), "no mapping reported: no claim")
	})

	t.Run("guard-rails where the number is", func(t *testing.T) {
		require.Equal(t, "≥ 2.5 s", text(vllm, "ttft-p99"), "p99 at the last finite bucket is a bound")
		require.Equal(t, "900 ms", text(vllm, "ttft-p90"))
		require.Equal(t, GuardRailFor("", GuardBucket), vllm.Find(`[data-testid="ttft"] [data-testid="guard-bucket"]`).AttrOr("title", ""))
		require.Equal(t, 1, vllm.Find(`[data-testid="guard-bucket"]`).Length())
		require.Contains(t, vllm.Find(`[data-testid="itl"] [data-testid="guard-itl"]`).AttrOr("title", ""), "speculative decoding")
		require.Contains(t, vllm.Find(`[data-testid="guard-server"]`).AttrOr("title", ""), "V0")
		require.Contains(t, tgi.Find(`[data-testid="ttft"] [data-testid="guard-ttft"]`).AttrOr("title", ""), "estimate")
		require.Contains(t, tgi.Find(`[data-testid="itl"] [data-testid="guard-itl"]`).AttrOr("title", ""), "TPOT")
		require.Equal(t, 0, vllm.Find(`[data-testid="guard-ttft"]`).Length(), "vLLM's TTFT needs no caveat")
		require.Contains(t, sglang.Find(`[data-testid="guard-itl"]`).AttrOr("title", ""), "sglang:time_per_output_token_seconds")
	})

	t.Run("diagnosis explained", func(t *testing.T) {
		d := vllm.Find(`[data-testid="row-diagnosis"]`)
		require.True(t, d.HasClass("diagnosis-kv_cache_pressure"))
		require.Equal(t, DiagnosisExplanation("kv_cache_pressure"), text(d, "row-diagnosis-explanation"))
	})
}

func TestGuardRailsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range GuardRails() {
		k := g.Server + "/" + g.Field
		require.False(t, seen[k], "one caveat per server kind and field: %s", k)
		seen[k] = true
		require.NotEmpty(t, g.Text)
	}
	require.Empty(t, GuardRailFor("vllm", GuardTTFT))
	require.NotEmpty(t, GuardRailFor("vllm", GuardBucket), "the bucket caveat applies to every kind")
}

func TestDiagnosisExplanations(t *testing.T) {
	for _, cause := range []string{"queue_saturation", "kv_cache_pressure", "prefill_interference", "memory_bandwidth_bound", "compute_bound", "front_of_engine", "engine_restart", "unexplained", "none"} {
		require.NotEmpty(t, DiagnosisExplanation(cause), cause)
	}
	require.Empty(t, DiagnosisExplanation("from_a_newer_rule_set"))
}

func TestFittingRange(t *testing.T) {
	tests := []struct {
		span time.Duration
		want string
	}{
		{-1, "5m"},
		{0, "5m"},
		{2 * time.Minute, "5m"},
		{5 * time.Minute, "5m"},
		{7 * time.Minute, "15m"},
		{29 * time.Minute, "30m"},
		{31 * time.Minute, "1h"},
		{25 * time.Hour, "1h"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, FittingRange(tc.span), "span %s", tc.span)
	}
}

func TestAutoRangeStaysOutOfLinks(t *testing.T) {
	c := Controls{Range: "15m", AutoRange: true, Model: "m"}
	require.Equal(t, "/gpu?model=m", c.Link("/gpu", ""))
	c = Controls{Range: DefaultRange}
	require.Equal(t, "/gpu?range=1h", c.Link("/gpu", ""), "a range the user chose stays, the default one too")
}
