package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeConfigFile writes content to a temporary configuration file.
func writeConfigFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokenpath.yml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// staticTargets lists the __address__ of every static target of a job, and
// its scheme; ok is false when the job does not exist.
func staticTargets(t *testing.T, cfg *promconfig.Config, job string) (targets []string, scheme string, ok bool) {
	t.Helper()
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != job {
			continue
		}
		for _, c := range sc.ServiceDiscoveryConfigs {
			st, isStatic := c.(discovery.StaticConfig)
			require.Truef(t, isStatic, "job %q: service discovery %T, want static", job, c)
			for _, g := range st {
				for _, tg := range g.Targets {
					targets = append(targets, string(tg[model.AddressLabel]))
				}
			}
		}
		return targets, sc.Scheme, true
	}
	return nil, "", false
}

func jobNames(cfg *promconfig.Config) []string {
	var names []string
	for _, sc := range cfg.ScrapeConfigs {
		names = append(names, sc.JobName)
	}
	return names
}

func jobInterval(t *testing.T, cfg *promconfig.Config, job string) time.Duration {
	t.Helper()
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName == job {
			return time.Duration(sc.ScrapeInterval)
		}
	}
	t.Fatalf("no job %q in %v", job, jobNames(cfg))
	return 0
}

const fileWithJobs = `global:
  scrape_interval: 30s
  scrape_timeout: 20s
scrape_configs:
- job_name: inherits
  static_configs:
  - targets: ['127.0.0.1:9100']
- job_name: explicit
  scrape_interval: 5s
  scrape_timeout: 4s
  static_configs:
  - targets: ['127.0.0.1:9101']
- job_name: vllm
  static_configs:
  - targets: ['127.0.0.1:7000']
`

// TestLoadConfigScrapeIntervalPrecedence: --scrape.interval beats
// SCRAPE_INTERVAL, which beats the file's global scrape_interval, which beats
// the default; jobs with their own interval keep it.
func TestLoadConfigScrapeIntervalPrecedence(t *testing.T) {
	file := writeConfigFile(t, fileWithJobs)
	tests := []struct {
		name         string
		file         string
		env          map[string]string
		flag         time.Duration
		wantGlobal   time.Duration
		wantInherits time.Duration // 0: job not checked
		wantTimeout  time.Duration
	}{
		{name: "file only", file: file, wantGlobal: 30 * time.Second, wantInherits: 30 * time.Second, wantTimeout: 20 * time.Second},
		{name: "env beats file", file: file, env: map[string]string{"SCRAPE_INTERVAL": "10s"}, wantGlobal: 10 * time.Second, wantInherits: 10 * time.Second, wantTimeout: 10 * time.Second},
		{name: "flag beats env and file", file: file, env: map[string]string{"SCRAPE_INTERVAL": "10s"}, flag: 2 * time.Second, wantGlobal: 2 * time.Second, wantInherits: 2 * time.Second, wantTimeout: 2 * time.Second},
		{name: "env without file", env: map[string]string{"SCRAPE_INTERVAL": "7s"}, wantGlobal: 7 * time.Second, wantTimeout: 7 * time.Second},
		{name: "flag without file", flag: 3 * time.Second, env: map[string]string{"SCRAPE_INTERVAL": "7s"}, wantGlobal: 3 * time.Second, wantTimeout: 3 * time.Second},
		// DESIGN.md: SCRAPE_INTERVAL defaults to 15s (Prometheus' own default is 1m).
		{name: "seed default without file", wantGlobal: 15 * time.Second, wantTimeout: 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig(Sources{ConfigFile: tc.file, Getenv: envOf(tc.env), ScrapeInterval: tc.flag}, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			require.Equal(t, tc.wantGlobal, time.Duration(cfg.Prometheus.GlobalConfig.ScrapeInterval), "global scrape_interval")
			require.Equal(t, tc.wantTimeout, time.Duration(cfg.Prometheus.GlobalConfig.ScrapeTimeout), "global scrape_timeout")
			if tc.file != "" {
				require.Equal(t, tc.wantInherits, jobInterval(t, cfg.Prometheus, "inherits"), "a job without its own interval follows the global one")
				require.Equal(t, 5*time.Second, jobInterval(t, cfg.Prometheus, "explicit"), "a job's own interval is kept")
			}
		})
	}
}

// TestLoadConfigEndpointPrecedence: --vllm.endpoint/--tgi.endpoint beat
// VLLM_ENDPOINT/TGI_ENDPOINT, which beat the file's job of the same name;
// without a file the defaults apply, with one they do not.
func TestLoadConfigEndpointPrecedence(t *testing.T) {
	file := writeConfigFile(t, fileWithJobs)
	defaults := Sources{DefaultVLLM: []string{"http://127.0.0.1:8000"}, DefaultTGI: []string{"http://127.0.0.1:8080"}}
	tests := []struct {
		name     string
		file     string
		env      map[string]string
		vllmFlag []string
		tgiFlag  []string
		wantVLLM []string // nil: no vllm job
		wantTGI  []string // nil: no tgi job
	}{
		{name: "defaults without file", wantVLLM: []string{"127.0.0.1:8000"}, wantTGI: []string{"127.0.0.1:8080"}},
		{
			name: "env without file", env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001, http://127.0.0.1:18002", "TGI_ENDPOINT": "http://127.0.0.1:18003"},
			wantVLLM: []string{"127.0.0.1:18001", "127.0.0.1:18002"}, wantTGI: []string{"127.0.0.1:18003"},
		},
		{
			name: "flags beat env", env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001", "TGI_ENDPOINT": "http://127.0.0.1:18003"},
			vllmFlag: []string{"http://127.0.0.1:18091"}, tgiFlag: []string{"http://127.0.0.1:18092"},
			wantVLLM: []string{"127.0.0.1:18091"}, wantTGI: []string{"127.0.0.1:18092"},
		},
		{name: "file alone keeps its vllm job and adds no tgi", file: file, wantVLLM: []string{"127.0.0.1:7000"}},
		{name: "env replaces the file's job", file: file, env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001"}, wantVLLM: []string{"127.0.0.1:18001"}},
		{name: "flag beats env and file", file: file, env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001"}, vllmFlag: []string{"http://127.0.0.1:18091"}, wantVLLM: []string{"127.0.0.1:18091"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := defaults
			src.ConfigFile = tc.file
			src.Getenv = envOf(tc.env)
			src.VLLMEndpoints = tc.vllmFlag
			src.TGIEndpoints = tc.tgiFlag
			cfg, err := LoadConfig(src, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			for job, want := range map[string][]string{"vllm": tc.wantVLLM, "tgi": tc.wantTGI} {
				got, scheme, ok := staticTargets(t, cfg.Prometheus, job)
				if want == nil {
					require.Falsef(t, ok, "job %q should not exist; jobs: %v", job, jobNames(cfg.Prometheus))
					continue
				}
				require.Truef(t, ok, "job %q missing; jobs: %v", job, jobNames(cfg.Prometheus))
				require.Equal(t, want, got, "targets of job %q", job)
				require.Equal(t, "http", scheme)
				n := 0
				for _, name := range jobNames(cfg.Prometheus) {
					if name == job {
						n++
					}
				}
				require.Equalf(t, 1, n, "job %q appears once", job)
			}
		})
	}
}

// TestLoadConfigEndpointSchemes: an https endpoint is scraped over https; two
// schemes in one variable make two jobs with distinct names.
func TestLoadConfigEndpointSchemes(t *testing.T) {
	cfg, err := LoadConfig(Sources{Getenv: envOf(map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001,https://127.0.0.1:18443"})}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	targets, scheme, ok := staticTargets(t, cfg.Prometheus, "vllm")
	require.True(t, ok, "jobs: %v", jobNames(cfg.Prometheus))
	require.Equal(t, []string{"127.0.0.1:18001"}, targets)
	require.Equal(t, "http", scheme)
	// The second job is named after its own scheme.
	targets, scheme, ok = staticTargets(t, cfg.Prometheus, "vllm-https")
	require.True(t, ok, "want a job vllm-https for the https endpoint; jobs: %v", jobNames(cfg.Prometheus))
	require.Equal(t, []string{"127.0.0.1:18443"}, targets)
	require.Equal(t, "https", scheme)
}

// TestLoadConfigNoFileDefaults: without a file, native histograms are
// scraped and the classic buckets kept; extra scrape configs are appended.
func TestLoadConfigNoFileDefaults(t *testing.T) {
	cfg, err := LoadConfig(Sources{ExtraScrapeConfigs: []string{"- job_name: tokenpath\n  static_configs:\n  - targets: ['127.0.0.1:1']\n"}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	g := cfg.Prometheus.GlobalConfig
	require.NotNil(t, g.ScrapeNativeHistograms)
	require.True(t, *g.ScrapeNativeHistograms)
	require.True(t, g.AlwaysScrapeClassicHistograms)
	require.Empty(t, cfg.File)
	targets, _, ok := staticTargets(t, cfg.Prometheus, "tokenpath")
	require.True(t, ok)
	require.Equal(t, []string{"127.0.0.1:1"}, targets)
	// No endpoints and no defaults: no inference-server jobs.
	require.Equal(t, []string{"tokenpath"}, jobNames(cfg.Prometheus))
}

// TestLoadConfigTokenpathSection: the tokenpath: section is cut out of the
// file, wherever it stands, and the rest is Prometheus' configuration.
func TestLoadConfigTokenpathSection(t *testing.T) {
	tests := []struct {
		name    string
		content string
		probes  int
		jobs    []string
	}{
		{name: "first", probes: 2, jobs: []string{"a"}, content: `tokenpath:
  probes:
  - endpoint: http://127.0.0.1:8000
  - endpoint: http://127.0.0.1:8001
scrape_configs:
- job_name: a
  static_configs:
  - targets: ['127.0.0.1:9100']
`},
		{name: "middle", probes: 1, jobs: []string{"a"}, content: `global:
  scrape_interval: 5s
tokenpath:
  probes:
  - endpoint: http://127.0.0.1:8000
scrape_configs:
- job_name: a
  static_configs:
  - targets: ['127.0.0.1:9100']
`},
		{name: "last", probes: 1, jobs: []string{"a"}, content: `scrape_configs:
- job_name: a
  static_configs:
  - targets: ['127.0.0.1:9100']
tokenpath:
  probes:
  - endpoint: http://127.0.0.1:8000
`},
		{name: "absent", probes: 0, jobs: []string{"a"}, content: `scrape_configs:
- job_name: a
  static_configs:
  - targets: ['127.0.0.1:9100']
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfigFile(t, tc.content)
			cfg, err := LoadConfig(Sources{ConfigFile: file}, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			require.Len(t, cfg.Tokenpath.Probes, tc.probes)
			require.Equal(t, tc.jobs, jobNames(cfg.Prometheus))
			require.Equal(t, file, cfg.File)
		})
	}
}

// TestLoadConfigErrors: every error names its source; errors in the file
// name the file and the line in the user's file, even below a tokenpath:
// section that was cut out.
func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string // written to a file when not empty
		env     map[string]string
		want    []string
	}{
		{name: "unknown field below the tokenpath section", content: `tokenpath:
  probes:
  - endpoint: http://127.0.0.1:8000
global:
  scrape_interval: 5s
scrape_configs:
- job_name: a
  scrape_intervall: 5s
  static_configs:
  - targets: ['127.0.0.1:9100']
`, want: []string{"tokenpath.yml", "line 8", "scrape_intervall"}},
		{name: "wrong type", content: `global:
  scrape_interval: often
`, want: []string{"tokenpath.yml", "often"}},
		{name: "unknown service discovery", content: `scrape_configs:
- job_name: k8s
  kubernetes_sd_configs:
  - role: pod
`, want: []string{"tokenpath.yml", "line 3", "kubernetes_sd_configs", "static_configs and file_sd_configs"}},
		{name: "unknown field in the tokenpath section", content: `scrape_configs: []
tokenpath:
  probez: []
`, want: []string{"tokenpath.yml", "tokenpath section", "line 2", "probez"}},
		{name: "bad SCRAPE_INTERVAL", env: map[string]string{"SCRAPE_INTERVAL": "soon"}, want: []string{"SCRAPE_INTERVAL", "soon"}},
		{name: "negative SCRAPE_INTERVAL", env: map[string]string{"SCRAPE_INTERVAL": "0s"}, want: []string{"SCRAPE_INTERVAL", "positive"}},
		{name: "VLLM_ENDPOINT without scheme", env: map[string]string{"VLLM_ENDPOINT": "127.0.0.1:8000"}, want: []string{"VLLM_ENDPOINT", "127.0.0.1:8000", "http(s) URL"}},
		{name: "TGI_ENDPOINT with another scheme", env: map[string]string{"TGI_ENDPOINT": "ftp://127.0.0.1:21"}, want: []string{"TGI_ENDPOINT", "ftp://127.0.0.1:21"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := Sources{Getenv: envOf(tc.env)}
			if tc.content != "" {
				src.ConfigFile = writeConfigFile(t, tc.content)
			}
			_, err := LoadConfig(src, slog.New(slog.DiscardHandler))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Containsf(t, err.Error(), w, "error %q should name %q", err, w)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.yml")
		_, err := LoadConfig(Sources{ConfigFile: missing}, slog.New(slog.DiscardHandler))
		require.Error(t, err)
		require.Contains(t, err.Error(), missing)
	})
}

// TestSplitExtensionsKeepsLineNumbers: the cut-out section becomes blank
// lines, so every other line keeps its number.
func TestSplitExtensionsKeepsLineNumbers(t *testing.T) {
	raw := "global:\n  scrape_interval: 5s\ntokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\nscrape_configs: []\n"
	out, ext, err := splitExtensions([]byte(raw))
	require.NoError(t, err)
	require.Len(t, ext.Probes, 1)
	in := strings.Split(raw, "\n")
	got := strings.Split(string(out), "\n")
	require.Len(t, got, len(in))
	for i := range in {
		if i >= 2 && i <= 4 {
			require.Emptyf(t, got[i], "line %d should be blank", i+1)
			continue
		}
		require.Equalf(t, in[i], got[i], "line %d", i+1)
	}
	require.False(t, slices.ContainsFunc(got, func(l string) bool { return strings.Contains(l, "tokenpath") }))
}

// TestLoadConfigEvaluationInterval: without a file the rules are evaluated
// as often as targets are scraped; a file's own evaluation_interval is kept.
func TestLoadConfigEvaluationInterval(t *testing.T) {
	file := writeConfigFile(t, "global:\n  scrape_interval: 5s\n  evaluation_interval: 30s\n")
	tests := []struct {
		name string
		src  Sources
		want time.Duration
	}{
		{name: "no file, default", src: Sources{}, want: 15 * time.Second},
		{name: "no file, SCRAPE_INTERVAL", src: Sources{Getenv: envOf(map[string]string{"SCRAPE_INTERVAL": "3s"})}, want: 3 * time.Second},
		{name: "no file, flag", src: Sources{ScrapeInterval: 2 * time.Second}, want: 2 * time.Second},
		{name: "file", src: Sources{ConfigFile: file}, want: 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig(tc.src, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			require.Equal(t, tc.want, time.Duration(cfg.Prometheus.GlobalConfig.EvaluationInterval))
		})
	}
}

// TestLoadConfigProbeFieldErrors: an unknown field inside a probe is
// reported at its own line of the file.
func TestLoadConfigProbeFieldErrors(t *testing.T) {
	//nolint:misspell // the misspelling is the test input
	file := writeConfigFile(t, `global:
  scrape_interval: 5s
tokenpath:
  probes:
  - endpoint: http://127.0.0.1:8000
    modle: llama
scrape_configs: []
`)
	_, err := LoadConfig(Sources{ConfigFile: file}, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	for _, w := range []string{file, "line 6", "modle"} { //nolint:misspell // the misspelling is the test input
		require.Containsf(t, err.Error(), w, "error %q", err)
	}
}
