package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

func get(t *testing.T, h http.Handler, target string) (*httptest.ResponseRecorder, *goquery.Document) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, target, nil))
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
	require.NoError(t, err)
	return rec, doc
}

// getOK renders target and requires a 200 page without an error banner.
func getOK(t *testing.T, h http.Handler, target string) *goquery.Document {
	t.Helper()
	rec, doc := get(t, h, target)
	require.Equal(t, http.StatusOK, rec.Code, target)
	require.Equal(t, 0, doc.Find(`[data-testid="page-error"]`).Length(), doc.Find(`[data-testid="page-error"]`).Text())
	return doc
}

func testids(doc *goquery.Document, sel string) []string {
	var out []string
	doc.Find(sel).Each(func(_ int, s *goquery.Selection) {
		out = append(out, s.AttrOr("data-testid", ""))
	})
	return out
}

func TestPagesWithData(t *testing.T) {
	f := startPrometheus(t, fullExposition, fixtureRules, 0)
	ui := newUI(t, f.API)

	tests := []struct {
		target string
		title  string
		charts []string
		check  func(t *testing.T, doc *goquery.Document)
	}{
		{
			target: "/", title: "Token path",
			charts: []string{"chart-ttft", "chart-itl_heatmap", "chart-throughput", "chart-e2e_heatmap", "chart-queue", "chart-kv_cache"},
			check: func(t *testing.T, doc *goquery.Document) {
				rows := doc.Find(`[data-testid="server-row"]`)
				require.Equal(t, 2, rows.Length(), "a vLLM and a TGI row; the probe is no row of its own")
				tgi := rows.Eq(0)
				require.Equal(t, "tgi", tgi.Find(`[data-testid="row-server"]`).Text())
				require.Contains(t, tgi.Text(), "estimate")
				require.Contains(t, tgi.Text(), "TPOT")
				vllm := rows.Eq(1)
				require.Equal(t, "vllm/llama-3-8b/127.0.0.1:8000", vllm.AttrOr("data-key", ""))
				require.Equal(t, "120 ms", vllm.Find(`[data-testid="ttft-p50"]`).Text())
				require.Equal(t, "350 ms", vllm.Find(`[data-testid="ttft-p90"]`).Text())
				require.Equal(t, "900 ms", vllm.Find(`[data-testid="ttft-p99"]`).Text())
				require.Equal(t, "60 ms", vllm.Find(`[data-testid="itl-p99"]`).Text())
				require.Equal(t, "7 s", vllm.Find(`[data-testid="e2e-p99"]`).Text())
				require.Equal(t, "1.23k", vllm.Find(`[data-testid="tokens"]`).Text())
				require.Equal(t, "24", vllm.Find(`[data-testid="running"]`).Text())
				require.Equal(t, "3", vllm.Find(`[data-testid="waiting"]`).Text())
				require.Equal(t, "42%", vllm.Find(`[data-testid="kv-cache"]`).Text())
				require.Equal(t, "1.5%", vllm.Find(`[data-testid="error-rate"]`).Text())
				require.Contains(t, vllm.Find(`[data-testid="probe-ttft"]`).Text(), "150 ms / 1.1 s")
				require.Equal(t, "HighTTFT", vllm.Find(`[data-testid="row-alert"]`).Text())
				require.Equal(t, 0, tgi.Find(`[data-testid="row-alert"]`).Length())
				href := vllm.Find(`[data-testid="ttft-p99"]`).AttrOr("href", "")
				require.Equal(t, "/latency?instance=127.0.0.1%3A8000&model=llama-3-8b#chart-ttft_heatmap", href)
				require.Equal(t, 2, vllm.Find(`[data-testid="lifecycle"] .bar`).Length())
				models := doc.Find(`[data-testid="filter-model"] option`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") })
				require.Equal(t, []string{"", "llama-3-8b"}, models)
			},
		},
		{
			target: "/?instance=127.0.0.1:8000&range=6h", title: "Token path",
			charts: []string{"chart-ttft", "chart-itl_heatmap", "chart-throughput", "chart-e2e_heatmap", "chart-queue", "chart-kv_cache"},
			check: func(t *testing.T, doc *goquery.Document) {
				rows := doc.Find(`[data-testid="server-row"]`)
				require.Equal(t, 1, rows.Length(), "the filter keeps the vLLM row only")
				require.Equal(t, "vllm", rows.Find(`[data-testid="row-server"]`).Text())
				require.Equal(t, "127.0.0.1:8000", doc.Find(`[data-testid="filter-instance"] option[selected]`).AttrOr("value", ""))
				require.Equal(t, "6h", doc.Find(`[data-testid="range"] option[selected]`).AttrOr("value", ""))
				var c struct{ Queries []struct{ Expr string } }
				require.NoError(t, json.Unmarshal([]byte(doc.Find(`[data-testid="chart-kv_cache"]`).AttrOr("data-chart", "")), &c))
				require.Equal(t, `tokenpath:kv_cache_usage:ratio{host=~".*",model=~".*",instance=~"127\\.0\\.0\\.1:8000"}`, c.Queries[0].Expr)
				// From 6 h on, heatmaps and percentile charts read the 5 m series.
				require.NoError(t, json.Unmarshal([]byte(doc.Find(`[data-testid="chart-itl_heatmap"]`).AttrOr("data-chart", "")), &c))
				require.Contains(t, c.Queries[0].Expr, `tokenpath:itl_seconds_bucket:rate5m{`)
				require.NotContains(t, c.Queries[0].Expr, `rate1m`)
				// Links to other pages keep the filter and the range.
				require.Equal(t, "/gpu?instance=127.0.0.1%3A8000&range=6h", doc.Find(`[data-testid="nav-GPU"]`).AttrOr("href", ""))
			},
		},
		{
			target: "/latency", title: "Latency",
			charts: []string{"chart-ttft_percentiles", "chart-ttft_heatmap", "chart-itl_percentiles", "chart-itl_heatmap", "chart-e2e_percentiles", "chart-e2e_heatmap", "chart-phases", "chart-throughput"},
		},
		{
			target: "/gpu", title: "GPU",
			charts: []string{"chart-vram", "chart-compute", "chart-gpu_state", "chart-temperature", "chart-power", "chart-memory_bandwidth", "chart-clocks"},
			check: func(t *testing.T, doc *goquery.Document) {
				cards := doc.Find(`[data-testid="gpu-card"]`)
				require.Equal(t, 2, cards.Length())
				g0 := cards.Eq(0)
				require.Equal(t, "0", g0.AttrOr("data-gpu", ""))
				require.Equal(t, "memory_bound", strings.TrimSpace(g0.Find(`[data-testid="gpu-state"]`).Text()))
				require.Contains(t, g0.Find(`[data-testid="gpu-vram"]`).Text(), "70.8 GiB / 74.5 GiB")
				require.Equal(t, "35%", strings.TrimSpace(g0.Find(`[data-testid="gpu-compute"]`).Text()))
				require.Equal(t, "88%", strings.TrimSpace(g0.Find(`[data-testid="gpu-bandwidth"]`).Text()))
				require.Equal(t, "512 W / 700 W", g0.Find(`[data-testid="gpu-power"]`).Text())
				require.Equal(t, "1980 MHz / 2600 MHz", g0.Find(`[data-testid="gpu-clocks"]`).Text())
				require.Contains(t, g0.Find(`[data-testid="gpu-throttle"]`).Text(), "sw_power_cap")
				require.Contains(t, cards.Eq(1).Find(`[data-testid="gpu-throttle"]`).Text(), "none")
				require.Contains(t, g0.Find(`[data-testid="gpu-process"]`).Text(), "python3")
				require.Equal(t, 0, doc.Find(`[data-testid="gpu-off"]`).Length())
			},
		},
		{
			target: "/gpu?instance=127.0.0.1:8000&model=x", title: "GPU",
			check: func(t *testing.T, doc *goquery.Document) {
				require.Equal(t, 2, doc.Find(`[data-testid="gpu-card"]`).Length())
				require.Contains(t, doc.Find(`[data-testid="chart-compute"]`).AttrOr("data-chart", ""), `instance=~\".*\"`, "the server filter does not hide GPUs")
			},
		},
		{
			target: "/alerts", title: "Alerts",
			check: func(t *testing.T, doc *goquery.Document) {
				alerts := doc.Find(`[data-testid="alert-row"]`)
				require.Equal(t, 1, alerts.Length())
				require.Equal(t, "HighTTFT", alerts.AttrOr("data-alert", ""))
				require.Equal(t, "firing", alerts.AttrOr("data-state", ""))
				require.Equal(t, "0.9", alerts.Find(`[data-testid="alert-value"]`).Text())
				require.Contains(t, alerts.Text(), `model="llama-3-8b"`)
				require.NotEqual(t, "never", alerts.Find(`[data-testid="alert-since"]`).Text())
				rules := doc.Find(`[data-testid="rule-row"]`)
				require.Equal(t, 3, rules.Length())
				broken := doc.Find(`[data-rule="tokenpath:fixture_broken"]`)
				require.Equal(t, "err", broken.AttrOr("data-health", ""))
				require.Contains(t, broken.Find(`[data-testid="rule-error"]`).Text(), "same labelset")
				require.Equal(t, "ok", doc.Find(`[data-rule="NeverFires"]`).AttrOr("data-health", ""))
			},
		},
		{
			target: "/targets", title: "Targets",
			check: func(t *testing.T, doc *goquery.Document) {
				row := doc.Find(`[data-testid="target-row"]`)
				require.Equal(t, 1, row.Length())
				require.Equal(t, "fixture", row.AttrOr("data-job", ""))
				require.Equal(t, "vllm", row.Find(`[data-testid="target-server"]`).Text())
				require.Equal(t, "up", row.Find(`[data-testid="target-health"]`).Text())
				require.NotEqual(t, "never", row.Find(`[data-testid="target-last-scrape"]`).Text())
				require.NotEqual(t, "—", row.Find(`[data-testid="target-samples"]`).Text())
				require.Empty(t, row.Find(`[data-testid="target-error"]`).Text())
			},
		},
		{
			target: "/explore?expr=up", title: "Explore",
			check: func(t *testing.T, doc *goquery.Document) {
				require.Equal(t, "up", doc.Find(`[data-testid="explore-expr"]`).Text())
				require.Equal(t, 1, doc.Find(`[data-testid="explore-error"][hidden]`).Length())
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rec, doc := get(t, ui, tc.target)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
			csp := rec.Header().Get("Content-Security-Policy")
			require.Contains(t, strings.Split(csp, "; "), "script-src 'self'", "scripts only from the bundle, no unsafe-inline")
			require.Equal(t, tc.title+" · tokenpath", doc.Find("title").Text())
			require.Equal(t, tc.title, doc.Find(`[data-testid="page-title"]`).Text())
			require.Equal(t, 0, doc.Find(`[data-testid="page-error"]`).Length(), doc.Find(`[data-testid="page-error"]`).Text())
			require.Equal(t, 0, doc.Find("script:not([src])").Length(), "no inline scripts")
			if tc.charts != nil {
				require.Equal(t, tc.charts, testids(doc, "section.chart"))
			}
			if tc.check != nil {
				tc.check(t, doc)
			}
		})
	}
}

func TestPagesEmpty(t *testing.T) {
	// A tokenpath without inference servers, GPUs or rules.
	f := startPrometheus(t, func(float64) string { return "tokenpath_gpu_up 0\n" }, "", 0)
	ui := newUI(t, f.API)
	tests := []struct {
		target, title, empty string
	}{
		{"/", "Token path", "empty-servers"},
		{"/gpu", "GPU", "gpu-off"},
		{"/alerts", "Alerts", "empty-alerts"},
		{"/alerts", "Alerts", "empty-rules"},
	}
	for _, tc := range tests {
		t.Run(tc.target+"/"+tc.empty, func(t *testing.T) {
			rec, doc := get(t, ui, tc.target)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, tc.title, doc.Find(`[data-testid="page-title"]`).Text())
			require.Equal(t, 1, doc.Find(`[data-testid="`+tc.empty+`"]`).Length())
		})
	}
	t.Run("gpu off hides cards and charts", func(t *testing.T) {
		_, doc := get(t, ui, "/gpu")
		require.Contains(t, doc.Find(`[data-testid="gpu-off"]`).Text(), "GPU metrics off: no NVIDIA driver")
		require.Equal(t, 0, doc.Find("section.chart").Length())
	})
	t.Run("no server says what to do", func(t *testing.T) {
		_, doc := get(t, ui, "/")
		require.Contains(t, doc.Find(`[data-testid="empty-servers"]`).Text(), "set VLLM_ENDPOINT")
		require.Contains(t, doc.Find(`[data-testid="empty-servers"]`).Text(), "--demo")
	})
}

func TestRoutingAndAssets(t *testing.T) {
	f := startPrometheus(t, func(float64) string { return "tokenpath_gpu_up 0\n" }, "", 0)
	ui := newUI(t, f.API)
	tests := []struct {
		name, method, target string
		status               int
		contentType          string
		cache                string
	}{
		{"unknown page", http.MethodGet, "/nope", http.StatusNotFound, "text/html; charset=utf-8", "no-store"},
		{"nested unknown page", http.MethodGet, "/gpu/extra", http.StatusNotFound, "text/html; charset=utf-8", "no-store"},
		{"unknown asset", http.MethodGet, "/static/missing.js", http.StatusNotFound, "text/html; charset=utf-8", "no-store"},
		{"hashed script", http.MethodGet, ui.assetURL("app.js"), http.StatusOK, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"unhashed stylesheet", http.MethodGet, "/static/app.css", http.StatusOK, "text/css; charset=utf-8", "no-cache"},
		{"post", http.MethodPost, "/", http.StatusMethodNotAllowed, "text/plain; charset=utf-8", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			ui.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), tc.method, tc.target, nil))
			require.Equal(t, tc.status, rec.Code)
			require.Equal(t, tc.contentType, rec.Header().Get("Content-Type"))
			require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"))
			require.NotEmpty(t, rec.Header().Get("Content-Security-Policy"))
			if tc.status == http.StatusNotFound {
				doc, err := goquery.NewDocumentFromReader(rec.Body)
				require.NoError(t, err)
				require.Equal(t, 1, doc.Find(`[data-testid="not-found"]`).Length())
				require.Contains(t, doc.Find(`[data-testid="not-found"]`).Text(), tc.target)
			}
		})
	}
}

func TestNewRequiresAPI(t *testing.T) {
	_, err := New(Options{})
	require.ErrorContains(t, err, "API is nil")
}

func TestPagesAPIDown(t *testing.T) {
	// A real client of an address nobody listens on: every API call fails.
	c, err := promapi.NewClient(promapi.Config{Address: "http://" + testbin.FreePort(t)})
	require.NoError(t, err)
	ui := newUI(t, promv1.NewAPI(c))
	tests := []struct{ target, title string }{
		{"/", "Token path"},
		{"/gpu", "GPU"},
		{"/alerts", "Alerts"},
		{"/targets", "Targets"},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rec, doc := get(t, ui, tc.target)
			require.Equal(t, http.StatusOK, rec.Code, "a page still renders what it can")
			require.Equal(t, tc.title, doc.Find(`[data-testid="page-title"]`).Text())
			require.Contains(t, doc.Find(`[data-testid="page-error"]`).Text(), "connection refused")
		})
	}
}
