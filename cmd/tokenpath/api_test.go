package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
)

// appRegistry is an instrumented application with fixed values: counters
// (one with an exemplar), a gauge, and a histogram that is both classic and
// native.
func appRegistry(t testing.TB) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "app_requests_total", Help: "Requests handled."}, []string{"code"})
	reqs.WithLabelValues("200").(prometheus.ExemplarAdder).AddWithExemplar(42, prometheus.Labels{"trace_id": "abc123"})
	reqs.WithLabelValues("500").Add(3)
	temp := prometheus.NewGauge(prometheus.GaugeOpts{Name: "app_temperature_celsius", Help: "Temperature of the app."})
	temp.Set(21.5)
	lat := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "app_latency_seconds", Help: "Request latency.",
		Buckets:                     []float64{0.25, 0.5, 1, 2.5},
		NativeHistogramBucketFactor: 1.1,
	})
	for _, v := range []float64{0.1, 0.2, 0.4, 1.5} {
		lat.Observe(v)
	}
	reg.MustRegister(reqs, temp, lat)
	return reg
}

// alertmanager is Debian's Alertmanager (testbin.StartAlertmanager), read
// back through its v2 API.
type alertmanager struct{ *testbin.Peer }

func startAlertmanager(t testing.TB) *alertmanager {
	t.Helper()
	return &alertmanager{testbin.StartAlertmanager(t, testbin.AlertmanagerOptions{})}
}

// received counts the active alerts of that name through Alertmanager's own
// v2 API.
func (am *alertmanager) received(name string) int {
	q := url.Values{"filter": {fmt.Sprintf("alertname=%q", name)}}
	resp, err := http.Get(am.URL() + "/api/v2/alerts?" + q.Encode())
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var alerts []struct {
		Labels map[string]string `json:"labels"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&alerts) != nil {
		return 0
	}
	return len(alerts)
}

// requirePushed asserts that metric holds exactly two samples in the minute
// before now: first at now-2s and second at now-1s, as the remote-write
// cases pushed them.
func requirePushed(t *testing.T, api promv1.API, metric model.Metric, now time.Time, first, second model.SampleValue) {
	t.Helper()
	v, _, _, err := api.Query(ctxT(t), string(metric[model.MetricNameLabel])+`[1m]`, now)
	require.NoError(t, err)
	m, ok := v.(model.Matrix)
	require.True(t, ok, "%T", v)
	require.Len(t, m, 1)
	require.Equal(t, metric, m[0].Metric)
	require.Equal(t, []model.SamplePair{
		{Timestamp: model.TimeFromUnixNano(now.Add(-2 * time.Second).UnixNano()), Value: first},
		{Timestamp: model.TimeFromUnixNano(now.Add(-time.Second).UnixNano()), Value: second},
	}, m[0].Values)
}

const apiRules = `groups:
- name: test
  interval: 1s
  rules:
  - record: job:app_requests:sum
    expr: sum by (job) (app_requests_total)
  - alert: AlwaysFiring
    expr: vector(1)
    labels:
      severity: page
    annotations:
      summary: always firing
`

// TestAPI scrapes a real target with a running tokenpath and checks every
// endpoint of the Prometheus HTTP API, /federate, remote write in and the
// admin API for the values the target exposes.
func TestAPI(t *testing.T) {
	app := serveRegistry(t, appRegistry(t))
	am := startAlertmanager(t)
	dir := t.TempDir()
	writeFile(t, dir, "rules.yml", apiRules)
	cfgFile := writeFile(t, dir, "tokenpath.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
  scrape_native_histograms: true
  always_scrape_classic_histograms: true
  external_labels:
    site: edge-1
rule_files: [rules.yml]
alerting:
  alertmanagers:
  - static_configs:
    - targets: [%q]
scrape_configs:
- job_name: app
  static_configs:
  - targets: [%q]
`, am.Addr(), hostOf(app)))
	p := start(t, procOpts{args: []string{"--config.file=" + cfgFile, "--web.enable-admin-api", "--web.enable-remote-write-receiver"}})
	api := p.api()
	// Six scrapes of the labelled series: query_range below looks 4s back.
	waitAtLeast(t, api, `count_over_time(app_temperature_celsius{server="other"}[1m])`, 6, 60*time.Second)
	appLabels := model.LabelSet{"job": "app", "instance": model.LabelValue(hostOf(app)), "server": "other"}
	with := func(ls model.LabelSet, kv ...string) model.LabelSet {
		out := ls.Clone()
		for i := 0; i+1 < len(kv); i += 2 {
			out[model.LabelName(kv[i])] = model.LabelValue(kv[i+1])
		}
		return out
	}

	t.Run("query", func(t *testing.T) {
		tests := []struct {
			q      string
			want   float64
			labels model.LabelSet // nil: not checked
		}{
			{q: `app_requests_total{code="200"}`, want: 42, labels: with(appLabels, "__name__", "app_requests_total", "code", "200")},
			{q: `app_requests_total{code="500"}`, want: 3, labels: with(appLabels, "__name__", "app_requests_total", "code", "500")},
			{q: `app_temperature_celsius`, want: 21.5, labels: with(appLabels, "__name__", "app_temperature_celsius")},
			{q: `sum(app_requests_total)`, want: 45, labels: model.LabelSet{}},
			{q: `app_latency_seconds_count`, want: 4},
			{q: `app_latency_seconds_sum`, want: 2.2},
			{q: `app_latency_seconds_bucket{le="0.25"}`, want: 2},
			{q: `app_latency_seconds_bucket{le="0.5"}`, want: 3},
			{q: `app_latency_seconds_bucket{le="1.0"}`, want: 3},
			{q: `app_latency_seconds_bucket{le="+Inf"}`, want: 4},
			{q: `histogram_count(app_latency_seconds)`, want: 4},
			{q: `histogram_sum(app_latency_seconds)`, want: 2.2},
			{q: `up{job="app"}`, want: 1},
		}
		for _, tc := range tests {
			t.Run(tc.q, func(t *testing.T) {
				vec := instant(t, api, tc.q, time.Now())
				require.Lenf(t, vec, 1, "%s: %v", tc.q, vec)
				require.InDelta(t, tc.want, float64(vec[0].Value), 1e-9)
				if tc.labels != nil {
					require.Equal(t, model.Metric(tc.labels), vec[0].Metric)
				}
			})
		}
		t.Run("native histogram sample", func(t *testing.T) {
			vec := instant(t, api, `app_latency_seconds`, time.Now())
			require.Len(t, vec, 1)
			require.NotNil(t, vec[0].Histogram, "app_latency_seconds is a native histogram")
			require.InDelta(t, 4, float64(vec[0].Histogram.Count), 1e-9)
			require.InDelta(t, 2.2, float64(vec[0].Histogram.Sum), 1e-9)
			var total float64
			for _, b := range vec[0].Histogram.Buckets {
				total += float64(b.Count)
			}
			require.InDelta(t, 4, total, 1e-9, "bucket counts add up to the count")
		})
	})

	t.Run("query_range", func(t *testing.T) {
		end := time.Now().Truncate(time.Second)
		r := promv1.Range{Start: end.Add(-4 * time.Second), End: end, Step: time.Second}
		const q = `app_requests_total{code="200",server="other"}`
		v, _, _, err := api.QueryRange(ctxT(t), q, r)
		require.NoError(t, err)
		m, ok := v.(model.Matrix)
		require.True(t, ok, "%T", v)
		require.Len(t, m, 1)
		require.Len(t, m[0].Values, 5)
		for i, sp := range m[0].Values {
			require.Equal(t, model.TimeFromUnixNano(r.Start.Add(time.Duration(i)*time.Second).UnixNano()), sp.Timestamp)
			require.Equal(t, model.SampleValue(42), sp.Value)
		}
		params := url.Values{"query": {q}, "start": {strconv.FormatInt(r.Start.Unix(), 10)}, "end": {strconv.FormatInt(r.End.Unix(), 10)}, "step": {"1"}}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(method, func(t *testing.T) {
				var code int
				var body []byte
				if method == http.MethodGet {
					code, body = p.get(queryURL("/api/v1/query_range", params), nil)
				} else {
					code, body = p.send(http.MethodPost, "/api/v1/query_range", strings.NewReader(params.Encode()),
						http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
				}
				require.Equal(t, http.StatusOK, code, "%s", body)
				var res struct {
					Status string `json:"status"`
					Data   struct {
						ResultType string       `json:"resultType"`
						Result     model.Matrix `json:"result"`
					} `json:"data"`
				}
				require.NoError(t, json.Unmarshal(body, &res))
				require.Equal(t, "success", res.Status)
				require.Equal(t, "matrix", res.Data.ResultType)
				require.Equal(t, m, res.Data.Result, "the raw %s answer equals the client's", method)
			})
		}
	})

	t.Run("series", func(t *testing.T) {
		now := time.Now()
		series, _, _, err := api.Series(ctxT(t), []string{`app_requests_total`}, now.Add(-time.Second), now)
		require.NoError(t, err)
		sort.Slice(series, func(i, j int) bool { return series[i]["code"] < series[j]["code"] })
		require.Equal(t, []model.LabelSet{
			with(appLabels, "__name__", "app_requests_total", "code", "200"),
			with(appLabels, "__name__", "app_requests_total", "code", "500"),
		}, series)
	})

	t.Run("labels", func(t *testing.T) {
		now := time.Now()
		names, _, _, err := api.LabelNames(ctxT(t), []string{`{job="app"}`}, now.Add(-time.Second), now)
		require.NoError(t, err)
		require.Equal(t, model.LabelNames{"__name__", "code", "instance", "job", "le", "server"}, names)
	})

	t.Run("label values", func(t *testing.T) {
		now := time.Now()
		tests := []struct {
			label   string
			matches []string
			want    model.LabelValues
		}{
			// The target's own codes: tokenpath's self-scraped HTTP metrics
			// also carry code, and a /-/ready polled before readiness adds 503.
			{label: "code", matches: []string{`{job="app"}`}, want: model.LabelValues{"200", "500"}},
			{label: "job", want: model.LabelValues{"app", "tokenpath"}},
			{label: "__name__", matches: []string{`{job="app",__name__=~"app_.*"}`}, want: model.LabelValues{
				"app_latency_seconds", "app_latency_seconds_bucket", "app_latency_seconds_count", "app_latency_seconds_sum",
				"app_requests_total", "app_temperature_celsius",
			}},
			{label: "le", matches: []string{`app_latency_seconds_bucket`}, want: model.LabelValues{"+Inf", "0.25", "0.5", "1.0", "2.5"}},
		}
		for _, tc := range tests {
			t.Run(tc.label, func(t *testing.T) {
				vals, _, _, err := api.LabelValues(ctxT(t), tc.label, tc.matches, now.Add(-time.Minute), now)
				require.NoError(t, err)
				require.Equal(t, tc.want, vals)
			})
		}
	})

	t.Run("metadata", func(t *testing.T) {
		tests := []struct{ metric, typ, help string }{
			{"app_requests_total", "counter", "Requests handled."},
			{"app_temperature_celsius", "gauge", "Temperature of the app."},
			{"app_latency_seconds", "histogram", "Request latency."},
		}
		for _, tc := range tests {
			t.Run(tc.metric, func(t *testing.T) {
				md, err := api.Metadata(ctxT(t), tc.metric, "")
				require.NoError(t, err)
				require.Equal(t, map[string][]promv1.Metadata{tc.metric: {{Type: promv1.MetricType(tc.typ), Help: tc.help, Unit: ""}}}, md)
			})
		}
	})

	t.Run("targets", func(t *testing.T) {
		at := target(t, api, "app")
		require.Equal(t, promv1.HealthGood, at.Health)
		require.Empty(t, at.LastError)
		require.Equal(t, app.URL+"/metrics", at.ScrapeURL)
		require.Equal(t, "app", at.ScrapePool)
		require.Equal(t, appLabels, at.Labels)
		require.Equal(t, hostOf(app), at.DiscoveredLabels["__address__"])
		require.False(t, at.LastScrape.IsZero())
		self := target(t, api, "tokenpath")
		require.Equal(t, promv1.HealthGood, self.Health, "the built-in self-scrape job: %s", self.LastError)
	})

	t.Run("targets metadata", func(t *testing.T) {
		md, err := api.TargetsMetadata(ctxT(t), `{job="app"}`, "app_temperature_celsius", "")
		require.NoError(t, err)
		require.Len(t, md, 1)
		require.Equal(t, promv1.MetricType("gauge"), md[0].Type)
		require.Equal(t, "Temperature of the app.", md[0].Help)
		require.Equal(t, "app", md[0].Target["job"])
		require.Equal(t, hostOf(app), md[0].Target["instance"])
	})

	t.Run("rules", func(t *testing.T) {
		waitValue(t, api, `job:app_requests:sum`, 45, 30*time.Second)
		res, err := api.Rules(ctxT(t), nil)
		require.NoError(t, err)
		// Embedded rule files (from other flags) may sit beside the user's.
		var mine []promv1.RuleGroup
		for _, g := range res.Groups {
			if g.File == filepath.Join(dir, "rules.yml") {
				mine = append(mine, g)
			} else {
				require.Truef(t, strings.HasPrefix(g.File, "embedded:"), "group %q from %q", g.Name, g.File)
			}
		}
		require.Len(t, mine, 1, "the groups of rules.yml")
		g := mine[0]
		require.Equal(t, "test", g.Name)
		require.Equal(t, 1.0, g.Interval)
		require.Len(t, g.Rules, 2)
		rec, ok := g.Rules[0].(promv1.RecordingRule)
		require.True(t, ok, "%T", g.Rules[0])
		require.Equal(t, "job:app_requests:sum", rec.Name)
		require.Equal(t, promv1.RuleHealth(promv1.RuleHealthGood), rec.Health)
		alert, ok := g.Rules[1].(promv1.AlertingRule)
		require.True(t, ok, "%T", g.Rules[1])
		require.Equal(t, "AlwaysFiring", alert.Name)
		require.Equal(t, "firing", alert.State)
		require.Equal(t, model.LabelSet{"severity": "page"}, alert.Labels)
	})

	t.Run("alerts", func(t *testing.T) {
		res, err := api.Alerts(ctxT(t))
		require.NoError(t, err)
		var mine []promv1.Alert
		for _, a := range res.Alerts {
			if a.Labels["alertname"] == "AlwaysFiring" {
				mine = append(mine, a)
			}
		}
		require.Len(t, mine, 1, "%+v", res.Alerts)
		a := mine[0]
		require.Equal(t, promv1.AlertStateFiring, a.State)
		require.Equal(t, model.LabelSet{"alertname": "AlwaysFiring", "severity": "page"}, a.Labels)
		require.Equal(t, model.LabelValue("always firing"), a.Annotations["summary"])
		require.Equal(t, "1e+00", a.Value)
	})

	t.Run("alertmanagers", func(t *testing.T) {
		res, err := api.AlertManagers(ctxT(t))
		require.NoError(t, err)
		require.Len(t, res.Active, 1)
		require.Equal(t, am.URL()+"/api/v2/alerts", res.Active[0].URL)
		require.Empty(t, res.Dropped)
		// A firing alert is sent again every minute (the rule manager's
		// resend delay): when the first send races the notifier's discovery
		// of the alertmanager, the second one arrives a minute later.
		waitFor(t, 90*time.Second, "the alertmanager to receive AlwaysFiring", func() (bool, string) {
			n := am.received("AlwaysFiring")
			return n > 0, strconv.Itoa(n)
		})
	})

	t.Run("query_exemplars", func(t *testing.T) {
		now := time.Now()
		res, err := api.QueryExemplars(ctxT(t), `app_requests_total{server="other"}`, now.Add(-time.Hour), now)
		require.NoError(t, err)
		require.Len(t, res, 1, "only code=200 has an exemplar: %+v", res)
		require.Equal(t, "200", string(res[0].SeriesLabels["code"]))
		require.Len(t, res[0].Exemplars, 1)
		require.Equal(t, model.LabelSet{"trace_id": "abc123"}, res[0].Exemplars[0].Labels)
		require.Equal(t, model.SampleValue(42), res[0].Exemplars[0].Value)
	})

	t.Run("format_query", func(t *testing.T) {
		// Raw HTTP: client_golang's FormatQuery returns the JSON string still quoted.
		code, r := p.apiGet(queryURL("/api/v1/format_query", url.Values{"query": {`sum(rate(app_requests_total[5m]))by(job)`}}))
		require.Equal(t, http.StatusOK, code)
		var got string
		require.NoError(t, json.Unmarshal(r.Data, &got))
		require.Equal(t, `sum by (job) (rate(app_requests_total[5m]))`, got)
		code, r = p.apiGet(queryURL("/api/v1/format_query", url.Values{"query": {`sum(`}}))
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "bad_data", r.ErrorType)
	})

	t.Run("parse_query", func(t *testing.T) {
		code, r := p.apiGet(queryURL("/api/v1/parse_query", url.Values{"query": {`sum by (job) (app_requests_total)`}}))
		require.Equal(t, http.StatusOK, code)
		var ast struct {
			Type     string   `json:"type"`
			Op       string   `json:"op"`
			Grouping []string `json:"grouping"`
			Expr     struct {
				Type string `json:"type"`
				Name string `json:"name"`
			} `json:"expr"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &ast), "%s", r.Data)
		require.Equal(t, "aggregation", ast.Type)
		require.Equal(t, "sum", ast.Op)
		require.Equal(t, []string{"job"}, ast.Grouping)
		require.Equal(t, "vectorSelector", ast.Expr.Type)
		require.Equal(t, "app_requests_total", ast.Expr.Name)

		code, r = p.apiGet(queryURL("/api/v1/parse_query", url.Values{"query": {`sum(`}}))
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "bad_data", r.ErrorType)
	})

	t.Run("status/buildinfo", func(t *testing.T) {
		bi, err := api.Buildinfo(ctxT(t))
		require.NoError(t, err)
		require.Equal(t, runtime.Version(), bi.GoVersion)
	})

	t.Run("status/config", func(t *testing.T) {
		res, err := api.Config(ctxT(t))
		require.NoError(t, err)
		var cfg struct {
			Global struct {
				ScrapeInterval string            `yaml:"scrape_interval"`
				ExternalLabels map[string]string `yaml:"external_labels"`
			} `yaml:"global"`
			ScrapeConfigs []struct {
				JobName string `yaml:"job_name"`
			} `yaml:"scrape_configs"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(res.YAML), &cfg), res.YAML)
		require.Equal(t, "1s", cfg.Global.ScrapeInterval)
		require.Equal(t, map[string]string{"site": "edge-1", "host": hostname(t)}, cfg.Global.ExternalLabels, "the file's external labels plus host, the machine's name")
		var jobs []string
		for _, sc := range cfg.ScrapeConfigs {
			jobs = append(jobs, sc.JobName)
		}
		require.Equal(t, []string{"app", "tokenpath"}, jobs)
	})

	t.Run("status/flags", func(t *testing.T) {
		flags, err := api.Flags(ctxT(t))
		require.NoError(t, err)
		for name, want := range map[string]string{
			"config.file":                      cfgFile,
			"storage.tsdb.path":                p.DataDir,
			"web.listen-address":               p.Addr,
			"web.enable-admin-api":             "true",
			"web.enable-remote-write-receiver": "true",
			"web.enable-lifecycle":             "false",
			"query.max-samples":                "50000000",
			"storage.tsdb.retention.time":      "15d",
			"rules.defaults":                   "false",
		} {
			require.Equalf(t, want, flags[name], "flag %s", name)
		}
	})

	t.Run("status/runtimeinfo", func(t *testing.T) {
		ri, err := api.Runtimeinfo(ctxT(t))
		require.NoError(t, err)
		require.True(t, ri.ReloadConfigSuccess)
		require.Equal(t, "15d", ri.StorageRetention)
		require.NotEmpty(t, ri.CWD)
		require.Positive(t, ri.GoroutineCount)
		require.False(t, ri.StartTime.IsZero())
		require.False(t, ri.LastConfigTime.Before(ri.StartTime), "config loaded (%s) after start (%s)", ri.LastConfigTime, ri.StartTime)
	})

	t.Run("status/tsdb", func(t *testing.T) {
		st, err := api.TSDB(ctxT(t), promv1.WithLimit(1000))
		require.NoError(t, err)
		require.Positive(t, st.HeadStats.NumSeries)
		counts := map[string]uint64{}
		for _, s := range st.SeriesCountByMetricName {
			counts[s.Name] = s.Value
		}
		require.GreaterOrEqual(t, counts["app_latency_seconds_bucket"], uint64(5), "%v", counts)
		require.GreaterOrEqual(t, counts["app_requests_total"], uint64(2), "%v", counts)
	})

	t.Run("federate", func(t *testing.T) { testFederate(t, p, api) })

	t.Run("remote write in", func(t *testing.T) {
		now := time.Now().Truncate(time.Second)
		pushSamples(t, p.URL, "pushed_metric", map[string]string{"source": "test"}, []prompb.Sample{
			{Value: 7, Timestamp: now.Add(-2 * time.Second).UnixMilli()},
			{Value: 8, Timestamp: now.Add(-time.Second).UnixMilli()},
		})
		requirePushed(t, api, model.Metric{"__name__": "pushed_metric", "source": "test"}, now, 7, 8)
	})

	t.Run("remote write 2.0 in", func(t *testing.T) {
		now := time.Now().Truncate(time.Second)
		rw, err := remote.NewAPI(p.URL, remote.WithAPIBackoff(remote.BackoffConfig{Min: 100 * time.Millisecond, Max: 200 * time.Millisecond, MaxRetries: 1}))
		require.NoError(t, err)
		st := writev2.NewSymbolTable()
		refs := st.SymbolizeLabels([]string{"__name__", "pushed_v2_metric", "source", "v2"}, nil)
		req := &writev2.Request{Timeseries: []*writev2.TimeSeries{{
			LabelsRefs: refs,
			Samples: []*writev2.Sample{
				{Value: 5, Timestamp: now.Add(-2 * time.Second).UnixMilli()},
				{Value: 6, Timestamp: now.Add(-time.Second).UnixMilli()},
			},
		}}}
		req.Symbols = st.Symbols()
		stats, err := rw.Write(ctxT(t), remote.WriteV2MessageType, req)
		require.NoError(t, err)
		require.Equal(t, 2, stats.Samples, "the receiver confirms two samples written")
		requirePushed(t, api, model.Metric{"__name__": "pushed_v2_metric", "source": "v2"}, now, 5, 6)
	})

	t.Run("admin", func(t *testing.T) {
		// Deleting a scraped series up to T leaves nothing at or before T.
		T := time.Now()
		const q = `count_over_time(app_requests_total{code="500"}[1h])`
		before := instant(t, api, q, T)
		require.NotEmpty(t, before)
		require.GreaterOrEqual(t, float64(before[len(before)-1].Value), 3.0)
		require.NoError(t, api.DeleteSeries(ctxT(t), []string{`app_requests_total{code="500"}`}, time.Unix(0, 0), T))
		require.Empty(t, instant(t, api, q, T), "samples before the deletion's end are gone")
		require.NotEmpty(t, instant(t, api, `app_requests_total{code="200"}`, T), "other series stay")
		require.NoError(t, api.CleanTombstones(ctxT(t)))
		require.Empty(t, instant(t, api, q, T), "still gone after the tombstones are cleaned")

		snap, err := api.Snapshot(ctxT(t), false)
		require.NoError(t, err)
		require.NotEmpty(t, snap.Name)
		metas, err := filepath.Glob(filepath.Join(p.DataDir, "snapshots", snap.Name, "*", "meta.json"))
		require.NoError(t, err)
		require.NotEmpty(t, metas, "the snapshot holds at least one block")
	})
}

// pushSamples sends one series over remote write 1.0.
func pushSamples(t testing.TB, base, name string, lbls map[string]string, samples []prompb.Sample) {
	t.Helper()
	err := tryPush(t, base, nil, name, lbls, samples)
	require.NoError(t, err)
}

func tryPush(t testing.TB, base string, client *http.Client, name string, lbls map[string]string, samples []prompb.Sample) error {
	t.Helper()
	opts := []remote.APIOption{remote.WithAPIBackoff(remote.BackoffConfig{Min: 100 * time.Millisecond, Max: 200 * time.Millisecond, MaxRetries: 1})}
	if client != nil {
		opts = append(opts, remote.WithAPIHTTPClient(client))
	}
	rw, err := remote.NewAPI(base, opts...)
	require.NoError(t, err)
	ls := []prompb.Label{{Name: "__name__", Value: name}}
	for k, v := range lbls {
		ls = append(ls, prompb.Label{Name: k, Value: v})
	}
	slices.SortFunc(ls, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
	_, err = rw.Write(ctxT(t), remote.WriteV1MessageType, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: ls, Samples: samples}}})
	return err
}

// testFederate reads /federate in the text and protobuf formats and
// compares it value by value with a query.
func testFederate(t *testing.T, p *proc, api promv1.API) {
	const sel = `{job="app",__name__=~"app_.*"}`
	fedPath := queryURL("/federate", url.Values{"match[]": {sel}})

	// Float series of the query, by their labels.
	want := map[string]float64{}
	var nativeCount int
	for _, s := range instant(t, api, sel, time.Now()) {
		if s.Histogram != nil {
			nativeCount++
			continue
		}
		want[s.Metric.String()] = float64(s.Value)
	}
	require.Equal(t, 1, nativeCount, "the query returns one native histogram")
	require.Len(t, want, 10, "2 counters, 1 gauge, 5 buckets, sum and count: %v", want)

	// collect turns families into label string → value for untyped samples,
	// checking the external label on every one.
	collect := func(t *testing.T, fams []*dto.MetricFamily) (floats map[string]float64, natives []*dto.Metric) {
		floats = map[string]float64{}
		for _, mf := range fams {
			for _, m := range mf.GetMetric() {
				ls := model.Metric{"__name__": model.LabelValue(mf.GetName())}
				site, host := "", ""
				for _, lp := range m.GetLabel() {
					switch lp.GetName() {
					case "site":
						site = lp.GetValue()
						continue
					case "host":
						host = lp.GetValue()
						continue
					}
					ls[model.LabelName(lp.GetName())] = model.LabelValue(lp.GetValue())
				}
				require.Equalf(t, "edge-1", site, "external label on %s", ls)
				require.Equalf(t, hostname(t), host, "external label host (the machine's name) on %s", ls)
				require.NotZero(t, m.GetTimestampMs())
				switch mf.GetType() {
				case dto.MetricType_UNTYPED:
					floats[ls.String()] = m.GetUntyped().GetValue()
				case dto.MetricType_HISTOGRAM:
					natives = append(natives, m)
				default:
					t.Fatalf("unexpected type %s for %s", mf.GetType(), ls)
				}
			}
		}
		return floats, natives
	}

	t.Run("text", func(t *testing.T) {
		resp, err := p.do(http.MethodGet, fedPath, nil, http.Header{"Accept": {"text/plain;version=0.0.4"}})
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
		parser := expfmt.NewTextParser(model.UTF8Validation)
		byName, err := parser.TextToMetricFamilies(resp.Body)
		require.NoError(t, err)
		var fams []*dto.MetricFamily
		for _, mf := range byName {
			fams = append(fams, mf)
		}
		floats, natives := collect(t, fams)
		require.Empty(t, natives, "the text format cannot carry native histograms")
		require.Equal(t, want, floats)
	})

	t.Run("protobuf", func(t *testing.T) {
		format := expfmt.NewFormat(expfmt.TypeProtoDelim)
		resp, err := p.do(http.MethodGet, fedPath, nil, http.Header{"Accept": {string(format)}})
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), string(format)), resp.Header.Get("Content-Type"))
		dec := expfmt.NewDecoder(resp.Body, format)
		var fams []*dto.MetricFamily
		for i := 0; i < 1000; i++ {
			mf := &dto.MetricFamily{}
			err := dec.Decode(mf)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			fams = append(fams, mf)
		}
		floats, natives := collect(t, fams)
		require.Equal(t, want, floats)
		require.Len(t, natives, 1, "the native histogram is federated in protobuf")
		h := natives[0].GetHistogram()
		require.InDelta(t, 4, h.GetSampleCountFloat(), 1e-9)
		require.InDelta(t, 2.2, h.GetSampleSum(), 1e-9)
		require.NotEmpty(t, h.GetPositiveSpan(), "exponential buckets")
		var total float64
		for _, c := range h.GetPositiveCount() {
			total += c
		}
		require.InDelta(t, 4-h.GetZeroCountFloat(), total, 1e-9)
	})

	t.Run("invalid match", func(t *testing.T) {
		code, body := p.get(queryURL("/federate", url.Values{"match[]": {`up{`}}), nil)
		require.Equal(t, http.StatusBadRequest, code)
		require.Contains(t, string(body), "invalid match[] selector")
	})

	t.Run("no match", func(t *testing.T) {
		code, body := p.get("/federate", nil)
		require.Equal(t, http.StatusOK, code)
		require.Empty(t, body)
	})
}
