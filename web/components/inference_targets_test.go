package components

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInferenceTargets(t *testing.T) {
	now := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	doc := render(t, TokenPath(TokenPathPage{
		Page: testPage("Token path", "/"),
		Now:  now,
		Targets: []InferenceTarget{
			{
				Job: "vllm", Instance: "127.0.0.1:8001", URL: "http://127.0.0.1:8001/metrics", Health: "down",
				LastScrape: now.Add(-2 * time.Second), Error: "connect: connection refused",
				DownSince: now.Add(-3 * time.Minute), Alerting: "firing",
			},
			{
				Job: "tgi", Instance: "127.0.0.1:8080", URL: "http://127.0.0.1:8080/metrics", Server: "vllm", Health: "up",
				LastScrape: now.Add(-time.Second), Mismatch: "configured as tgi, but it exposes vllm metrics",
			},
		},
	}))
	rows := doc.Find(`[data-testid="inference-target"]`)
	require.Equal(t, 2, rows.Length())

	down := rows.Eq(0)
	require.Equal(t, "vllm/127.0.0.1:8001", down.AttrOr("data-key", ""))
	require.Equal(t, "down", down.Find(`[data-testid="inference-target-health"]`).Text())
	require.Equal(t, "down since 3m0s ago", down.Find(`[data-testid="inference-target-down-since"]`).Text())
	require.Equal(t, "connect: connection refused", down.Find(`[data-testid="inference-target-error"]`).Text())
	require.Equal(t, "not detected yet", down.Find(`[data-testid="inference-target-server"]`).Text())
	require.Equal(t, "InferenceTargetDown firing", down.Find(`[data-testid="inference-target-alert"]`).Text())

	mis := rows.Eq(1)
	require.Equal(t, "vllm", mis.Find(`[data-testid="inference-target-server"]`).Text())
	require.Equal(t, "configured as tgi, but it exposes vllm metrics", mis.Find(`[data-testid="inference-target-mismatch"]`).Text())
	require.Equal(t, 0, mis.Find(`[data-testid="inference-target-down-since"]`).Length())
	require.Equal(t, 0, mis.Find(`[data-testid="inference-target-alert"]`).Length())
}

func TestInferenceTargetsHiddenWithoutTargets(t *testing.T) {
	doc := render(t, TokenPath(TokenPathPage{Page: testPage("Token path", "/")}))
	require.Equal(t, 0, doc.Find(`[data-testid="inference-targets"]`).Length())
}
