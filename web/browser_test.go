package web

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// browser is one headless Chromium tab (testbin.Browser) that also records
// console errors, uncaught exceptions and browser log errors (failed loads,
// CSP reports).
type browser struct {
	*testbin.Browser
	mu     sync.Mutex
	errors []string
}

// newBrowser starts Debian's chromium with a fresh profile; without it the
// test fails with the command that installs it.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	b := &browser{Browser: testbin.NewBrowser(t)}
	require.NoError(t, chromedp.Listen(b.Ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				msg = "console.error: " + strings.Join(parts, " ")
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				msg = "log: " + e.Entry.Text + " " + e.Entry.URL
			}
		}
		if msg != "" {
			b.mu.Lock()
			b.errors = append(b.errors, msg)
			b.mu.Unlock()
		}
	}))
	return b
}

// takeErrors returns and clears the errors seen so far.
func (b *browser) takeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errors
	b.errors = nil
	return e
}

func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	return testbin.Eval[T](t, b.Browser, expr)
}

// open navigates and waits until every chart has finished loading.
func (b *browser) open(t *testing.T, url string) {
	t.Helper()
	b.do(t,
		chromedp.Navigate(url),
		chromedp.WaitVisible(`[data-testid="page-title"]`),
	)
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(window.tokenpath && window.tokenpath.ready)`, chromedp.WithPollingInterval(50*time.Millisecond)))
	require.NoError(t, err)
	eval[bool](t, b, `window.tokenpath.ready.then(() => true)`)
}

// chartStates maps chart id → data-state.
func chartStates(t *testing.T, b *browser) map[string]string {
	return eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll('[data-chart]')].map(e => [JSON.parse(e.dataset.chart).id, e.dataset.state + (e.dataset.state === 'error' ? ': ' + e.querySelector('.chart-status').textContent : '')]))`)
}

// colouredPixels counts, per chart, canvas pixels of a saturated colour:
// series, heatmap cells and state bands are coloured, while an empty plot
// (background, grid, axes, labels) is grey.
const colouredPixels = `Object.fromEntries([...document.querySelectorAll('[data-chart], [data-testid="explore-graph"]')].map(e => {
  const id = e.dataset.chart ? JSON.parse(e.dataset.chart).id : 'explore';
  const c = e.querySelector('canvas');
  if (!c) return [id, 0];
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) n++;
  }
  return [id, n];
}))`

// artifactsDir is where screenshots go: $TOKENPATH_ARTIFACTS or a temp dir.
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("TOKENPATH_ARTIFACTS"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

func (b *browser) screenshot(t *testing.T, dir, name string, docs bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
	if docs && os.Getenv("TOKENPATH_UPDATE_SCREENSHOTS") == "1" && (strings.HasSuffix(name, "tokenpath") || strings.HasSuffix(name, "gpu")) {
		name = strings.TrimPrefix(strings.TrimPrefix(name, "demo-"), "fixture-")
		docs := filepath.Join("..", "docs", "screenshots")
		require.NoError(t, os.MkdirAll(docs, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(docs, name+".png"), png, 0o644))
	}
}

// suiteOptions says how a browser suite looks at its target.
type suiteOptions struct {
	// Range is the time range of the page checks; it must hold enough
	// samples for every line to be drawn.
	Range string
	// Prefix names the screenshots.
	Prefix string
	// Docs writes the tokenpath and GPU screenshots into docs/screenshots
	// when TOKENPATH_UPDATE_SCREENSHOTS=1.
	Docs bool
	// Refresh checks auto-refresh (about 20 s of waiting).
	Refresh bool
}

// browserSuite runs the browser checks against a tokenpath-compatible base
// URL that serves the UI and /api/v1 on one origin.
func browserSuite(t *testing.T, base string, o suiteOptions) {
	b := newBrowser(t)
	b.recordCSPViolations(t) // browser_csp_test.go
	dir := artifactsDir(t)
	shot := func(t *testing.T, name string) {
		t.Helper()
		b.screenshot(t, dir, o.Prefix+name, o.Docs)
	}
	pages := []struct {
		name, path string
		charts     bool
	}{
		{"tokenpath", "/", true},
		{"latency", "/latency", true},
		{"gpu", "/gpu", true},
		{"alerts", "/alerts", false},
		{"targets", "/targets", false},
		{"explore", "/explore", false},
	}
	for _, p := range pages {
		t.Run("page "+p.name, func(t *testing.T) {
			b.takeErrors()
			b.open(t, base+p.path+"?range="+o.Range)
			states := chartStates(t, b)
			if p.charts {
				require.NotEmpty(t, states)
				for id, s := range states {
					require.Equal(t, "drawn", s, "chart %s", id)
				}
				pixels := eval[map[string]int](t, b, colouredPixels)
				for id := range states {
					require.Greater(t, pixels[id], 100, "chart %s has no coloured pixels", id)
				}
			} else {
				require.Empty(t, states)
			}
			shot(t, p.name)
			require.Empty(t, b.takeErrors(), "console errors on %s", p.path)
			require.Empty(t, b.cspViolations(t), "Content-Security-Policy violations on %s", p.path)
		})
	}

	// The time to first paint is a measurement, not an assertion (speed is
	// recorded in docs/benchmarks.md, never asserted in a test): the test
	// checks that a chart painted and logs when.
	t.Run("first chart painted for 24h", func(t *testing.T) {
		for _, path := range []string{"/", "/latency", "/gpu"} {
			b.open(t, base+path+"?range=24h")
			first := eval[float64](t, b, `Math.min(...[...document.querySelectorAll('[data-chart]')].filter(e => e.dataset.paintMs).map(e => Number(e.dataset.paintMs)))`)
			require.False(t, math.IsInf(first, 0) || math.IsNaN(first), "%s: no chart recorded its paint time", path)
			require.Positive(t, first, "%s: paint time", path)
			t.Logf("%s?range=24h: first chart painted %.0f ms after navigation", path, first)
			// ≤ ~1,000 points per series: a 24 h range uses a 2-minute step.
			require.Equal(t, "120", eval[string](t, b, `document.querySelector('[data-chart]').dataset.step`))
		}
		require.Empty(t, b.takeErrors())
	})

	t.Run("heatmap tooltip shows bucket and count", func(t *testing.T) {
		b.open(t, base+"/latency?range=5m")
		require.Equal(t, "yes", eval[string](t, b, `document.querySelector('[data-testid="chart-ttft_heatmap"]').dataset.p99`), "p99 marker drawn")
		cell := eval[map[string]float64](t, b, `window.tokenpath.charts.ttft_heatmap.heatCell()`)
		require.Contains(t, cell, "x")
		b.do(t, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, cell["x"], cell["y"]))
		tip := `[data-testid="chart-ttft_heatmap"] [data-testid="chart-tooltip"]`
		b.do(t, chromedp.WaitVisible(tip))
		text := eval[string](t, b, `document.querySelector('`+tip+`').innerText`)
		require.Regexp(t, `bucket \S+( \S+)? – \S+`, text)
		require.Regexp(t, `count [0-9.]+`, text)
		require.NotEqual(t, "0", eval[string](t, b, `document.querySelector('`+tip+`').dataset.count`))
		shot(t, "latency-tooltip")
		require.Empty(t, b.takeErrors())
	})

	t.Run("time-range picker changes the query range", func(t *testing.T) {
		b.open(t, base+"/latency?range=5m")
		span := `(() => { const e = document.querySelector('[data-chart]'); return Number(e.dataset.end) - Number(e.dataset.start); })()`
		before := eval[float64](t, b, span)
		require.InDelta(t, 300, before, 2)
		// The change submits the form; dispatch it after Evaluate returns,
		// since the navigation would otherwise cut the call short.
		b.do(t, chromedp.Evaluate[chromedp.Void](`setTimeout(() => { const s = document.querySelector('[data-testid="range"]'); s.value = '6h'; s.dispatchEvent(new Event('change')); }, 0)`))
		b.WaitTrue(t, `location.search.includes('range=6h') && !!(window.tokenpath && window.tokenpath.ready)`)
		eval[bool](t, b, `window.tokenpath.ready.then(() => true)`)
		after := eval[float64](t, b, span)
		require.InDelta(t, 6*3600, after, 60)
		require.Equal(t, "30", eval[string](t, b, `document.querySelector('[data-chart]').dataset.step`))
		require.Equal(t, "6h", eval[string](t, b, `document.querySelector('[data-testid="range"]').value`))
		require.Empty(t, b.takeErrors())

		// Custom: choosing it shows the from/to fields instead of submitting.
		b.do(t, chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('[data-testid="range"]'); s.value = 'custom'; s.dispatchEvent(new Event('change')); })()`))
		require.True(t, eval[bool](t, b, `!document.querySelector('[data-testid="custom-range"]').hidden`))
		from := eval[string](t, b, `(() => { const d = new Date(Date.now() - 2 * 3600e3); d.setSeconds(0, 0); return new Date(d - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16); })()`)
		to := eval[string](t, b, `(() => { const d = new Date(Date.now() - 3600e3); d.setSeconds(0, 0); return new Date(d - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16); })()`)
		b.do(t,
			chromedp.SetValue(`input[name="from"]`, from),
			chromedp.SetValue(`input[name="to"]`, to),
			chromedp.Click(`[data-testid="custom-range"] button`),
		)
		b.WaitTrue(t, `location.search.includes('range=custom') && !!(window.tokenpath && window.tokenpath.ready)`)
		eval[bool](t, b, `window.tokenpath.ready.then(() => true)`)
		require.InDelta(t, 3600, eval[float64](t, b, span), 10, "a one-hour custom range")
		require.InDelta(t, eval[float64](t, b, `Date.parse('`+to+`') / 1000`), eval[float64](t, b, `Number(document.querySelector('[data-chart]').dataset.end)`), 10)
		require.Empty(t, b.takeErrors())
	})

	if o.Refresh {
		t.Run("auto-refresh", func(t *testing.T) {
			// Chart pages refetch: the range moves forward without a reload.
			b.open(t, base+"/latency?range=5m&refresh=10s")
			end := eval[float64](t, b, `(window.__kept = true, Number(document.querySelector('[data-chart]').dataset.end))`)
			b.WaitTrue(t, `Number(document.querySelector('[data-chart]').dataset.end) > `+fmt.Sprint(end))
			require.True(t, eval[bool](t, b, `window.__kept === true`), "a chart page must not reload")
			// Pages with server-rendered numbers reload.
			b.open(t, base+"/?range=5m&refresh=10s")
			eval[bool](t, b, `(window.__kept = true)`)
			b.WaitTrue(t, `window.__kept === undefined && document.readyState === 'complete'`)
			require.Empty(t, b.takeErrors())
		})
	}

	t.Run("theme toggle", func(t *testing.T) {
		b.open(t, base+"/gpu?range=1h")
		before := eval[string](t, b, `getComputedStyle(document.body).backgroundColor`)
		b.do(t, chromedp.Click(`[data-testid="theme-toggle"]`))
		after := eval[string](t, b, `getComputedStyle(document.body).backgroundColor`)
		require.NotEqual(t, before, after)
		shot(t, "gpu-theme-toggled")
		// Charts redraw with the new colours and keep their data.
		eval[bool](t, b, `new Promise(r => setTimeout(() => r(true), 300))`)
		for id, s := range chartStates(t, b) {
			require.Equal(t, "drawn", s, id)
		}
		b.do(t, chromedp.Click(`[data-testid="theme-toggle"]`))
		require.Empty(t, b.takeErrors())
	})

	t.Run("explore runs a query and shows an error for a bad one", func(t *testing.T) {
		b.open(t, base+"/explore?range=15m")
		b.do(t,
			chromedp.SetValue(`[data-testid="explore-expr"]`, `tokenpath:requests_running`),
			chromedp.Click(`[data-testid="explore-run"]`),
		)
		ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
		defer cancel()
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.explore === 'done'`, chromedp.WithPollingInterval(50*time.Millisecond)))
		require.NoError(t, err)
		require.Equal(t, "drawn", eval[string](t, b, `document.querySelector('[data-testid="explore-graph"]').dataset.state`))
		require.Greater(t, eval[map[string]int](t, b, colouredPixels)["explore"], 100)
		require.GreaterOrEqual(t, eval[int](t, b, `document.querySelectorAll('[data-testid="explore-table"] tbody tr').length`), 1)
		require.Contains(t, eval[string](t, b, `location.search`), "expr=tokenpath%3Arequests_running")
		b.do(t, chromedp.Click(`[data-testid="tab-table"]`))
		require.Contains(t, eval[string](t, b, `document.querySelector('[data-testid="explore-table"]').innerText`), "tokenpath:requests_running")
		shot(t, "explore")
		require.Empty(t, b.takeErrors())

		b.do(t,
			chromedp.SetValue(`[data-testid="explore-expr"]`, `sum(rate(`),
			chromedp.Click(`[data-testid="explore-run"]`),
		)
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.explore === 'error'`, chromedp.WithPollingInterval(50*time.Millisecond)))
		require.NoError(t, err)
		errBox := `[data-testid="explore-error"]`
		b.do(t, chromedp.WaitVisible(errBox))
		require.Equal(t, "bad_data", eval[string](t, b, `document.querySelector('`+errBox+`').dataset.errorType`))
		text := eval[string](t, b, `document.querySelector('`+errBox+`').innerText`)
		require.True(t, strings.HasPrefix(text, "bad_data: "), text)
		require.Contains(t, text, "parse error")
		shot(t, "explore-error")
		// The 400 answer is logged by the browser as a failed load; that is
		// the expected outcome of a bad query, so only it may appear.
		for _, e := range b.takeErrors() {
			require.Contains(t, e, "400", "unexpected browser error %s", e)
		}
	})
	fmt.Fprintf(os.Stderr, "browser screenshots in %s\n", dir)
}

func TestBrowserFixture(t *testing.T) {
	f := startPrometheus(t, fullExposition, fixtureRules, 25*time.Hour)
	browserSuite(t, serveUI(t, f), suiteOptions{Range: "24h", Prefix: "fixture-", Refresh: true})
}

// TestBrowserDemo runs the same checks against a real tokenpath --demo
// (simulated vLLM, TGI and GPUs), built and started by internal/testbin.
func TestBrowserDemo(t *testing.T) {
	testbin.RequirePeer(t, "chromium", "chromium") // before the build
	// Steady load: the demo's cycle is anchored to the wall clock, and in its
	// kv_cache_pressure turn every probe times out (TTFT over the probes' 25 s
	// deadline), so a run started then would see no probe TTFT for minutes.
	p := testbin.Start(t, testbin.Options{Args: []string{"--demo", "--demo.scenario=steady", "--scrape.interval=1s"}})
	// Screenshots for the docs wait for three minutes of history; the checks
	// need only a few evaluations.
	samples := 20.0
	if os.Getenv("TOKENPATH_UPDATE_SCREENSHOTS") == "1" {
		samples = 180
	}
	waitForDemo(t, p.URL, samples)

	// The demo's prober measures TTFT too: the token path shows it beside
	// the server's own.
	_, doc := get(t, newUI(t, demoAPI(t, p.URL)), "/")
	require.Equal(t, 2, doc.Find(`[data-testid="server-row"]`).Length())
	require.Equal(t, 2, doc.Find(`[data-testid="probe-ttft"]`).Length())

	browserSuite(t, p.URL, suiteOptions{Range: "5m", Prefix: "demo-", Docs: true})
}

// demoAPI is a client of the running tokenpath's /api/v1.
func demoAPI(t *testing.T, base string) promv1.API {
	t.Helper()
	c, err := promapi.NewClient(promapi.Config{Address: base})
	require.NoError(t, err)
	return promv1.NewAPI(c)
}

// waitForDemo waits until the demo's recording rules have produced a few
// evaluations of every kind of series the pages draw.
func waitForDemo(t *testing.T, base string, samples float64) {
	t.Helper()
	api := demoAPI(t, base)
	queries := []struct {
		q   string
		min float64
	}{
		{`count_over_time(tokenpath:generation_tokens:rate1m[5m])`, samples},
		{`count_over_time(tokenpath:ttft_seconds_bucket:rate1m[5m])`, samples},
		{`count_over_time(tokenpath:ttft_seconds:histogram_quantile[5m])`, samples},
		{`count_over_time(tokenpath:gpu_state[5m])`, samples},
		{`count_over_time(gpu_vram_used_bytes[5m])`, samples},
		// The probes run less often than the scrapes; both simulators'
		// probes must have reported before the rows are checked.
		{`min(count_over_time(tokenpath:ttft_seconds:histogram_quantile{server="probe"}[5m]))`, 1},
		{`count(count by (instance) (tokenpath:ttft_seconds:histogram_quantile{server="probe"}))`, 2},
	}
	deadline := time.Now().Add(2*time.Minute + time.Duration(samples)*time.Second)
	for _, q := range queries {
		for {
			v, _, _, err := api.Query(t.Context(), q.q, time.Time{})
			if vec, ok := v.(model.Vector); err == nil && ok && len(vec) > 0 && float64(vec[0].Value) >= q.min {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("demo has too little data for %s (err %v)", q.q, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}
