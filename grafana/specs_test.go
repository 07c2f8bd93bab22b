package grafana

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
)

// TestUnknownPanelsAndVariablesAreNamed: a dashboard that names a panel ID
// or a variable grafana/panels lacks is not drawn without it; the ID is
// reported.
func TestUnknownPanelsAndVariablesAreNamed(t *testing.T) {
	var missing []string
	got := pickPanels(panels.GPU(), &missing, "vram", "no_such_panel", "power")
	require.Equal(t, []string{"no_such_panel"}, missing)
	require.Len(t, got, 2)
	require.Equal(t, "vram", got[0].ID)
	require.Equal(t, "power", got[1].ID)

	vars := dashboardVars("", &missing, panels.VarHost, "nope", panels.VarModel)
	require.Equal(t, []string{"no_such_panel", "$nope"}, missing)
	require.Equal(t, []varSpec{
		{Name: "host", Title: "Host", Label: "host", Metric: "tokenpath:requests_running"},
		{Name: "model", Title: "Model", Label: "model", Metric: "tokenpath:requests_running", Filter: `host=~"$host"`},
	}, vars)

	_, err := specs()
	require.NoError(t, err, "the shipped dashboards name only panels that exist")
}
