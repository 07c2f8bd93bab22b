package export

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

var update = flag.Bool("update", false, "rewrite the generated tables of export/README.md")

// exportTestEnv is one real Prometheus scraping the fixture targets.
type exportTestEnv struct {
	api  promv1.API
	addr string // host:port of the Prometheus
	// Instance labels of the fixture targets.
	v1, v0, tgi, gpu string
}

// serveFixture serves a testdata file as a /metrics answer on loopback.
func serveFixture(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return u.Host
}

// startExportTestEnv starts Debian's Prometheus on 127.0.0.1 with a temporary
// data directory, scraping the vLLM V1, vLLM V0, TGI and GPU fixtures every
// second, and waits until every target has been scraped.
func startExportTestEnv(t *testing.T) *exportTestEnv {
	t.Helper()
	env := &exportTestEnv{
		v1: serveFixture(t, "vllm-v1-scrape.txt"), v0: serveFixture(t, "vllm-v0-scrape.txt"),
		tgi: serveFixture(t, "tgi-scrape.txt"), gpu: serveFixture(t, "gpu-scrape.txt"),
	}
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: vllm-v1
    static_configs: [{targets: [%q]}]
  - job_name: vllm-v0
    static_configs: [{targets: [%q]}]
  - job_name: tgi
    static_configs: [{targets: [%q], labels: {model: bigscience/bloom-560m}}]
  - job_name: gpu
    static_configs: [{targets: [%q]}]
`, env.v1, env.v0, env.tgi, env.gpu)
	prom := testbin.StartPrometheus(t, testbin.PrometheusOptions{Config: cfg})
	addr := prom.Addr()

	client, err := api.NewClient(api.Config{Address: "http://" + addr})
	require.NoError(t, err)
	env.api = promv1.NewAPI(client)
	env.addr = addr

	// Every target up, and the series of each present.
	ready := []string{
		`count(up == 1) == 4`,
		`vllm:generation_tokens_total`, `vllm:time_per_output_token_seconds_count`,
		`tgi_request_success`, `gpu_vram_used_bytes`, `tokenpath:gpu_state`,
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, q := range ready {
		for {
			v, _, _, err := env.api.Query(t.Context(), q, time.Now())
			if err == nil && len(v.(model.Vector)) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("prometheus has no data for %s (last error %v):\n%s", q, err, prom.Logs())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return env
}

// sample is one parsed exposition line.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// exposition is one parsed /metrics answer.
type exposition struct {
	types   map[string]model.MetricType
	helps   map[string]string
	samples []sample
}

// parseExposition parses with Prometheus' own text parser (the one its
// scrape loop uses), failing on anything it rejects.
func parseExposition(t *testing.T, body []byte) exposition {
	t.Helper()
	e := exposition{types: map[string]model.MetricType{}, helps: map[string]string{}}
	p := textparse.NewPromParser(body, labels.NewSymbolTable(), false)
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "exposition:\n%s", body)
		switch entry {
		case textparse.EntryType:
			name, typ := p.Type()
			e.types[string(name)] = typ
		case textparse.EntryHelp:
			name, help := p.Help()
			e.helps[string(name)] = string(help)
		case textparse.EntrySeries:
			_, _, v := p.Series()
			var ls labels.Labels
			p.Labels(&ls)
			s := sample{name: ls.Get(model.MetricNameLabel), labels: map[string]string{}, value: v}
			ls.Range(func(l labels.Label) {
				if l.Name != model.MetricNameLabel {
					s.labels[l.Name] = l.Value
				}
			})
			e.samples = append(e.samples, s)
		}
	}
	return e
}

// family returns the base name of a sample of the exposition.
func (e exposition) family(s sample) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(s.name, suffix); ok && e.types[base] == model.MetricTypeHistogram {
			return base
		}
	}
	return s.name
}

// find returns the value of the one sample with this name and these labels
// (a subset of its labels).
func (e exposition) find(t *testing.T, name string, want map[string]string) (float64, bool) {
	t.Helper()
	var found []sample
	for _, s := range e.samples {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && s.labels[k] == v
		}
		if ok {
			found = append(found, s)
		}
	}
	require.LessOrEqual(t, len(found), 1, "%s%v matches %d samples", name, want, len(found))
	if len(found) == 0 {
		return 0, false
	}
	return found[0].value, true
}

func scrape(t *testing.T, h http.Handler, path string) (int, []byte) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, http.NoBody)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// query runs an instant query and returns its result as label-set → value.
func query(t *testing.T, a promv1.API, q string) map[string]float64 {
	t.Helper()
	v, _, _, err := a.Query(t.Context(), q, time.Now())
	require.NoError(t, err, q)
	out := map[string]float64{}
	for _, s := range v.(model.Vector) {
		out[s.Metric.String()] = float64(s.Value)
	}
	return out
}

// queryOne runs an instant query that must return exactly one series.
func queryOne(t *testing.T, a promv1.API, q string) float64 {
	t.Helper()
	r := query(t, a, q)
	require.Len(t, r, 1, q)
	for _, v := range r {
		return v
	}
	return 0
}

// bucketsOf returns le → value of the _bucket samples of a histogram with the given labels.
func (e exposition) bucketsOf(name string, want map[string]string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range e.samples {
		if s.name != name+"_bucket" {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && s.labels[k] == v
		}
		if ok {
			out[normLe(s.labels["le"])] = s.value
		}
	}
	return out
}

// normLe writes a bucket bound the same way whichever side formatted it.
func normLe(le string) string {
	f, err := strconv.ParseFloat(le, 64)
	if err != nil {
		return le
	}
	if math.IsInf(f, +1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// queryBuckets runs a query returning bucket series and keys them by le.
func queryBuckets(t *testing.T, a promv1.API, q string) map[string]float64 {
	t.Helper()
	v, _, _, err := a.Query(t.Context(), q, time.Now())
	require.NoError(t, err, q)
	out := map[string]float64{}
	for _, s := range v.(model.Vector) {
		le := normLe(string(s.Metric["le"]))
		_, dup := out[le]
		require.False(t, dup, "%s: two series for le=%s", q, le)
		out[le] = float64(s.Value)
	}
	require.NotEmpty(t, out, q)
	return out
}

// checkNamesAndLabels requires the exposition to hold only documented
// families (all of them when all is set), each with its documented type,
// help and labels.
func checkNamesAndLabels(t *testing.T, e exporter, exp exposition, all bool) {
	t.Helper()
	docs := documented(t, e.name)
	got := map[string]bool{}
	for _, s := range exp.samples {
		got[exp.family(s)] = true
	}
	if all {
		require.ElementsMatch(t, slices.Collect(maps.Keys(docs)), slices.Collect(maps.Keys(got)))
	} else {
		for name := range got {
			require.Contains(t, docs, name, "undocumented family")
		}
	}
	for _, f := range e.families {
		if !got[f.Name] {
			continue
		}
		require.Equal(t, f.Kind.String(), string(exp.types[f.Name]), f.Name)
		require.Equal(t, f.Help, exp.helps[f.Name], f.Name)
	}
	for _, s := range exp.samples {
		want := slices.Clone(docs[exp.family(s)])
		if !strings.HasSuffix(s.name, "_bucket") {
			want = slices.DeleteFunc(want, func(l string) bool { return l == "le" })
		}
		// An empty label is absent in the exposition (TGI without a model).
		for _, l := range want {
			if _, ok := s.labels[l]; !ok {
				require.Equal(t, "model", l, "%s lacks label %s", s.name, l)
			}
		}
		for l := range s.labels {
			require.Contains(t, want, l, "%s has undocumented label %s", s.name, l)
		}
	}
}

// documented reads the names and labels of one generated README table.
func documented(t *testing.T, exporter string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	block := generatedBlock(t, string(b), exporter)
	row := regexp.MustCompile("(?m)^\\| `([a-zA-Z0-9_:]+)` \\| [a-z]+ \\| ([^|]+) \\|")
	out := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(block, -1) {
		var ls []string
		for _, l := range strings.Split(m[2], ",") {
			ls = append(ls, strings.Trim(strings.TrimSpace(l), "`"))
		}
		out[m[1]] = ls
	}
	require.NotEmpty(t, out, "README has no table for %s", exporter)
	return out
}

func generatedBlock(t *testing.T, readme, exporter string) string {
	t.Helper()
	begin, end := "<!-- BEGIN GENERATED "+exporter+" -->\n", "<!-- END GENERATED "+exporter+" -->"
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	require.True(t, i >= 0 && j > i, "README.md lacks the markers for %s", exporter)
	return readme[i+len(begin) : j]
}

// readmeTable renders the documentation table of one exporter.
func readmeTable(e exporter) string {
	var b strings.Builder
	b.WriteString("| name | type | labels | source |\n|---|---|---|---|\n")
	for _, f := range e.families {
		var ls []string
		for _, l := range f.Labels {
			ls = append(ls, "`"+l.Name+"`")
		}
		if f.Kind == kindHistogram {
			ls = append(ls, "`le`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, f.Kind, strings.Join(ls, ", "), f.Source)
	}
	return b.String()
}

// TestREADME keeps export/README.md's tables equal to the families served.
func TestREADME(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(b)
	for _, e := range exporters() {
		want := readmeTable(e)
		if *update {
			old := generatedBlock(t, readme, e.name)
			readme = strings.Replace(readme, "<!-- BEGIN GENERATED "+e.name+" -->\n"+old,
				"<!-- BEGIN GENERATED "+e.name+" -->\n"+want, 1)
			continue
		}
		require.Equal(t, want, generatedBlock(t, readme, e.name), "README.md is stale: go test ./export -run TestREADME -update")
	}
	if *update {
		require.NoError(t, os.WriteFile("README.md", []byte(readme), 0o644))
	}
}

func TestNewHandlerNeedsAQuerier(t *testing.T) {
	_, err := NewHandler(Options{})
	require.ErrorContains(t, err, "Options.Querier is required")
}

// TestUnreachableAPIAnswers500 uses a real client pointed at a closed port:
// a scrape must fail visibly rather than expose nothing with status 200.
func TestUnreachableAPIAnswers500(t *testing.T) {
	client, err := api.NewClient(api.Config{Address: "http://" + testbin.FreePort(t)})
	require.NoError(t, err)
	h, err := NewHandler(Options{Querier: APIQuerier(promv1.NewAPI(client), nil), Timeout: 2 * time.Second})
	require.NoError(t, err)
	for _, path := range []string{PathVLLM, PathTGI, PathGPU} {
		status, body := scrape(t, h, path)
		require.Equal(t, http.StatusInternalServerError, status, string(body))
	}
	status, _ := scrape(t, h, "/export/nope/metrics")
	require.Equal(t, http.StatusNotFound, status)
}

// TestExportedEndpoints scrapes each endpoint from a real Prometheus holding
// the fixtures and checks names, labels and values.
func TestExportedEndpoints(t *testing.T) {
	env := startExportTestEnv(t)
	h, err := NewHandler(Options{Querier: APIQuerier(env.api, nil)})
	require.NoError(t, err)

	for _, e := range exporters() {
		t.Run(e.name+"/names and labels", func(t *testing.T) {
			status, body := scrape(t, h, e.path)
			require.Equal(t, http.StatusOK, status, string(body))
			exp := parseExposition(t, body)
			// The fixtures feed every family: the output has exactly the documented ones.
			checkNamesAndLabels(t, e, exp, true)
			if e.name != "gpu" {
				checkHistogramsWellFormed(t, exp)
			}
		})

		// Every exported series equals what its family's query returns from
		// the same Prometheus (label mapping, +Inf and rounding are ours).
		t.Run(e.name+"/values equal the queries", func(t *testing.T) {
			_, body := scrape(t, h, e.path)
			exp := parseExposition(t, body)
			for _, f := range e.families {
				if f.Kind == kindHistogram {
					for _, part := range []struct{ suffix, expr string }{{"_count", f.Count}, {"_sum", f.Sum}} {
						for _, s := range mustVector(t, env.api, part.expr) {
							got, ok := exp.find(t, f.Name+part.suffix, labelMap(f, s.Metric))
							require.True(t, ok, "%s%s%v missing", f.Name, part.suffix, labelMap(f, s.Metric))
							require.InDelta(t, float64(s.Value), got, 1e-9, f.Name+part.suffix)
						}
					}
					continue
				}
				vec := mustVector(t, env.api, f.Expr)
				n := 0
				for _, s := range exp.samples {
					if s.name == f.Name {
						n++
					}
				}
				require.Len(t, vec, n, "%s: series count differs from its query", f.Name)
				for _, s := range vec {
					got, ok := exp.find(t, f.Name, labelMap(f, s.Metric))
					require.True(t, ok, "%s%v missing", f.Name, labelMap(f, s.Metric))
					require.InDelta(t, float64(s.Value), got, 1e-9, f.Name)
				}
			}
		})
	}

	// Independent expectations: hand-written queries and the fixtures' own numbers.
	t.Run("vllm", func(t *testing.T) { checkVLLM(t, env, h) })
	t.Run("tgi", func(t *testing.T) { checkTGI(t, env, h) })
	t.Run("gpu", func(t *testing.T) { checkGPU(t, env, h) })
}

func mustVector(t *testing.T, a promv1.API, q string) model.Vector {
	t.Helper()
	v, _, _, err := a.Query(context.WithoutCancel(t.Context()), q, time.Now())
	require.NoError(t, err, q)
	return v.(model.Vector)
}

// labelMap is the exported label set a query result series maps onto,
// without empty values (they are absent in the exposition).
func labelMap(f family, m model.Metric) map[string]string {
	out := map[string]string{}
	for i, v := range labelValues(f, m) {
		if v != "" {
			out[f.Labels[i].Name] = v
		}
	}
	return out
}

// TestExportFromDemo points the endpoints at a whole tokenpath running
// --demo, the way the binary serves them: every endpoint must carry the core
// families, only documented names and labels, and well-formed histograms.
func TestExportFromDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole tokenpath; not in -short")
	}
	p := testbin.Start(t, testbin.Options{Args: []string{"--demo", "--scrape.interval=1s"}})
	client, err := api.NewClient(api.Config{Address: p.URL})
	require.NoError(t, err)
	h, err := NewHandler(Options{Querier: APIQuerier(promv1.NewAPI(client), nil)})
	require.NoError(t, err)

	core := map[string][]string{
		"vllm": {"vllm_ttft_seconds", "vllm_itl_seconds", "vllm_tokens_generated_total", "vllm_requests_running", "vllm_kv_cache_usage_ratio"},
		"tgi":  {"tgi_time_per_token_seconds", "tgi_batch_size", "tgi_queue_length", "tgi_requests_total"},
		// gpu_memory_bound_flag needs the rules to have run once.
		"gpu": {"gpu_vram_used_bytes", "gpu_compute_utilization", "gpu_memory_bound_flag"},
	}
	for _, e := range exporters() {
		t.Run(e.name, func(t *testing.T) {
			var exp exposition
			var missing []string
			deadline := time.Now().Add(90 * time.Second)
			for {
				status, body := scrape(t, h, e.path)
				require.Equal(t, http.StatusOK, status, string(body))
				exp = parseExposition(t, body)
				missing = missing[:0]
				for _, name := range core[e.name] {
					if _, ok := exp.types[name]; !ok || !slices.ContainsFunc(exp.samples, func(s sample) bool { return exp.family(s) == name }) {
						missing = append(missing, name)
					}
				}
				if len(missing) == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(2 * time.Second)
			}
			require.Empty(t, missing, "families without data from the demo")
			checkNamesAndLabels(t, e, exp, false)
			if e.name != "gpu" {
				checkHistogramsWellFormed(t, exp)
			}
		})
	}
}

// checkHistogramsWellFormed requires cumulative buckets that never decrease
// and a +Inf bucket equal to the count, for every exported histogram series.
func checkHistogramsWellFormed(t *testing.T, exp exposition) {
	t.Helper()
	type series struct {
		les    []float64
		counts map[float64]float64
		count  float64
	}
	all := map[string]*series{}
	keyOf := func(s sample) string {
		ls := maps.Clone(s.labels)
		delete(ls, "le")
		return exp.family(s) + fmt.Sprint(ls)
	}
	get := func(k string) *series {
		if all[k] == nil {
			all[k] = &series{counts: map[float64]float64{}}
		}
		return all[k]
	}
	for _, s := range exp.samples {
		if exp.types[exp.family(s)] != model.MetricTypeHistogram {
			continue
		}
		switch {
		case strings.HasSuffix(s.name, "_bucket"):
			le, err := strconv.ParseFloat(s.labels["le"], 64)
			require.NoError(t, err)
			h := get(keyOf(s))
			h.les = append(h.les, le)
			h.counts[le] = s.value
		case strings.HasSuffix(s.name, "_count"):
			get(keyOf(s)).count = s.value
		}
	}
	require.NotEmpty(t, all)
	for k, h := range all {
		slices.Sort(h.les)
		require.True(t, math.IsInf(h.les[len(h.les)-1], +1), "%s has no +Inf bucket", k)
		require.InDelta(t, h.count, h.counts[math.Inf(+1)], 0, "%s: +Inf bucket differs from the count", k)
		for i := 1; i < len(h.les); i++ {
			require.GreaterOrEqual(t, h.counts[h.les[i]], h.counts[h.les[i-1]], "%s: buckets decrease at le=%g", k, h.les[i])
		}
	}
}
