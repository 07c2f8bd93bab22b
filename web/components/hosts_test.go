package components

import (
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"
)

func optionValues(s *goquery.Selection) []string {
	return s.Find("option").Map(func(_ int, o *goquery.Selection) string { return o.AttrOr("value", "") })
}

// TestHostSelector: the host selector offers "all" and every host, keeps a
// host of the URL that no series has, and is carried by the nav links.
func TestHostSelector(t *testing.T) {
	tests := []struct {
		name     string
		controls Controls
		options  []string
		selected string
		navGPU   string
	}{
		{
			"every host",
			Controls{Show: true, Range: "1h", AutoRange: true, HostFilter: true, Filter: true, Hosts: []string{"gpu-box-a", "gpu-box-b"}},
			[]string{"", "gpu-box-a", "gpu-box-b"},
			"", "/gpu",
		},
		{
			"one chosen",
			Controls{Show: true, Range: "1h", AutoRange: true, HostFilter: true, Filter: true, Hosts: []string{"gpu-box-a", "gpu-box-b"}, Host: "gpu-box-b"},
			[]string{"", "gpu-box-a", "gpu-box-b"},
			"gpu-box-b", "/gpu?host=gpu-box-b",
		},
		{
			"one host",
			Controls{Show: true, Range: "1h", AutoRange: true, HostFilter: true, Hosts: []string{"gpu-box-a"}},
			[]string{"", "gpu-box-a"},
			"", "/gpu",
		},
		{
			"a host no series has",
			Controls{Show: true, Range: "1h", AutoRange: true, HostFilter: true, Host: "gone<1>"},
			[]string{"", "gone<1>"},
			"gone<1>", "/gpu?host=gone%3C1%3E",
		},
		{
			"no hosts (a tokenpath's own series)",
			Controls{Show: true, Range: "1h", AutoRange: true, HostFilter: true},
			[]string{""},
			"", "/gpu",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := render(t, Latency(LatencyPage{Page: Page{Title: "Latency", Path: "/latency", Controls: tc.controls}}))
			sel := one(t, doc, "filter-host")
			require.Equal(t, "host", sel.AttrOr("name", ""))
			require.Equal(t, tc.options, optionValues(sel))
			require.Equal(t, tc.selected, sel.Find("option[selected]").AttrOr("value", ""))
			require.Equal(t, tc.navGPU, one(t, doc, "nav-GPU").AttrOr("href", ""))
		})
	}
	t.Run("hidden where it does not apply", func(t *testing.T) {
		doc := render(t, Latency(LatencyPage{Page: Page{Title: "X", Path: "/x", Controls: Controls{Show: true, Range: "1h"}}}))
		require.Equal(t, 0, doc.Find(`[data-testid="filter-host"]`).Length())
	})
}

// TestRowsPerHost: two hosts serving the same model at the same instance
// address are two rows, each naming its host, with keys, links and explore
// queries of their own host.
func TestRowsPerHost(t *testing.T) {
	const inst = "127.0.0.1:8000"
	rows := []ServerRow{
		{Host: "gpu-box-a", Server: "vllm", Model: "m", Instance: inst, TTFT: Quantiles{P50: vs(0.02)}},
		{Host: "gpu-box-b", Server: "vllm", Model: "m", Instance: inst, TTFT: Quantiles{P50: vs(1.8)}},
	}
	slos := []SLORow{
		{Host: "gpu-box-a", SLO: "server-ttft-5s", Server: "vllm", Model: "m", Instance: inst},
		{Host: "gpu-box-b", SLO: "server-ttft-5s", Server: "vllm", Model: "m", Instance: inst},
	}
	doc := render(t, TokenPath(TokenPathPage{Page: testPage("Token path", "/"), Rows: rows, SLOs: slos}))
	got := doc.Find(`[data-testid="server-row"]`)
	require.Equal(t, 2, got.Length())
	for i, host := range []string{"gpu-box-a", "gpu-box-b"} {
		row := got.Eq(i)
		require.Equal(t, host+"/vllm/m/"+inst, row.AttrOr("data-key", ""))
		require.Equal(t, host, row.Find(`[data-testid="row-host"]`).Text())
		require.Contains(t, row.Find(`[data-testid="ttft-p50"]`).AttrOr("href", ""), "host="+host)
		require.Contains(t, row.Find(`[data-testid="error-rate"]`).AttrOr("href", ""), "host%3D%22"+host+"%22")
		slo := doc.Find(`[data-testid="slo-row"]`).Eq(i)
		require.Equal(t, host+"/server-ttft-5s/vllm/m/"+inst, slo.AttrOr("data-key", ""))
		require.Equal(t, host, slo.Find(`[data-testid="slo-host"]`).Text())
	}
	require.Equal(t, "20 ms", got.Eq(0).Find(`[data-testid="ttft-p50"]`).Text())
	require.Equal(t, "1.8 s", got.Eq(1).Find(`[data-testid="ttft-p50"]`).Text())

	t.Run("a row without a host keeps its old key and shows no host", func(t *testing.T) {
		doc := render(t, TokenPath(TokenPathPage{Page: testPage("Token path", "/"), Rows: []ServerRow{{Server: "vllm", Model: "m", Instance: inst}}}))
		row := one(t, doc, "server-row")
		require.Equal(t, "vllm/m/"+inst, row.AttrOr("data-key", ""))
		require.Equal(t, 0, row.Find(`[data-testid="row-host"]`).Length())
		require.NotContains(t, row.Find(`[data-testid="error-rate"]`).AttrOr("href", ""), "host")
	})
}
