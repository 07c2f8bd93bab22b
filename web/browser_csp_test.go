package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// cspRecorder runs in every document before the page's own scripts (it is injected through
// the DevTools protocol, which the page's Content-Security-Policy does not govern) and keeps
// every securitypolicyviolation event, the browser's own report of a CSP violation, including
// the ones Chromium only prints as a console warning.
const cspRecorder = `(() => {
  const seen = [];
  Object.defineProperty(window, '__tokenpathCSPViolations', { value: seen });
  document.addEventListener('securitypolicyviolation', (e) => {
    seen.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || '(none)') + ' in ' + (e.sourceFile || e.documentURI) + ':' + e.lineNumber);
  });
})()`

// recordCSPViolations installs cspRecorder for every page the tab opens from now on.
func (b *browser) recordCSPViolations(t *testing.T) {
	t.Helper()
	b.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder})
		return err
	}))
}

// cspViolations returns the violations the current page reported.
func (b *browser) cspViolations(t *testing.T) []string {
	t.Helper()
	return eval[[]string](t, b, `Array.from(window.__tokenpathCSPViolations || ['the CSP recorder is not installed'])`)
}

// TestCSPRecorderSeesViolations checks the check: under tokenpath's Content-Security-Policy a
// page with an inline script and an inline event handler reports violations that the
// recorder returns, and a clean page reports none. The browser suite then requires none on
// every UI page.
func TestCSPRecorderSeesViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/clean" {
			_, _ = w.Write([]byte(`<!doctype html><title>clean</title><p data-testid="page-title">clean</p>`))
			return
		}
		_, _ = w.Write([]byte(`<!doctype html><title>bad</title>
<p data-testid="page-title" onclick="alert(1)">bad</p>
<script>window.inlineRan = true</script>
<img src="https://example.invalid/x.png">`))
	}))
	t.Cleanup(srv.Close)
	b := newBrowser(t)
	b.recordCSPViolations(t)

	b.do(t, chromedp.Navigate(srv.URL+"/clean"), chromedp.WaitVisible(`[data-testid="page-title"]`))
	require.Empty(t, b.cspViolations(t))

	b.do(t, chromedp.Navigate(srv.URL+"/bad"), chromedp.WaitVisible(`[data-testid="page-title"]`))
	ctx, cancel := context.WithTimeout(b.Ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.__tokenpathCSPViolations.length >= 3`))
	require.NoError(t, err, "violations seen: %v", b.cspViolations(t))
	got := b.cspViolations(t)
	require.False(t, eval[bool](t, b, `!!window.inlineRan`), "the inline script was blocked")
	joined := strings.Join(got, "\n")
	require.Contains(t, joined, "script-src-elem blocked inline")
	require.Contains(t, joined, "script-src-attr blocked inline")
	require.Contains(t, joined, "img-src blocked https://example.invalid/x.png")
	b.takeErrors()
}
