package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/web/components"
)

func TestControlsFromURL(t *testing.T) {
	tests := []struct {
		query string
		want  components.Controls
	}{
		// No range in the URL: the page picks one to fit the data (UI.page).
		{"", components.Controls{Show: true, Range: "1h", AutoRange: true}},
		{"range=7d&refresh=30s", components.Controls{Show: true, Range: "7d", Refresh: "30s"}},
		{"range=13m&refresh=1ms", components.Controls{Show: true, Range: "1h"}},
		{"range=custom&from=2026-11-27T10:00&to=2026-11-27T12:00", components.Controls{Show: true, Range: "custom", From: "2026-11-27T10:00", To: "2026-11-27T12:00"}},
		{"range=custom&from=2026-11-27T10:00", components.Controls{Show: true, Range: "1h"}},
		{"model=a%22b&instance=h:1", components.Controls{Show: true, Range: "1h", Model: `a"b`, Instance: "h:1", AutoRange: true}},
		{"host=gpu-box-2&instance=127.0.0.1:8000", components.Controls{Show: true, Range: "1h", Host: "gpu-box-2", Instance: "127.0.0.1:8000", AutoRange: true}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/?"+tc.query, nil)
			require.Equal(t, tc.want, controls(r))
		})
	}
}

func TestServerSelectorEscapes(t *testing.T) {
	tests := []struct{ host, model, instance, want string }{
		{"", "", "", `host=~".*",model=~".*",instance=~".*"`},
		{"gpu-box-1.example", "meta-llama/Llama-3.1-8B", "127.0.0.1:8000", `host=~"gpu-box-1\\.example",model=~"meta-llama/Llama-3\\.1-8B",instance=~"127\\.0\\.0\\.1:8000"`},
		{"", `x"}) or vector(1`, "", `host=~".*",model=~"x\"\\}\\) or vector\\(1",instance=~".*"`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, serverSelector(tc.host, tc.model, tc.instance))
		})
	}
}
