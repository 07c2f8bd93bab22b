package grafana

import (
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
)

var update = flag.Bool("update", false, "rewrite grafana/dashboards/*.json from package panels")

// TestDashboardsAreUpToDate keeps the committed JSON equal to what the
// generator writes; run `go generate ./grafana` after changing package panels.
func TestDashboardsAreUpToDate(t *testing.T) {
	got, err := Dashboards()
	require.NoError(t, err)
	require.Len(t, got, 2)
	for name, b := range got {
		file := filepath.Join(DashboardsDir, name)
		if *update {
			require.NoError(t, os.WriteFile(file, b, 0o644))
			continue
		}
		onDisk, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, string(b), string(onDisk), "%s is stale: run go generate ./grafana", file)
		embedded, err := fs.ReadFile(Files(), DashboardsDir+"/"+name)
		require.NoError(t, err)
		require.Equal(t, string(b), string(embedded), "%s embedded copy is stale: rebuild", name)
	}
}

// Just enough of Grafana's dashboard model to check what Grafana relies on.
type gDashboard struct {
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	SchemaVersion int        `json:"schemaVersion"`
	Panels        []gPanel   `json:"panels"`
	Templating    gTemplates `json:"templating"`
}

type gPanel struct {
	ID          int       `json:"id"`
	Type        string    `json:"type"`
	Title       string    `json:"title"`
	GridPos     *gGridPos `json:"gridPos"`
	Targets     []gTarget `json:"targets"`
	Datasource  *gDS      `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit     string `json:"unit"`
			Mappings []struct {
				Type    string         `json:"type"`
				Options map[string]any `json:"options"`
			} `json:"mappings"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options string `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Options map[string]any `json:"options"`
}

type gGridPos struct{ H, W, X, Y int }

type gTarget struct {
	RefID      string `json:"refId"`
	Expr       string `json:"expr"`
	Format     string `json:"format"`
	Legend     string `json:"legendFormat"`
	Datasource *gDS   `json:"datasource"`
}

type gDS struct{ Type, UID string }

type gTemplates struct {
	List []struct {
		Name       string `json:"name"`
		Type       string `json:"type"`
		Query      any    `json:"query"`
		Definition string `json:"definition"`
		AllValue   string `json:"allValue"`
		IncludeAll bool   `json:"includeAll"`
		Regex      string `json:"regex"`
		Hide       int    `json:"hide"`
		Refresh    int    `json:"refresh"`
		Current    struct {
			Value any `json:"value"`
		} `json:"current"`
	} `json:"list"`
}

func loadDashboards(t *testing.T) map[string]gDashboard {
	t.Helper()
	out := map[string]gDashboard{}
	for _, name := range DashboardFiles() {
		b, err := fs.ReadFile(Files(), DashboardsDir+"/"+name)
		require.NoError(t, err)
		var d gDashboard
		dec := json.NewDecoder(strings.NewReader(string(b)))
		require.NoError(t, dec.Decode(&d), name)
		out[name] = d
	}
	require.Equal(t, []string{"gpu_utilization.json", "token_path.json"}, slices.Sorted(func(yield func(string) bool) {
		for k := range out {
			if !yield(k) {
				return
			}
		}
	}))
	return out
}

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

func TestDashboardsAreGrafanaJSON(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	uids := map[string]bool{}
	for name, d := range loadDashboards(t) {
		t.Run(name, func(t *testing.T) {
			require.GreaterOrEqual(t, d.SchemaVersion, 39)
			require.NotEmpty(t, d.Title)
			require.NotEmpty(t, d.UID)
			require.False(t, uids[d.UID], "uid %s used twice", d.UID)
			uids[d.UID] = true

			rangeVars := map[string]panels.RangeVariable{}
			for _, v := range panels.RangeVariables() {
				rangeVars[v.Name] = v
			}
			vars := map[string]string{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v.Type
				switch v.Type {
				case "datasource":
					require.Equal(t, "datasource", v.Name)
					require.Equal(t, "prometheus", v.Query)
					require.Equal(t, DatasourceUID, v.Current.Value)
				case "query":
					if rv, ok := rangeVars[v.Name]; ok {
						// A hidden variable that picks 1 m or 5 m series by the range.
						require.Equal(t, rv.Query, v.Definition)
						require.Equal(t, rv.Regex, v.Regex)
						require.Equal(t, 2, v.Hide, "%s is hidden", v.Name)
						require.Equal(t, 2, v.Refresh, "%s follows the time range", v.Name)
						continue
					}
					// label_values(<selector>, <label>) with a selector that parses.
					m := regexp.MustCompile(`^label_values\((.+), *([a-z_]+)\)$`).FindStringSubmatch(v.Definition)
					require.NotNil(t, m, "variable %s: %q is not label_values(selector, label)", v.Name, v.Definition)
					require.Equal(t, v.Name, m[2])
					_, err := p.ParseMetricSelector(panels.Expand(m[1], nil))
					require.NoError(t, err, v.Definition)
					require.True(t, v.IncludeAll, v.Name)
					require.Equal(t, panels.AllValue, v.AllValue, v.Name)
				default:
					t.Fatalf("variable %s has unexpected type %s", v.Name, v.Type)
				}
			}
			require.Equal(t, "datasource", vars["datasource"])

			ids := map[int]bool{}
			var cells []gGridPos
			for _, pn := range d.Panels {
				require.Positive(t, pn.ID, pn.Title)
				require.False(t, ids[pn.ID], "panel id %d used twice", pn.ID)
				ids[pn.ID] = true
				require.NotNil(t, pn.GridPos, pn.Title)
				g := *pn.GridPos
				require.Positive(t, g.W, pn.Title)
				require.Positive(t, g.H, pn.Title)
				require.LessOrEqual(t, g.X+g.W, 24, pn.Title)
				for _, c := range cells {
					overlap := g.X < c.X+c.W && c.X < g.X+g.W && g.Y < c.Y+c.H && c.Y < g.Y+g.H
					require.False(t, overlap, "panel %q overlaps another", pn.Title)
				}
				cells = append(cells, g)
				if pn.Type == "row" {
					continue
				}
				require.Contains(t, []string{"timeseries", "heatmap", "state-timeline", "stat"}, pn.Type)
				require.NotNil(t, pn.Datasource, pn.Title)
				require.Equal(t, gDS{Type: "prometheus", UID: "${datasource}"}, *pn.Datasource)
				require.NotEmpty(t, pn.Targets, pn.Title)
				refs := map[string]bool{}
				for _, tg := range pn.Targets {
					require.NotEmpty(t, tg.RefID, pn.Title)
					require.False(t, refs[tg.RefID], "%s: refId %s twice", pn.Title, tg.RefID)
					refs[tg.RefID] = true
					require.NotEmpty(t, tg.Expr, pn.Title)
					for _, m := range varRef.FindAllStringSubmatch(tg.Expr, -1) {
						require.Contains(t, vars, m[1], "%s: $%s is not a variable of %s", pn.Title, m[1], name)
					}
					// The range variables take their short-range value.
					expr := panels.Expand(tg.Expr, map[string]string{panels.VarBucketRate: "rate1m", panels.VarQuantile: "histogram_quantile"})
					_, err := p.ParseExpr(expr)
					require.NoError(t, err, "%s: %s", pn.Title, expr)
					if pn.Type == "heatmap" {
						require.Equal(t, "heatmap", tg.Format, pn.Title)
						require.Contains(t, tg.Expr, "sum by (le)", pn.Title)
					}
				}
			}
		})
	}
}

// findPanel returns the panel of the given type whose targets include every
// substring in exprs.
func findPanel(t *testing.T, d gDashboard, typ string, exprs ...string) gPanel {
	t.Helper()
	for _, pn := range d.Panels {
		if pn.Type != typ {
			continue
		}
		var all strings.Builder
		for _, tg := range pn.Targets {
			all.WriteString(tg.Expr + "\n")
		}
		ok := true
		for _, e := range exprs {
			ok = ok && strings.Contains(all.String(), e)
		}
		if ok {
			return pn
		}
	}
	t.Fatalf("%s: no %s panel with %q", d.Title, typ, exprs)
	return gPanel{}
}

// TestDashboardsShowWhatTheyPromise checks each chart the README lists.
func TestDashboardsShowWhatTheyPromise(t *testing.T) {
	ds := loadDashboards(t)
	tp, gpu := ds["token_path.json"], ds["gpu_utilization.json"]

	ttft := findPanel(t, tp, "timeseries",
		`tokenpath:ttft_seconds:${lr_quantile}{quantile="0.5"`,
		`tokenpath:ttft_seconds:${lr_quantile}{quantile="0.9"`,
		`tokenpath:ttft_seconds:${lr_quantile}{quantile="0.99"`)
	require.Equal(t, "s", ttft.FieldConfig.Defaults.Unit)

	itl := findPanel(t, tp, "heatmap", "tokenpath:itl_seconds_bucket:${lr_bucket_rate}")
	require.Equal(t, false, itl.Options["calculate"])
	findPanel(t, tp, "heatmap", "tokenpath:e2e_seconds_bucket:${lr_bucket_rate}")

	// Tokens/s with the batch size on a second axis.
	tput := findPanel(t, tp, "timeseries", "tokenpath:generation_tokens:rate1m", "tokenpath:requests_running")
	var batchRef string
	for _, tg := range tput.Targets {
		if strings.Contains(tg.Expr, "tokenpath:requests_running") {
			batchRef = tg.RefID
		}
	}
	require.Len(t, tput.FieldConfig.Overrides, 1)
	ov := tput.FieldConfig.Overrides[0]
	require.Equal(t, "byFrameRefID", ov.Matcher.ID)
	require.Equal(t, batchRef, ov.Matcher.Options)
	require.Equal(t, "custom.axisPlacement", ov.Properties[0].ID)
	require.Equal(t, "right", ov.Properties[0].Value)

	vram := findPanel(t, gpu, "timeseries", "gpu_vram_used_bytes", "gpu_vram_total_bytes")
	require.Equal(t, "bytes", vram.FieldConfig.Defaults.Unit)
	require.Equal(t, "percent", findPanel(t, gpu, "timeseries", "gpu_compute_utilization").FieldConfig.Defaults.Unit)
	require.Equal(t, "celsius", findPanel(t, gpu, "timeseries", "gpu_temperature_celsius").FieldConfig.Defaults.Unit)
	require.Equal(t, "watt", findPanel(t, gpu, "timeseries", "gpu_power_draw_watts", "gpu_power_limit_watts").FieldConfig.Defaults.Unit)
	require.Equal(t, "percent", findPanel(t, gpu, "timeseries", "gpu_memory_bandwidth_utilization").FieldConfig.Defaults.Unit)

	state := findPanel(t, gpu, "state-timeline", "tokenpath:gpu_state")
	require.Len(t, state.FieldConfig.Defaults.Mappings, 1)
	texts := map[string]string{}
	for k, v := range state.FieldConfig.Defaults.Mappings[0].Options {
		texts[k] = v.(map[string]any)["text"].(string)
	}
	require.Equal(t, map[string]string{"0": "idle", "1": "balanced", "2": "compute-bound", "3": "memory-bound"}, texts)
}
