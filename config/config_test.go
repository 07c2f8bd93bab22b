package config

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
		// The seed's SCRAPE_INTERVAL defaults to 15s (README, environment table); Prometheus' own default is 1m.
		{name: "seed default without file", wantGlobal: 15 * time.Second, wantTimeout: 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(Sources{ConfigFile: tc.file, Getenv: envOf(tc.env), ScrapeInterval: tc.flag}, slog.New(slog.DiscardHandler))
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

// lookupOf is an environment for Sources.LookupEnv: a key present with ""
// is set to the empty string.
func lookupOf(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := kv[k]
		return v, ok
	}
}

// TestLoadConfigEndpointPrecedence: for every kind (vllm, tgi, sglang,
// llamacpp) the flag beats the environment, which beats the file's job of
// the same name, which beats the defaults (vllm and tgi only, and only
// without a file). An empty flag or variable turns the kind off, the
// default and the file's job included. The default probes (Endpoints)
// follow the same resolution.
func TestLoadConfigEndpointPrecedence(t *testing.T) {
	file := writeConfigFile(t, fileWithJobs)
	defaults := map[string][]string{"vllm": {"http://127.0.0.1:8000"}, "tgi": {"http://127.0.0.1:8080"}}
	tests := []struct {
		name  string
		file  string
		env   map[string]string
		flags map[string][]string
		// want is job → targets; a job not listed must not exist.
		want map[string][]string
	}{
		{name: "defaults without file", want: map[string][]string{"vllm": {"127.0.0.1:8000"}, "tgi": {"127.0.0.1:8080"}}},
		{
			name: "env without file", env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001, http://127.0.0.1:18002", "TGI_ENDPOINT": "http://127.0.0.1:18003"},
			want: map[string][]string{"vllm": {"127.0.0.1:18001", "127.0.0.1:18002"}, "tgi": {"127.0.0.1:18003"}},
		},
		{
			name: "flags beat env", env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001", "TGI_ENDPOINT": "http://127.0.0.1:18003"},
			flags: map[string][]string{"vllm": {"http://127.0.0.1:18091"}, "tgi": {"http://127.0.0.1:18092"}},
			want:  map[string][]string{"vllm": {"127.0.0.1:18091"}, "tgi": {"127.0.0.1:18092"}},
		},
		{name: "file alone keeps its vllm job and adds no tgi", file: file, want: map[string][]string{"vllm": {"127.0.0.1:7000"}}},
		{name: "env replaces the file's job", file: file, env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001"}, want: map[string][]string{"vllm": {"127.0.0.1:18001"}}},
		{name: "flag beats env and file", file: file, env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001"}, flags: map[string][]string{"vllm": {"http://127.0.0.1:18091"}}, want: map[string][]string{"vllm": {"127.0.0.1:18091"}}},

		// Turning a kind off.
		{name: "empty TGI_ENDPOINT turns the default tgi off", env: map[string]string{"TGI_ENDPOINT": ""}, want: map[string][]string{"vllm": {"127.0.0.1:8000"}}},
		{name: "empty VLLM_ENDPOINT turns the default vllm off", env: map[string]string{"VLLM_ENDPOINT": " "}, want: map[string][]string{"tgi": {"127.0.0.1:8080"}}},
		{name: "empty --tgi.endpoint turns the default tgi off", flags: map[string][]string{"tgi": {""}}, want: map[string][]string{"vllm": {"127.0.0.1:8000"}}},
		{name: "empty --vllm.endpoint beats a set VLLM_ENDPOINT", env: map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001"}, flags: map[string][]string{"vllm": {""}}, want: map[string][]string{"tgi": {"127.0.0.1:8080"}}},
		{name: "a set --tgi.endpoint beats an empty TGI_ENDPOINT", env: map[string]string{"TGI_ENDPOINT": ""}, flags: map[string][]string{"tgi": {"http://127.0.0.1:18092"}}, want: map[string][]string{"vllm": {"127.0.0.1:8000"}, "tgi": {"127.0.0.1:18092"}}},
		{name: "empty VLLM_ENDPOINT removes the file's vllm job", file: file, env: map[string]string{"VLLM_ENDPOINT": ""}, want: map[string][]string{}},
		{name: "both off", env: map[string]string{"VLLM_ENDPOINT": "", "TGI_ENDPOINT": ""}, want: map[string][]string{}},

		// SGLang and llama.cpp: no defaults, added by flag or environment.
		{
			name: "SGLANG_ENDPOINT and LLAMACPP_ENDPOINT without file", env: map[string]string{"SGLANG_ENDPOINT": "http://127.0.0.1:30000", "LLAMACPP_ENDPOINT": "http://127.0.0.1:8081,http://127.0.0.1:8082"},
			want: map[string][]string{"vllm": {"127.0.0.1:8000"}, "tgi": {"127.0.0.1:8080"}, "sglang": {"127.0.0.1:30000"}, "llamacpp": {"127.0.0.1:8081", "127.0.0.1:8082"}},
		},
		{
			name: "--sglang.endpoint and --llamacpp.endpoint beat the environment", env: map[string]string{"SGLANG_ENDPOINT": "http://127.0.0.1:30000", "LLAMACPP_ENDPOINT": "http://127.0.0.1:8081"},
			flags: map[string][]string{"sglang": {"http://127.0.0.1:30001"}, "llamacpp": {"http://127.0.0.1:8091", "http://127.0.0.1:8092"}},
			want:  map[string][]string{"vllm": {"127.0.0.1:8000"}, "tgi": {"127.0.0.1:8080"}, "sglang": {"127.0.0.1:30001"}, "llamacpp": {"127.0.0.1:8091", "127.0.0.1:8092"}},
		},
		{name: "SGLANG_ENDPOINT with a file", file: file, env: map[string]string{"SGLANG_ENDPOINT": "http://127.0.0.1:30000"}, want: map[string][]string{"vllm": {"127.0.0.1:7000"}, "sglang": {"127.0.0.1:30000"}}},
		{name: "--llamacpp.endpoint with a file", file: file, flags: map[string][]string{"llamacpp": {"http://127.0.0.1:8081"}}, want: map[string][]string{"vllm": {"127.0.0.1:7000"}, "llamacpp": {"127.0.0.1:8081"}}},
		{name: "empty SGLANG_ENDPOINT adds nothing", env: map[string]string{"SGLANG_ENDPOINT": ""}, flags: map[string][]string{"llamacpp": {""}}, want: map[string][]string{"vllm": {"127.0.0.1:8000"}, "tgi": {"127.0.0.1:8080"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := Sources{ConfigFile: tc.file, LookupEnv: lookupOf(tc.env), EndpointFlags: tc.flags, DefaultEndpoints: defaults}
			cfg, err := Load(src, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			for _, kind := range EndpointKinds {
				job := kind.Job
				want, wanted := tc.want[job]
				got, scheme, ok := staticTargets(t, cfg.Prometheus, job)
				if !wanted {
					require.Falsef(t, ok, "job %q should not exist; jobs: %v", job, jobNames(cfg.Prometheus))
					continue
				}
				require.Truef(t, ok, "job %q missing; jobs: %v", job, jobNames(cfg.Prometheus))
				require.Equal(t, want, got, "targets of job %q", job)
				require.Equal(t, "http", scheme)
				require.Equalf(t, 1, strings.Count(" "+strings.Join(jobNames(cfg.Prometheus), " ")+" ", " "+job+" "), "job %q appears once", job)
			}
			// The default probes: every job the flags or environment made
			// (or, without a file, the defaults), never the file's own.
			probes := src.Endpoints()
			for _, kind := range EndpointKinds {
				job := kind.Job
				want, wanted := tc.want[job]
				if !wanted || (tc.file != "" && tc.env[kind.Env] == "" && tc.flags[job] == nil) {
					require.NotContainsf(t, probes, job, "no default probe of %s", job)
					continue
				}
				var hosts []string
				for _, e := range probes[job] {
					hosts = append(hosts, strings.TrimPrefix(e, "http://"))
				}
				require.Equalf(t, want, hosts, "default probes of %s", job)
			}
		})
	}
}

// TestLoadConfigEndpointSchemes: an https endpoint is scraped over https; two
// schemes in one variable make two jobs with distinct names.
func TestLoadConfigEndpointSchemes(t *testing.T) {
	cfg, err := Load(Sources{Getenv: envOf(map[string]string{"VLLM_ENDPOINT": "http://127.0.0.1:18001,https://127.0.0.1:18443"})}, slog.New(slog.DiscardHandler))
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
	cfg, err := Load(Sources{ExtraScrapeConfigs: []string{"- job_name: tokenpath\n  static_configs:\n  - targets: ['127.0.0.1:1']\n"}}, slog.New(slog.DiscardHandler))
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
			cfg, err := Load(Sources{ConfigFile: file}, slog.New(slog.DiscardHandler))
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
		{name: "VLLM_ENDPOINT without scheme", env: map[string]string{"VLLM_ENDPOINT": "127.0.0.1:8000"}, want: []string{"VLLM_ENDPOINT", `"127.0.0.1:8000": add a scheme, e.g. http://127.0.0.1:8000`}},
		{name: "SGLANG_ENDPOINT without scheme", env: map[string]string{"SGLANG_ENDPOINT": "localhost:30000"}, want: []string{"SGLANG_ENDPOINT", `"localhost:30000": add a scheme, e.g. http://localhost:30000`}},
		{name: "LLAMACPP_ENDPOINT with a port out of range", env: map[string]string{"LLAMACPP_ENDPOINT": "http://127.0.0.1:99999"}, want: []string{"LLAMACPP_ENDPOINT", "port 99999"}},
		{name: "TGI_ENDPOINT with another scheme", env: map[string]string{"TGI_ENDPOINT": "ftp://127.0.0.1:21"}, want: []string{"TGI_ENDPOINT", "ftp://127.0.0.1:21"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := Sources{Getenv: envOf(tc.env)}
			if tc.content != "" {
				src.ConfigFile = writeConfigFile(t, tc.content)
			}
			_, err := Load(src, slog.New(slog.DiscardHandler))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Containsf(t, err.Error(), w, "error %q should name %q", err, w)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.yml")
		_, err := Load(Sources{ConfigFile: missing}, slog.New(slog.DiscardHandler))
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
			cfg, err := Load(tc.src, slog.New(slog.DiscardHandler))
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
	_, err := Load(Sources{ConfigFile: file}, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	for _, w := range []string{file, "line 6", "modle"} { //nolint:misspell // the misspelling is the test input
		require.Containsf(t, err.Error(), w, "error %q", err)
	}
}

// TestLoadConfigValidation: what the server would reject when it applies a
// configuration — probes and rule files — is rejected when it is loaded,
// naming the file, the line and the field, without Go type names. The same
// Load runs before the server binds its port, on every reload and in
// `tokenpath check config`.
func TestLoadConfigValidation(t *testing.T) {
	// A PromQL error on line 7, column 11; cmd/tokenpath's tests read the
	// same file.
	badRulesFile, err := os.ReadFile(filepath.Join("testdata", "bad.rules.yml"))
	require.NoError(t, err)
	badRules := string(badRulesFile)
	tests := []struct {
		name    string
		content string
		env     map[string]string
		// files are written next to the configuration file.
		files map[string]string
		want  []string // substrings of the error; none: the file is good
	}{
		{
			name: "probe endpoint without scheme", content: "global:\n  scrape_interval: 5s\ntokenpath:\n  probes:\n  - api: chat\n    endpoint: 127.0.0.1:8000\n",
			want: []string{"tokenpath.yml", "line 6", "tokenpath.probes[0].endpoint", `"127.0.0.1:8000": add a scheme, e.g. http://127.0.0.1:8000`},
		},
		{
			name: "probe endpoint host:port without scheme", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n  - endpoint: localhost:8000\n",
			want: []string{"line 4", "tokenpath.probes[1].endpoint", "add a scheme, e.g. http://localhost:8000"},
		},
		{name: "probe endpoint with another scheme", content: "tokenpath:\n  probes:\n  - endpoint: ftp://127.0.0.1:21\n", want: []string{"line 3", "probes[0].endpoint", "http or https"}},
		{name: "probe endpoint without host", content: "tokenpath:\n  probes:\n  - endpoint: http://:8000\n", want: []string{"line 3", "probes[0].endpoint", "no host"}},
		{name: "probe endpoint with a port out of range", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:70000\n", want: []string{"line 3", "probes[0].endpoint", "port 70000"}},
		{name: "probe endpoint with a port that is not a number", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:http\n", want: []string{"line 3", "probes[0].endpoint", "not a URL"}},
		{
			name: "bad probe api", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    api: stream\n",
			want: []string{"tokenpath.yml", "line 4", "tokenpath.probes[0].api", `"stream" is not one of "chat", "completions"`},
		},
		{name: "probe timeout over its interval", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    interval: 10s\n    timeout: 20s\n", want: []string{"line 5", "probes[0].timeout", "exceeds the interval"}},
		{name: "probe api key from an unset variable", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    api_key_env: TOKENPATH_TEST_UNSET\n", want: []string{"line 4", "probes[0].api_key_env", "TOKENPATH_TEST_UNSET"}},
		{name: "probe api key from a set variable", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    api_key_env: TOKENPATH_TEST_KEY\n", env: map[string]string{"TOKENPATH_TEST_KEY": "k"}},
		{name: "probe api key file relative to the configuration", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    api_key_file: probe.key\n", files: map[string]string{"probe.key": "secret\n"}},
		{name: "probe api key file missing", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    api_key_file: nope.key\n", want: []string{"line 4", "probes[0].api_key_file", "nope.key"}},
		{name: "two identical probes", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n  - endpoint: http://127.0.0.1:8000/\n", want: []string{"line 4", "probes[1].endpoint", "probes[0] already probes"}},
		{name: "unknown probe field", content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    modle: x\n", want: []string{"line 4", "modle"}}, //nolint:misspell // the misspelling is the test input
		{name: "tokenpath section of the wrong kind", content: "tokenpath: yes\n", want: []string{"line 1", "into a mapping"}},
		{
			name: "rule file with a PromQL error", content: "rule_files: [bad.rules.yml]\n", files: map[string]string{"bad.rules.yml": badRules},
			want: []string{"bad.rules.yml: 7:11: group \"user.broken\", rule 2, \"Broken\": could not parse expression"},
		},
		{name: "rule file with an unknown field", content: "rule_files: [bad.rules.yml]\n", files: map[string]string{"bad.rules.yml": "groups:\n- name: g\n  rules:\n  - record: a\n    expresion: up\n"}, want: []string{"bad.rules.yml", "line 5", "field expresion not found"}},
		{name: "missing rule file", content: "rule_files: [missing.rules.yml]\n", want: []string{"rule_files", "missing.rules.yml", "no such file"}},
		{name: "rule file pattern that matches nothing", content: "rule_files: ['rules/*.yml']\n"},
		{
			name: "good rule files by pattern", content: "rule_files: ['*.rules.yml']\ntokenpath:\n  probes:\n  - endpoint: https://gpu-box.example:8443/v1\n    api: completions\n",
			files: map[string]string{"a.rules.yml": "groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n"},
		},
		{name: "alertmanager CA file missing", content: "alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['127.0.0.1:9093']\n    tls_config:\n      ca_file: missing-ca.pem\n", want: []string{"alerting.alertmanagers[0]", "missing-ca.pem", "no such file"}},
		{name: "scrape job CA file missing", content: "scrape_configs:\n- job_name: secure\n  tls_config:\n    ca_file: missing-ca.pem\n  static_configs:\n  - targets: ['127.0.0.1:9100']\n", want: []string{`scrape_configs: job "secure"`, "missing-ca.pem"}},
		{name: "remote write CA file missing", content: "remote_write:\n- url: http://127.0.0.1:9999/api/v1/write\n  tls_config:\n    ca_file: missing-ca.pem\n", want: []string{"remote_write[0]", "missing-ca.pem"}},
		{
			name: "every problem at once", content: "rule_files: [bad.rules.yml]\ntokenpath:\n  probes:\n  - endpoint: 127.0.0.1:8000\n  - endpoint: http://127.0.0.1:8001\n    api: grpc\n",
			files: map[string]string{"bad.rules.yml": badRules},
			want:  []string{"line 4: field tokenpath.probes[0].endpoint", "line 6: field tokenpath.probes[1].api", "bad.rules.yml: 7:11"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfigFile(t, tc.content)
			for name, content := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(file), name), []byte(content), 0o600))
			}
			_, err := Load(Sources{ConfigFile: file, LookupEnv: lookupOf(tc.env), Getenv: envOf(tc.env)}, slog.New(slog.DiscardHandler))
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			t.Log(err)
			for _, w := range tc.want {
				require.Containsf(t, err.Error(), w, "error %q should name %q", err, w)
			}
			for _, goWord := range []string{"probe.Config", "config.plain", "config.Extensions", "in type", ".go:"} {
				require.NotContainsf(t, err.Error(), goWord, "error %q names Go internals", err)
			}
		})
	}
}
