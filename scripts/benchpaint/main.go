// Command benchpaint measures the built-in UI's first chart painted on an
// already running tokenpath: it opens each page at each range in Debian's
// chromium (headless, a fresh profile per run, loopback only) and reads the
// charts' data-paint-ms (milliseconds from navigation to a chart's first
// drawn data, set by web/ui/src/charts.js). It prints, per page and range,
// the median and the spread of the first chart's paint over the
// repetitions, and of the last chart's. A benchmark tool, not part of
// tokenpath; the browser tests check that charts paint, never how fast.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:9090", "tokenpath's base URL")
	ranges := flag.String("ranges", "24h,7d", "comma-separated ranges, as the range picker names them")
	pages := flag.String("pages", "/,/latency,/gpu", "comma-separated page paths")
	repeat := flag.Int("repeat", 5, "page loads per page and range (bounded)")
	chromium := flag.String("chromium", "/usr/bin/chromium", "chromium binary (apt-get install chromium)")
	timeout := flag.Duration("timeout", 2*time.Minute, "longest wait for one page's charts")
	flag.Parse()
	if *repeat < 1 || *repeat > 100 {
		log.Fatalf("--repeat=%d: want 1..100", *repeat)
	}
	if _, err := os.Stat(*chromium); err != nil {
		log.Fatalf("--chromium=%s: %v (apt-get install chromium)", *chromium, err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(*chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1440, 1000))
	defer cancelAlloc()

	fmt.Printf("# %s repeat=%d (ms from navigation; median [min–max])\n", *base, *repeat)
	fmt.Printf("%-10s %-6s %24s %24s %7s\n", "page", "range", "first_chart_ms", "last_chart_ms", "charts")
	for _, r := range strings.Split(*ranges, ",") {
		for _, p := range strings.Split(*pages, ",") {
			var first, last []float64
			charts := 0
			var failed error
			for range *repeat {
				f, l, n, err := paint(alloc, *base+p+"?range="+r, *timeout)
				if err != nil {
					failed = err
					break
				}
				first, last, charts = append(first, f), append(last, l), n
			}
			if failed != nil {
				// A page without charts at this range (the GPU page of a
				// tokenpath without NVML) is reported, not fatal.
				fmt.Printf("%-10s %-6s %s\n", p, r, failed)
				continue
			}
			fmt.Printf("%-10s %-6s %24s %24s %7d\n", p, r, summary(first), summary(last), charts)
		}
	}
}

// paint loads url in a fresh tab and returns the first and the last chart's
// data-paint-ms once every chart has settled (drawn, empty or failed).
func paint(alloc context.Context, url string, timeout time.Duration) (first, last float64, charts int, err error) {
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	defer cancelT()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(`[data-testid="page-title"]`),
	); err != nil {
		return 0, 0, 0, err
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(window.tokenpath && window.tokenpath.ready)`, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		return 0, 0, 0, err
	}
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](
		`window.tokenpath.ready.then(() => [...document.querySelectorAll('[data-chart]')].filter(e => e.dataset.paintMs).map(e => Number(e.dataset.paintMs)))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		return 0, 0, 0, err
	}
	if len(ms) == 0 {
		return 0, 0, 0, errors.New("no chart painted (no data in the range?)")
	}
	return slices.Min(ms), slices.Max(ms), len(ms), nil
}

// summary is "median [min–max]" of v.
func summary(v []float64) string {
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return fmt.Sprintf("%.0f [%.0f–%.0f]", math.Round(med), v[0], v[n-1])
}
