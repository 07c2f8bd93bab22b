package components

import (
	"testing"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"
)

// TestStorageBanner: while the TSDB cannot write, every page says so above its content, with
// the reason as storage reports it (escaped); when writes succeed there is no banner.
func TestStorageBanner(t *testing.T) {
	reason := "storage: writes have been failing since 2026-11-30T03:00:00Z: write /data/wal/00000003: no space left on device <&>"
	pages := map[string]func(p Page) templ.Component{
		"token path": func(p Page) templ.Component { return TokenPath(TokenPathPage{Page: p}) },
		"latency":    func(p Page) templ.Component { return Latency(LatencyPage{Page: p}) },
		"gpu":        func(p Page) templ.Component { return GPU(GPUPage{Page: p}) },
		"alerts":     func(p Page) templ.Component { return Alerts(AlertsPage{Page: p}) },
		"targets":    func(p Page) templ.Component { return Targets(TargetsPage{Page: p}) },
		"explore":    func(p Page) templ.Component { return Explore(ExplorePage{Page: p}) },
		"not found":  func(p Page) templ.Component { return NotFound(NotFoundPage{Page: p}) },
	}
	for name, page := range pages {
		t.Run(name, func(t *testing.T) {
			p := testPage("X", "/x")
			require.Empty(t, render(t, page(p)).Find(`[data-testid="storage-error"]`).Nodes, "no banner while writes succeed")

			p.StorageError = reason
			doc := render(t, page(p))
			b := one(t, doc, "storage-error")
			require.Equal(t, "alert", b.AttrOr("role", ""))
			require.Equal(t, "Storage writes are failing: new samples are being dropped. "+reason, b.Text())
			require.Equal(t, 1, b.PrevAll().Filter(`[data-testid="page-title"]`).Length(), "under the page title, above the content")
		})
	}
}
