package components

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSLOTableSpans: attainment and budget say the span of data they cover
// until their window (a day, 30 days) is full, and nothing after.
func TestSLOTableSpans(t *testing.T) {
	const day = 86400.0
	tests := []struct {
		name                   string
		attCovered, budCovered Value
		wantAtt, wantBudget    string // "" = no span shown
	}{
		{"a fresh install: six minutes", vs(360), vs(360), "over 6 min", "over 6 min"},
		{"five and a half hours", vs(5.5 * 3600), vs(5.5 * 3600), "over 5.5 h", "over 5.5 h"},
		{"the day is full, the month is not", vs(day), vs(12.25 * day), "", "over 12.2 d"},
		{"one missed evaluation still fills the windows", vs(day - 60), vs(30*day - 60), "", ""},
		{"coverage unknown", Value{}, Value{}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := render(t, SLOTable(Controls{}, []SLORow{{
				Model: "llama", Instance: "h:8001", SLO: "probe-ttft-5s", Server: "probe",
				Objective: vs(0.99), Attainment: vs(0.5), BudgetRemaining: vs(0.988), BurnRate: vs(50),
				AttainmentCovered: tc.attCovered, BudgetCovered: tc.budCovered,
			}}))
			row := one(t, doc, "slo-row")
			require.Equal(t, "50.00%", row.Find(`[data-testid="slo-attainment-value"]`).Text())
			require.Equal(t, "99%", row.Find(`[data-testid="slo-budget-value"]`).Text())
			require.Equal(t, tc.wantAtt, row.Find(`[data-testid="slo-attainment-span"]`).Text())
			require.Equal(t, tc.wantBudget, row.Find(`[data-testid="slo-budget-span"]`).Text())
			href := row.Find(`[data-testid="slo-attainment-value"]`).AttrOr("href", "")
			require.Contains(t, href, "instance%3D%22h%3A8001%22", "the Explore link is the row's own series")
		})
	}
}

func TestCoveredSpan(t *testing.T) {
	require.Equal(t, "over 0 min", CoveredSpan(vs(59), time.Hour))
	require.Equal(t, "over 119 min", CoveredSpan(vs(119*60+59), 30*24*time.Hour))
	require.Equal(t, "over 2 h", CoveredSpan(vs(7200), 30*24*time.Hour))
	require.Equal(t, "over 47.9 h", CoveredSpan(vs(48*3600-1), 30*24*time.Hour))
	require.Equal(t, "over 2 d", CoveredSpan(vs(48*3600), 30*24*time.Hour))
	require.Empty(t, CoveredSpan(vs(86400), 24*time.Hour))
}
