package grafana

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

type datasourcesFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string         `yaml:"name"`
		UID       string         `yaml:"uid"`
		Type      string         `yaml:"type"`
		Access    string         `yaml:"access"`
		URL       string         `yaml:"url"`
		IsDefault bool           `yaml:"isDefault"`
		JSONData  map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

type providersFile struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name    string `yaml:"name"`
		Type    string `yaml:"type"`
		Folder  string `yaml:"folder"`
		Options struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

func readYAML[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	require.NoError(t, yaml.Unmarshal(b, &v))
	return v
}

func embedded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(Files(), name)
	require.NoError(t, err)
	return b
}

func TestEmbeddedProvisioningFiles(t *testing.T) {
	ds := readYAML[datasourcesFile](t, embedded(t, DatasourcesFile))
	require.Equal(t, 1, ds.APIVersion)
	require.Len(t, ds.Datasources, 1)
	d := ds.Datasources[0]
	require.Equal(t, "prometheus", d.Type)
	require.Equal(t, DatasourceUID, d.UID, "the dashboards' datasource variable defaults to this uid")
	require.Equal(t, "proxy", d.Access)
	require.Equal(t, defaultDatasourceURL, d.URL)
	require.Equal(t, "POST", d.JSONData["httpMethod"])

	pv := readYAML[providersFile](t, embedded(t, ProvidersFile))
	require.Equal(t, 1, pv.APIVersion)
	require.Len(t, pv.Providers, 1)
	require.Equal(t, "file", pv.Providers[0].Type)
	// The provider points at the folder the README tells people to mount
	// grafana/dashboards/ on.
	require.Equal(t, defaultDashboardsDir, pv.Providers[0].Options.Path)
	require.Equal(t, "dashboards", filepath.Base(filepath.Dir(pv.Providers[0].Options.Path)))
}

func TestWriteProvisioning(t *testing.T) {
	tests := []struct {
		name, url, wantURL, dashboards, wantDashboards string
	}{
		{"plain", "http://127.0.0.1:9090", "http://127.0.0.1:9090", "", "/var/lib/grafana/dashboards/tokenpath"},
		{"trailing slash dropped", "http://localhost:9091/", "http://localhost:9091", "", "/var/lib/grafana/dashboards/tokenpath"},
		{"path prefix kept", "https://localhost:8443/tokenpath", "https://localhost:8443/tokenpath", "", "/var/lib/grafana/dashboards/tokenpath"},
		{"dashboards elsewhere", "http://127.0.0.1:9090", "http://127.0.0.1:9090", "/srv/grafana/tokenpath", "/srv/grafana/tokenpath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, WriteProvisioning(dir, tt.url, tt.dashboards))

			// Every file of the tree, and nothing else.
			var got []string
			require.NoError(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					got = append(got, filepath.ToSlash(rel))
				}
				return err
			}))
			require.ElementsMatch(t, []string{
				DatasourcesFile, ProvidersFile,
				"dashboards/gpu_utilization.json", "dashboards/token_path.json",
			}, got)

			// The data source file is the embedded one with the URL replaced.
			written, err := os.ReadFile(filepath.Join(dir, DatasourcesFile))
			require.NoError(t, err)
			want := readYAML[map[string]any](t, embedded(t, DatasourcesFile))
			want["datasources"].([]any)[0].(map[string]any)["url"] = tt.wantURL
			require.Equal(t, want, readYAML[map[string]any](t, written))

			require.False(t, readYAML[datasourcesFile](t, written).Datasources[0].IsDefault,
				"the data source never displaces the user's default")

			// The providers file is the embedded one pointing where Grafana
			// sees the dashboards (its container's or package's folder, or
			// the path given), never at this machine's dir.
			written, err = os.ReadFile(filepath.Join(dir, ProvidersFile))
			require.NoError(t, err)
			wantPv := readYAML[map[string]any](t, embedded(t, ProvidersFile))
			wantPv["providers"].([]any)[0].(map[string]any)["options"].(map[string]any)["path"] = tt.wantDashboards
			require.Equal(t, wantPv, readYAML[map[string]any](t, written))

			// The dashboards are the embedded ones, byte for byte, in dir/dashboards.
			for _, name := range DashboardFiles() {
				b, err := os.ReadFile(filepath.Join(dir, DashboardsDir, name))
				require.NoError(t, err)
				require.Equal(t, string(embedded(t, "dashboards/"+name)), string(b))
			}
		})
	}
}

func TestWriteProvisioningRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:9090", "ftp://localhost/", "http://", "http://%zz"} {
		t.Run(u, func(t *testing.T) {
			dir := t.TempDir()
			require.Error(t, WriteProvisioning(dir, u, ""))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing is written for a bad URL")
		})
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	tests := []struct {
		method, path string
		status       int
		ctype        string
		body         string // Expected body; empty means don't compare.
	}{
		{"GET", "/grafana/dashboards/token_path.json", 200, "application/json", string(embedded(t, "dashboards/token_path.json"))},
		{"GET", "/grafana/dashboards/gpu_utilization.json", 200, "application/json", string(embedded(t, "dashboards/gpu_utilization.json"))},
		{"GET", "/grafana/provisioning/datasources/tokenpath.yml", 200, "application/yaml", string(embedded(t, DatasourcesFile))},
		{"GET", "/grafana/provisioning/dashboards/tokenpath.yml", 200, "application/yaml", string(embedded(t, ProvidersFile))},
		{"HEAD", "/grafana/dashboards/token_path.json", 200, "application/json", ""},
		{"GET", "/grafana/", 200, "text/plain; charset=utf-8", "tokenpath Grafana files (see `tokenpath grafana export --help`):\n" +
			"/grafana/dashboards/gpu_utilization.json\n/grafana/dashboards/token_path.json\n" +
			"/grafana/provisioning/dashboards/tokenpath.yml\n/grafana/provisioning/datasources/tokenpath.yml\n"},
		{"GET", "/grafana/dashboards/", 404, "", ""},
		{"GET", "/grafana/../go.mod", 404, "", ""},
		{"GET", "/grafana/grafana.go", 404, "", ""},
		{"GET", "/other", 404, "", ""},
		{"POST", "/grafana/dashboards/token_path.json", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, http.NoBody)
			require.NoError(t, err)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			t.Cleanup(func() { _ = resp.Body.Close() })
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.status, resp.StatusCode, string(body))
			if tt.ctype != "" {
				require.Equal(t, tt.ctype, resp.Header.Get("Content-Type"))
			}
			if tt.body != "" {
				require.Equal(t, tt.body, string(body))
			}
			if tt.method == "HEAD" {
				require.Empty(t, body)
				require.Equal(t, "attachment; filename=\"token_path.json\"", resp.Header.Get("Content-Disposition"))
			}
		})
	}
}
