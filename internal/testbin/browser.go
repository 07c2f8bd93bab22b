package testbin

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is a headless tab of Debian's Chromium, for tests that paint
// tokenpath's UI and read what it drew.
type Browser struct {
	// Ctx is the tab's context; actions run on a timeout derived from it.
	Ctx context.Context
}

// NewBrowser starts Chromium with a fresh profile, a 1440×1000 window and no
// background traffic, and closes it when the test ends. Without Chromium the
// test fails with the command that installs it.
func NewBrowser(tb testing.TB) *Browser {
	tb.Helper()
	path := RequirePeer(tb, "chromium", "chromium")
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1440, 1000),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser and ties it to its context: run
	// it on the tab's own, not on a per-step timeout that would close it.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("starting chromium: %v", err)
	}
	return &Browser{Ctx: ctx}
}

// Eval evaluates expr in the page (awaiting a promise it returns), within
// 30s.
func Eval[T any](tb testing.TB, b *Browser, expr string) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// WaitTrue evaluates expr until it is true, at most 30s; evaluations cut
// short by a navigation are retried.
func (b *Browser) WaitTrue(tb testing.TB, expr string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s", expr)
}
