package web

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestBrowserHostFilter: with two hosts serving the same instance address,
// the TTFT chart draws a line per host, each legend naming its host;
// choosing a host in the selector reloads the page with ?host= and the
// chart draws that host's lines only, while the table keeps that host's row.
func TestBrowserHostFilter(t *testing.T) {
	f := startPrometheus(t, twoHostsExposition, twoHostsRules, 0)
	base := serveUI(t, f)
	b := newBrowser(t)
	b.recordCSPViolations(t)

	labels := `window.tokenpath.charts.ttft.plot.series.slice(1).map(s => s.label)`
	hostsOf := func(ls []string) []string {
		var hs []string
		for _, l := range ls {
			h, _, _ := strings.Cut(l, " ")
			hs = append(hs, h)
		}
		slices.Sort(hs)
		return slices.Compact(hs)
	}

	b.open(t, base+"/?range=5m")
	require.Equal(t, "drawn", chartStates(t, b)["ttft"])
	all := eval[[]string](t, b, labels)
	// p50 and p99 of vLLM and of its probe on each host: four lines per host.
	require.Len(t, all, 8, "%v", all)
	require.Equal(t, []string{hostFast, hostSlow}, hostsOf(all), "%v", all)
	require.Equal(t, []string{"", hostFast, hostSlow}, eval[[]string](t, b, `[...document.querySelectorAll('[data-testid="filter-host"] option')].map(o => o.value)`))

	// Choosing submits the form; dispatch after Evaluate returns, since the
	// navigation would cut the call short.
	b.do(t, chromedp.Evaluate[chromedp.Void](`setTimeout(() => { const s = document.querySelector('[data-testid="filter-host"]'); s.value = '`+hostSlow+`'; s.dispatchEvent(new Event('change')); }, 0)`))
	b.WaitTrue(t, `location.search.includes('host=`+hostSlow+`') && !!(window.tokenpath && window.tokenpath.ready)`)
	eval[bool](t, b, `window.tokenpath.ready.then(() => true)`)
	require.Equal(t, "drawn", chartStates(t, b)["ttft"])
	narrowed := eval[[]string](t, b, labels)
	require.Len(t, narrowed, 4, "%v", narrowed)
	require.Equal(t, []string{hostSlow}, hostsOf(narrowed), "%v", narrowed)
	// The line is the slow box's: its vLLM p50 is 1.8 s (the fast box's 20 ms).
	p50 := eval[float64](t, b, `(() => { const p = window.tokenpath.charts.ttft.plot; const i = p.series.findIndex(s => s.label === '`+hostSlow+` vllm llama-3-8b 127.0.0.1:8000 p50'); return p.data[i].filter(v => v != null).pop(); })()`)
	require.InDelta(t, 1.8, p50, 1e-9)
	require.Contains(t, eval[string](t, b, `JSON.parse(document.querySelector('[data-testid="chart-ttft"]').dataset.chart).queries[0].expr`), `host="`+hostSlow+`"`)
	require.Equal(t, hostSlow, eval[string](t, b, `document.querySelector('[data-testid="filter-host"]').value`))
	require.Equal(t, []string{hostSlow}, eval[[]string](t, b, `[...document.querySelectorAll('[data-testid="row-host"]')].map(e => e.textContent)`))
	pixels := eval[map[string]int](t, b, colouredPixels)
	// Positive, not a hundred: the fixture has seconds of data in a 5m range.
	require.Positive(t, pixels["ttft"], "the narrowed chart is painted")
	require.Empty(t, b.takeErrors())
	require.Empty(t, b.cspViolations(t))
}
