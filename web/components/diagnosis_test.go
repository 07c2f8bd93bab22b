package components

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServerRowDiagnosis renders the diagnosis first on a row, with the
// numbers the row has, a link to what to do, and nothing before the rules
// have decided.
func TestServerRowDiagnosis(t *testing.T) {
	rows := []ServerRow{
		{
			Server: "vllm", Model: "llama", Instance: "h:8000", Diagnosis: "queue_saturation",
			DiagnosisTail: vs(2.4), DiagnosisQueueShare: vs(5.0 / 6), DiagnosisITLSpike: vs(3), DiagnosisPromptShare: vs(0.75),
		},
		{Server: "vllm", Model: "llama", Instance: "h:8001", Diagnosis: "front_of_engine", DiagnosisFrontGap: vs(2.5), DiagnosisTail: vs(0.3)},
		{Server: "tgi", Instance: "h:8080", Diagnosis: "none"},
		{Server: "sglang", Instance: "h:30000"},
	}
	doc := render(t, TokenPath(TokenPathPage{Page: testPage("Token path", "/"), Rows: rows}))
	trs := doc.Find(`[data-testid="server-row"]`)
	require.Equal(t, 4, trs.Length())
	cases := []struct {
		row            int
		cause, numbers string
	}{
		{0, "queue_saturation", "tail 2.4× objective · queue 83% of TTFT · p99 ITL 3× p50 · prompt 75% of tokens"},
		{1, "front_of_engine", "tail 0.3× objective · 2.5 s before the engine"},
		{2, "none", ""},
	}
	for _, tc := range cases {
		d := trs.Eq(tc.row).Find(`[data-testid="row-diagnosis"]`)
		require.Equal(t, 1, d.Length(), "row %d", tc.row)
		require.Equal(t, tc.cause, d.AttrOr("data-cause", ""))
		require.Equal(t, tc.cause, d.Find("a").Text())
		require.Equal(t, DiagnosisRunbook+tc.cause, d.Find("a").AttrOr("href", ""))
		require.Equal(t, tc.numbers, d.Find(`[data-testid="row-diagnosis-numbers"]`).Text())
		// The diagnosis comes first in the row, before the server's name.
		first := trs.Eq(tc.row).Find("td").First().Children().First()
		require.Equal(t, "row-diagnosis", first.AttrOr("data-testid", ""))
	}
	require.Equal(t, 0, trs.Eq(3).Find(`[data-testid="row-diagnosis"]`).Length(), "not diagnosed: nothing claimed")
}
