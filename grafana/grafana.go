// Package grafana ships tokenpath's Grafana dashboards and provisioning files
// for people who prefer Grafana to the built-in UI.
//
// The dashboards under dashboards/ are generated from package panels (the one
// home of chart PromQL, shared with the web UI) by `go generate ./grafana`, and
// committed; a test fails when they drift. Everything is embedded, served for
// download by Handler and written out by WriteProvisioning.
package grafana

//go:generate go test -run TestDashboardsAreUpToDate -update .

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed dashboards/*.json provisioning/datasources/*.yml provisioning/dashboards/*.yml
var files embed.FS

// File paths inside Files.
const (
	DatasourcesFile = "provisioning/datasources/tokenpath.yml"
	ProvidersFile   = "provisioning/dashboards/tokenpath.yml"
	DashboardsDir   = "dashboards"
)

// The lines of the embedded provisioning files that WriteProvisioning
// rewrites; tests check that they are present exactly once.
const (
	defaultDatasourceURL = "http://localhost:9090"
	defaultDashboardsDir = "/var/lib/grafana/dashboards/tokenpath"
	urlLine              = "    url: " + defaultDatasourceURL + "\n"
	pathLine             = "      path: " + defaultDashboardsDir + "\n"
)

// Files returns the embedded dashboards and provisioning files, laid out as
// dashboards/*.json and provisioning/{datasources,dashboards}/tokenpath.yml.
// The provisioning files expect Grafana's official container layout: the data
// source at http://localhost:9090 and the dashboards in
// /var/lib/grafana/dashboards/tokenpath.
func Files() fs.FS { return files }

// DashboardFiles returns the file names of the embedded dashboards, sorted.
func DashboardFiles() []string {
	entries, err := fs.ReadDir(files, DashboardsDir)
	if err != nil {
		// The directory is embedded at build time; it cannot be missing.
		panic(fmt.Sprintf("grafana: embedded dashboards missing: %v", err))
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// WriteProvisioning writes a Grafana provisioning tree into dir:
//
//	dir/provisioning/datasources/tokenpath.yml  (url: datasourceURL)
//	dir/provisioning/dashboards/tokenpath.yml   (options.path: dashboardsPath)
//	dir/dashboards/*.json
//
// dashboardsPath is where Grafana will find dir/dashboards, as Grafana sees
// the file system: empty means /var/lib/grafana/dashboards/tokenpath, where
// both Grafana's container (with dir/dashboards mounted there and
// dir/provisioning on /etc/grafana/provisioning) and its Debian package (with
// the files copied there) read them. The data source does not claim to be
// Grafana's default, so it never displaces one the user already has.
// Existing files of the same names are replaced.
func WriteProvisioning(dir, datasourceURL, dashboardsPath string) error {
	u, err := url.Parse(datasourceURL)
	if err != nil {
		return fmt.Errorf("data source URL %q: %w", datasourceURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("data source URL %q: want http(s)://host:port", datasourceURL)
	}
	if dashboardsPath == "" {
		dashboardsPath = defaultDashboardsDir
	}
	if !path.IsAbs(dashboardsPath) {
		return fmt.Errorf("dashboards path %q: want an absolute path as Grafana sees it, e.g. %s", dashboardsPath, defaultDashboardsDir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("provisioning directory %q: %w", dir, err)
	}
	ds, err := rewrite(DatasourcesFile, urlLine, "    url: "+strconv.Quote(strings.TrimSuffix(datasourceURL, "/"))+"\n")
	if err != nil {
		return err
	}
	pv, err := rewrite(ProvidersFile, pathLine, "      path: "+strconv.Quote(dashboardsPath)+"\n")
	if err != nil {
		return err
	}
	out := map[string][]byte{DatasourcesFile: ds, ProvidersFile: pv}
	for _, name := range DashboardFiles() {
		b, err := fs.ReadFile(files, path.Join(DashboardsDir, name))
		if err != nil {
			return fmt.Errorf("reading embedded dashboard %s: %w", name, err)
		}
		out[path.Join(DashboardsDir, name)] = b
	}
	for name, b := range out {
		p := filepath.Join(abs, filepath.FromSlash(name))
		// World-readable on purpose: Grafana usually runs as its own user
		// (uid 472 in its container) and must read the tree.
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil { //nolint:gosec // See above.
			return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil { //nolint:gosec // Read by Grafana's user, see above.
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}

// rewrite returns the embedded file name with the line old replaced by repl.
func rewrite(name, old, repl string) ([]byte, error) {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", name, err)
	}
	if n := bytes.Count(b, []byte(old)); n != 1 {
		return nil, fmt.Errorf("embedded %s: want the line %q once, found it %d times", name, strings.TrimSpace(old), n)
	}
	return bytes.Replace(b, []byte(old), []byte(repl), 1), nil
}

// HandlerPrefix is the URL path under which Handler serves the files.
const HandlerPrefix = "/grafana/"

// Handler serves the embedded files for download under /grafana/, e.g.
// /grafana/dashboards/token_path.json and
// /grafana/provisioning/datasources/tokenpath.yml; /grafana/ lists them.
// Mount it at /grafana/ without stripping the prefix.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, HandlerPrefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			var b strings.Builder
			b.WriteString("tokenpath Grafana files (see `tokenpath grafana export --help`):\n")
			for _, n := range listing() {
				b.WriteString(HandlerPrefix + n + "\n")
			}
			_, _ = w.Write([]byte(b.String()))
			return
		}
		if !slices.Contains(listing(), name) {
			http.NotFound(w, r)
			return
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		switch path.Ext(name) {
		case ".json":
			w.Header().Set("Content-Type", "application/json")
		case ".yml":
			w.Header().Set("Content-Type", "application/yaml")
		}
		w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(path.Base(name)))
		// The files have no modification time (they are fixed at build time);
		// ServeContent still handles HEAD and Range.
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	})
}

// listing returns every served file path, relative to HandlerPrefix.
func listing() []string {
	out := []string{DatasourcesFile, ProvidersFile}
	for _, n := range DashboardFiles() {
		out = append(out, path.Join(DashboardsDir, n))
	}
	slices.Sort(out)
	return out
}
