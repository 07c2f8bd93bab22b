package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/promslog"
)

// FuzzLoadConfig feeds the configuration loader arbitrary files: YAML that
// is not a mapping, a tokenpath: section at any place and of any shape,
// probe definitions with odd endpoints. It never panics; a file it refuses
// is an error that names the file; a file it accepts yields a usable
// configuration.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: vllm\n    static_configs:\n      - targets: [\"127.0.0.1:8000\"]\n",
		"tokenpath:\n  probes:\n    - endpoint: http://127.0.0.1:8000\n      api: chat\n      interval: 30s\nglobal:\n  scrape_interval: 5s\n",
		"global:\n  scrape_interval: 5s\ntokenpath:\n  probes:\n    - endpoint: 127.0.0.1:8000\n",
		"tokenpath:\n  probes: {}\n",
		"tokenpath: 1\ntokenpath: 2\n",
		"- a\n- b\n",
		"scrape_configs:\n  - job_name: x\n    kubernetes_sd_configs: [{}]\n",
		"",
		"\t:",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	logger := promslog.NewNopLogger()
	f.Fuzz(func(t *testing.T, content string) {
		file := filepath.Join(dir, "tokenpath.yml")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(Sources{ConfigFile: file}, logger)
		if err != nil {
			if !strings.Contains(err.Error(), file) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if cfg == nil || cfg.Prometheus == nil {
			t.Fatal("no error and no configuration")
		}
		for _, sc := range cfg.Prometheus.ScrapeConfigs {
			if sc.JobName == "" {
				t.Fatal("a scrape job without a name was accepted")
			}
		}
	})
}
