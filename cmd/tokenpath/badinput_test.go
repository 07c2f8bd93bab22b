package main_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// TestConfigErrors: a bad configuration stops tokenpath before it binds its
// port, with an error that names the file, the line and the field. The test
// holds the port itself: an error about the configuration, not about the
// address being in use, proves the configuration was checked first.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		config  string // config file content; empty: no --config.file
		webYML  string // --web.config.file content when not empty
		env     []string
		missing bool // point --config.file at a file that does not exist
		args    []string
		want    []string
	}{
		{name: "bad --alertmanager.url", args: []string{"--alertmanager.url=localhost:9093"}, want: []string{"--alertmanager.url", "localhost:9093", "not an http(s) URL"}},
		{name: "bad --web.cors.origin", args: []string{"--web.cors.origin=(grafana"}, want: []string{"--web.cors.origin", "(grafana", "missing closing )"}},
		{name: "unknown field below the tokenpath section", config: `tokenpath:
  probes: []
global:
  scrape_interval: 1s
scrape_configs:
- job_name: app
  static_configs:
  - targets: ['127.0.0.1:1']
  scrape_intervall: 1s
`, want: []string{"couldn't load configuration", "tokenpath.yml", "line 9", "scrape_intervall"}},
		{name: "wrong type", config: "global:\n  scrape_interval: often\n", want: []string{"tokenpath.yml", "often"}},
		{name: "kubernetes service discovery", config: `scrape_configs:
- job_name: k8s
  kubernetes_sd_configs:
  - role: pod
`, want: []string{"tokenpath.yml", "line 3", "kubernetes_sd_configs", "static_configs and file_sd_configs"}},
		{name: "unknown field in the tokenpath section", config: "tokenpath:\n  probez: []\n", want: []string{"tokenpath.yml", "tokenpath section", "probez"}},
		{name: "missing file", missing: true, want: []string{"couldn't load configuration", "does-not-exist.yml", "no such file"}},
		{name: "bad SCRAPE_INTERVAL", env: []string{"SCRAPE_INTERVAL=soon"}, want: []string{"SCRAPE_INTERVAL", "soon"}},
		{name: "bad VLLM_ENDPOINT", env: []string{"VLLM_ENDPOINT=127.0.0.1:8000"}, want: []string{"VLLM_ENDPOINT", "127.0.0.1:8000"}},
		{
			name: "bad web config", config: "global:\n  scrape_interval: 1s\n", webYML: "basic_auth_users:\n  alice: not-a-bcrypt-hash\nunknown_key: 1\n",
			want: []string{"web.yml", "unknown_key"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hold, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = hold.Close() })
			args := append([]string(nil), tc.args...)
			switch {
			case tc.missing:
				args = append(args, "--config.file="+filepath.Join(dir, "does-not-exist.yml"))
			case tc.config != "":
				args = append(args, "--config.file="+writeFile(t, dir, "tokenpath.yml", tc.config))
			}
			if tc.webYML != "" {
				args = append(args, "--web.config.file="+writeFile(t, dir, "web.yml", tc.webYML))
			}
			p := launch(t, procOpts{args: args, env: tc.env, addr: hold.Addr().String()})
			exited, code := p.waitExit(30 * time.Second)
			require.True(t, exited, "tokenpath should exit on a bad configuration:\n%s", p.Logs())
			require.Equal(t, 1, code, p.Logs())
			logs := p.Logs()
			for _, w := range tc.want {
				require.Containsf(t, logs, w, "output should name %q", w)
			}
			require.NotContains(t, logs, "address already in use", "the configuration is checked before the port is bound")
			require.NotContains(t, logs, "Server is ready")
		})
	}
}

// badRules is config/testdata/bad.rules.yml, which config's tests read too:
// a rule file with a PromQL error on line 7 (column 11).
func badRules(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "testdata", "bad.rules.yml"))
	require.NoError(t, err)
	return string(b)
}

// TestFirstConfigThatCannotApply: a configuration the server could not
// apply — a probe endpoint without its scheme, a probe api it does not
// speak, a rule file with a PromQL error — stops tokenpath with a non-zero
// exit and the reason (file, line and field), never a process that answers
// /-/healthy while doing nothing; and it leaves no port bound.
func TestFirstConfigThatCannotApply(t *testing.T) {
	tests := []struct {
		name   string
		config string
		files  map[string]string
		want   []string
	}{
		{
			name:   "probe endpoint without scheme",
			config: "global:\n  scrape_interval: 1s\ntokenpath:\n  probes:\n  - endpoint: 127.0.0.1:8000\n",
			want:   []string{"tokenpath.yml", "line 5", "tokenpath.probes[0].endpoint", `"127.0.0.1:8000": add a scheme, e.g. http://127.0.0.1:8000`},
		},
		{
			name:   "bad probe api",
			config: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    api: responses\n",
			want:   []string{"tokenpath.yml", "line 4", "tokenpath.probes[0].api", `"responses" is not one of "chat", "completions"`},
		},
		{
			name:   "rule file with a PromQL error",
			config: "global:\n  evaluation_interval: 1s\nrule_files: [bad.rules.yml]\n",
			files:  map[string]string{"bad.rules.yml": badRules(t)},
			want:   []string{"tokenpath.yml", "bad.rules.yml: 7:11", `group "user.broken", rule 2, "Broken"`, "could not parse expression"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, tc.config, tc.files)
			// The embedded rules stay on: they are applied with the user's,
			// as in production.
			p := launch(t, procOpts{args: []string{"--config.file=" + cfg, "--no-gpu.enable"}, keepRules: true})
			exited, code := p.waitExit(30 * time.Second)
			logs := p.Logs()
			require.True(t, exited, "tokenpath should exit on a configuration it cannot apply:\n%s", logs)
			require.NotEqual(t, 0, code, logs)
			for _, w := range tc.want {
				require.Containsf(t, logs, w, "output should name %q", w)
			}
			for _, goWord := range []string{"probe.Config", "config.plain", "in type", ".go:"} {
				// Log lines carry source=file.go:line; the error itself
				// (tokenpath: …, the last line) must not.
				lines := strings.Split(strings.TrimSpace(logs), "\n")
				require.NotContainsf(t, lines[len(lines)-1], goWord, "the error names Go internals")
			}
			require.NotContains(t, logs, "Server is ready")
			require.NotContains(t, logs, "Listening")
			// Nothing is left bound: the port can be taken at once.
			l, err := net.Listen("tcp", p.Addr)
			require.NoError(t, err, "the port should be free after the exit")
			require.NoError(t, l.Close())
		})
	}
}

// TestCheckConfig: `tokenpath check config` rejects everything the server
// would, in promtool's format, naming the file, the line and the field, and
// exits non-zero; a good file is reported with its contents and its rule
// files as check rules reports them.
func TestCheckConfig(t *testing.T) {
	const goodRules = "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n"
	tests := []struct {
		name     string
		content  string
		files    map[string]string
		env      []string
		wantCode int
		want     []string
	}{
		{
			name: "good", wantCode: 0,
			content: "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['127.0.0.1:1']\nrule_files: [r.yml]\ntokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    api: completions\n",
			files:   map[string]string{"r.yml": goodRules},
			want:    []string{"  SUCCESS: 1 scrape configs, 1 rule files, 1 probes\n", "r.yml\n  SUCCESS: 1 rules found\n"},
		},
		{name: "bad", wantCode: 1, content: "scrape_configs:\n- job_name: a\n  static_config: []\n", want: []string{"  FAILED:\n", "line 3", "static_config"}},
		{
			name: "probe endpoint without scheme", wantCode: 1, content: "tokenpath:\n  probes:\n  - endpoint: 127.0.0.1:8000\n",
			want: []string{"  FAILED:\n", `line 3: field tokenpath.probes[0].endpoint: "127.0.0.1:8000": add a scheme, e.g. http://127.0.0.1:8000`},
		},
		{name: "probe endpoint with another scheme", wantCode: 1, content: "tokenpath:\n  probes:\n  - endpoint: grpc://127.0.0.1:8000\n", want: []string{"line 3: field tokenpath.probes[0].endpoint", "http or https"}},
		{name: "probe endpoint without host", wantCode: 1, content: "tokenpath:\n  probes:\n  - endpoint: http://:8000\n", want: []string{"line 3: field tokenpath.probes[0].endpoint", "no host"}},
		{name: "probe endpoint with a bad port", wantCode: 1, content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:0\n", want: []string{"line 3: field tokenpath.probes[0].endpoint", "port 0 is not a number from 1 to 65535"}},
		{name: "bad probe api", wantCode: 1, content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    api: embeddings\n", want: []string{`line 4: field tokenpath.probes[0].api: "embeddings" is not one of "chat", "completions"`}},
		{name: "unknown field in a probe", wantCode: 1, content: "tokenpath:\n  probes:\n  - endpoint: http://127.0.0.1:8000\n    modle: x\n", want: []string{"line 4: field modle not found"}}, //nolint:misspell // the misspelling is the test input
		{name: "unknown key in the tokenpath section", wantCode: 1, content: "tokenpath:\n  probez: []\n", want: []string{"tokenpath section (line 1)", "line 2: field probez not found"}},
		{
			name: "rule file with a PromQL error", wantCode: 1, content: "rule_files: [bad.rules.yml]\n", files: map[string]string{"bad.rules.yml": badRules(t)},
			want: []string{"  FAILED:\n", `bad.rules.yml: 7:11: group "user.broken", rule 2, "Broken": could not parse expression: 1:20: parse error: unclosed left parenthesis`},
		},
		{name: "missing rule file", wantCode: 1, content: "rule_files: [nope.rules.yml]\n", want: []string{"rule_files", "nope.rules.yml", "no such file"}},
		{name: "bad endpoint variable", wantCode: 1, content: "global:\n  scrape_interval: 5s\n", env: []string{"SGLANG_ENDPOINT=127.0.0.1:30000"}, want: []string{"SGLANG_ENDPOINT", "add a scheme, e.g. http://127.0.0.1:30000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfig(t, tc.content, tc.files)
			cmd := exec.Command(testbin.Binary(t), "check", "config", file)
			cmd.Env = append(testbin.CleanEnv(), tc.env...)
			out, err := cmd.CombinedOutput()
			code := 0
			if err != nil {
				var ee *exec.ExitError
				ok := errors.As(err, &ee)
				require.True(t, ok, "%v", err)
				code = ee.ExitCode()
			}
			require.Equal(t, tc.wantCode, code, "%s", out)
			require.True(t, strings.HasPrefix(string(out), "Checking "+file+"\n"), "%s", out)
			for _, w := range tc.want {
				require.Contains(t, string(out), w)
			}
			for _, goWord := range []string{"probe.Config", "config.plain", "server.Extensions", "config.Extensions", "in type", ".go:", "rules/check.go"} {
				require.NotContains(t, string(out), goWord, "the report names Go internals")
			}
			if code != 0 {
				if tc.env == nil {
					require.Contains(t, string(out), file+": ", "each problem in the file names the file")
				}
				require.Equal(t, 1, strings.Count(string(out), "FAILED"), "each problem is reported once:\n%s", out)
			}
		})
	}
}

// TestRestrictedServer: basic auth from --web.config.file, bad PromQL, the
// sample limit, and the endpoints that are off unless their flag is given.
func TestRestrictedServer(t *testing.T) {
	app := serveRegistry(t, appRegistry(t))
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	webYML := writeFile(t, dir, "web.yml", fmt.Sprintf("basic_auth_users:\n  alice: %s\n", hash))
	cfg := writeFile(t, dir, "tokenpath.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_native_histograms: true
  always_scrape_classic_histograms: true
scrape_configs:
- job_name: app
  static_configs:
  - targets: [%q]
`, hostOf(app)))
	p := start(t, procOpts{
		args: []string{"--config.file=" + cfg, "--web.config.file=" + webYML, "--query.max-samples=100"},
		user: "alice", pass: "s3cret",
	})
	api := p.api()
	waitAtLeast(t, api, `count_over_time(app_temperature_celsius[1m])`, 3, 60*time.Second)

	t.Run("basic auth", func(t *testing.T) {
		paths := []string{"/api/v1/query?query=up", "/-/ready", "/-/healthy", "/federate?match[]=up", "/metrics", "/api/v1/status/buildinfo"}
		creds := []struct {
			name       string
			user, pass string
			want       int
		}{
			{name: "none", want: http.StatusUnauthorized},
			{name: "wrong password", user: "alice", pass: "wrong", want: http.StatusUnauthorized},
			{name: "unknown user", user: "bob", pass: "s3cret", want: http.StatusUnauthorized},
			{name: "right", user: "alice", pass: "s3cret", want: http.StatusOK},
		}
		for _, c := range creds {
			for _, path := range paths {
				t.Run(c.name+" "+path, func(t *testing.T) {
					q := &proc{t: t, URL: p.URL, user: c.user, pass: c.pass}
					code, body := q.get(path, nil)
					require.Equal(t, c.want, code, "%s", body)
					if c.want == http.StatusUnauthorized {
						require.Contains(t, string(body), "Unauthorized")
					}
				})
			}
		}
		t.Run("the query answers with credentials", func(t *testing.T) {
			vec := instant(t, api, `app_temperature_celsius`, time.Now())
			require.Len(t, vec, 1)
			require.Equal(t, 21.5, float64(vec[0].Value))
		})
	})

	t.Run("bad PromQL", func(t *testing.T) {
		tests := []struct {
			name   string
			path   string
			params url.Values
			want   string
		}{
			{name: "unclosed", path: "/api/v1/query", params: url.Values{"query": {"sum(app_requests_total"}}, want: "parse error"},
			{name: "wrong argument type", path: "/api/v1/query", params: url.Values{"query": {"rate(app_requests_total)"}}, want: "expected type range vector"},
			{name: "bad time", path: "/api/v1/query", params: url.Values{"query": {"up"}, "time": {"yesterday"}}, want: `invalid parameter "time"`},
			{name: "range end before start", path: "/api/v1/query_range", params: url.Values{"query": {"up"}, "start": {"200"}, "end": {"100"}, "step": {"1"}}, want: "end timestamp must not be before start time"},
			{name: "zero step", path: "/api/v1/query_range", params: url.Values{"query": {"up"}, "start": {"100"}, "end": {"200"}, "step": {"0"}}, want: "zero or negative query resolution step widths are not accepted"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				code, r := p.apiGet(queryURL(tc.path, tc.params))
				require.Equal(t, http.StatusBadRequest, code)
				require.Equal(t, "error", r.Status)
				require.Equal(t, "bad_data", r.ErrorType)
				require.Contains(t, r.Error, tc.want)
			})
		}
	})

	t.Run("too many samples", func(t *testing.T) {
		end := time.Now()
		// About a dozen series at 300 steps: far over --query.max-samples=100.
		params := url.Values{
			"query": {`{job="app"}`}, "start": {strconv.FormatFloat(float64(end.Add(-3*time.Second).UnixMilli())/1000, 'f', 3, 64)},
			"end": {strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)}, "step": {"0.01"},
		}
		code, r := p.apiGet(queryURL("/api/v1/query_range", params))
		require.Equal(t, http.StatusUnprocessableEntity, code)
		require.Equal(t, "execution", r.ErrorType)
		require.Contains(t, r.Error, "query processing would load too many samples into memory")
		// A small query still works.
		code, r = p.apiGet(queryURL("/api/v1/query", url.Values{"query": {`app_temperature_celsius`}}))
		require.Equal(t, http.StatusOK, code, r.Error)
	})

	t.Run("admin API off", func(t *testing.T) {
		for _, path := range []string{
			"/api/v1/admin/tsdb/delete_series?match[]=up",
			"/api/v1/admin/tsdb/clean_tombstones",
			"/api/v1/admin/tsdb/snapshot",
		} {
			t.Run(path, func(t *testing.T) {
				code, body := p.send(http.MethodPost, path, nil, nil)
				// Prometheus 3.16 answers errorType "unavailable" with 500
				// (web/api/v1 getDefaultErrorCode); tokenpath must match it.
				require.Equal(t, http.StatusInternalServerError, code, "%s", body)
				require.Contains(t, string(body), `"errorType":"unavailable"`)
				require.Contains(t, string(body), "admin APIs disabled")
			})
		}
		// The series is still there.
		require.Len(t, instant(t, api, `app_temperature_celsius`, time.Now()), 1)
	})

	t.Run("remote write receiver off", func(t *testing.T) {
		client := &http.Client{Transport: basicAuthRT{user: "alice", pass: "s3cret", next: http.DefaultTransport}}
		err := tryPush(t, p.URL, client, "pushed_metric", nil, []prompb.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}})
		require.Error(t, err)
		require.Contains(t, err.Error(), "remote write receiver needs to be enabled with --web.enable-remote-write-receiver")
		code, body := p.send(http.MethodPost, "/api/v1/write", strings.NewReader("x"), nil)
		require.Equal(t, http.StatusNotFound, code)
		require.Contains(t, string(body), "--web.enable-remote-write-receiver")
		require.Empty(t, instant(t, api, `pushed_metric`, time.Now()))
	})

	t.Run("lifecycle API off", func(t *testing.T) {
		code, body := p.send(http.MethodPost, "/-/reload", nil, nil)
		require.Equal(t, http.StatusForbidden, code)
		require.Contains(t, string(body), "Lifecycle API is not enabled")
	})
}

// TestBadTargets: a target that returns garbage, one that times out and one
// whose body is over body_size_limit are each down, with a lastError saying
// why; a good target beside them is up.
func TestBadTargets(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "this is { not a metric\n")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(5 * time.Second):
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "slow_metric 1\n")
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		var chunk strings.Builder
		for i := 0; chunk.Len() < 64<<10; i++ {
			fmt.Fprintf(&chunk, "filler_metric{i=\"%d\"} 1\n", i)
		}
		b := []byte(chunk.String())
		for written := 0; written < 50<<20; written += len(b) {
			if _, err := w.Write(b); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/good", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "# TYPE good_metric gauge\ngood_metric 1\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	job := func(name, extra string) string {
		return fmt.Sprintf("- job_name: %s\n  metrics_path: /%s\n%s  static_configs:\n  - targets: [%q]\n", name, name, extra, hostOf(srv))
	}
	cfg := writeFile(t, t.TempDir(), "tokenpath.yml", "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"+
		job("garbage", "")+job("slow", "  scrape_timeout: 500ms\n")+job("huge", "  body_size_limit: 1MB\n")+job("good", ""))
	p := start(t, procOpts{args: []string{"--config.file=" + cfg}})
	api := p.api()

	tests := []struct {
		job  string
		want string
	}{
		{job: "garbage", want: `invalid syntax while parsing: "this is"`},
		{job: "slow", want: "context deadline exceeded"},
		{job: "huge", want: "body size limit exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.job, func(t *testing.T) {
			requireTargetDown(t, api, tc.job, tc.want, 30*time.Second)
		})
	}
	t.Run("good", func(t *testing.T) {
		waitValue(t, api, `good_metric`, 1, 30*time.Second)
		at := target(t, api, "good")
		require.Equal(t, promv1.HealthGood, at.Health)
		require.Empty(t, at.LastError)
	})
	t.Run("nothing of the huge body is stored", func(t *testing.T) {
		require.Empty(t, instant(t, api, `filler_metric`, time.Now()))
	})
}
