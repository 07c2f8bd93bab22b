package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// TestRemoteWriteOut: tokenpath's remote_write delivers what it scrapes to a
// real Prometheus, sample for sample, with the external labels and the
// write_relabel_configs applied.
func TestRemoteWriteOut(t *testing.T) {
	receiver := startPrometheusReceiver(t)
	prom := receiver.API()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  external_labels:
    site: edge-1
remote_write:
- url: http://%s/api/v1/write
  write_relabel_configs:
  - source_labels: [job]
    regex: app
    action: keep
  queue_config:
    batch_send_deadline: 1s
    min_backoff: 100ms
    max_backoff: 1s
scrape_configs:
- job_name: app
  static_configs:
  - targets: [%q]
`, receiver.Addr(), countingTarget(t))
	p := start(t, procOpts{args: []string{"--config.file=" + writeFile(t, t.TempDir(), "tokenpath.yml", cfg)}})
	api := p.api()
	waitAtLeast(t, api, `sum(count_over_time(app_scrapes_total[10m]))`, 5, 60*time.Second)

	// Compare everything stamped up to T, once Prometheus has a later sample.
	T := time.Now().Add(-2 * time.Second)
	waitSample(t, prom, `max(timestamp(app_scrapes_total))`, "after T", 60*time.Second,
		func(v float64) bool { return v > float64(T.Unix())+0.5 })
	local := rawSamples(t, api, "app_scrapes_total", T)
	remote := rawSamples(t, prom, "app_scrapes_total", T)
	require.GreaterOrEqual(t, totalSamples(local), 3)
	want := map[string][]model.SamplePair{}
	for _, s := range local {
		m := s.Metric.Clone()
		m["site"] = "edge-1"
		m["host"] = model.LabelValue(hostname(t))
		want[m.String()] = s.Values
	}
	got := map[string][]model.SamplePair{}
	for _, s := range remote {
		got[s.Metric.String()] = s.Values
	}
	require.Equal(t, want, got, "Prometheus holds the same samples, with the external labels (host: the machine's name)")

	// write_relabel_configs kept only job="app".
	v, _, _, err := prom.Query(ctxT(t), `count({__name__=~".+",job!="app"})`, time.Now())
	require.NoError(t, err)
	require.Empty(t, v.(model.Vector), "no other job is sent")
	// tokenpath itself scrapes more than that.
	require.NotEmpty(t, instant(t, api, `up{job="tokenpath"}`, time.Now()))
}

// TestServerDetection: a target exposing vllm: names gets server="vllm" on
// /api/v1/targets and on its series; tgi_ names give "tgi"; anything else
// "other".
func TestServerDetection(t *testing.T) {
	gaugeTarget := func(name string) string {
		reg := prometheus.NewRegistry()
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "x"}, []string{"model_name"})
		g.WithLabelValues("llama").Set(2)
		reg.MustRegister(g)
		return hostOf(serveRegistry(t, reg))
	}
	tests := []struct {
		job, metric, want string
	}{
		{job: "vllm-box", metric: "vllm:num_requests_running", want: "vllm"},
		{job: "tgi-box", metric: "tgi_queue_size", want: "tgi"},
		{job: "sglang-box", metric: "sglang:num_running_reqs", want: "sglang"},
		{job: "node", metric: "node_load1", want: "other"},
	}
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\nscrape_configs:\n")
	for _, tc := range tests {
		fmt.Fprintf(&cfg, "- job_name: %s\n  static_configs:\n  - targets: [%q]\n", tc.job, gaugeTarget(tc.metric))
	}
	p := start(t, procOpts{args: []string{"--config.file=" + writeFile(t, t.TempDir(), "tokenpath.yml", cfg.String())}})
	api := p.api()
	for _, tc := range tests {
		t.Run(tc.job, func(t *testing.T) {
			waitFor(t, 30*time.Second, "the server label on the target", func() (bool, string) {
				at, ok := findTarget(t, api, tc.job)
				return ok && string(at.Labels["server"]) == tc.want, at.Labels.String()
			})
			waitValue(t, api, fmt.Sprintf(`%s{job=%q,server=%q,model_name="llama"}`, tc.metric, tc.job, tc.want), 2, 30*time.Second)
			// Every current series of the job carries the label.
			waitFor(t, 30*time.Second, "every series of the job to carry server="+tc.want, func() (bool, string) {
				vec := instant(t, api, fmt.Sprintf(`{job=%q}`, tc.job), time.Now())
				for _, s := range vec {
					if s.Metric["server"] != model.LabelValue(tc.want) {
						return false, s.Metric.String()
					}
				}
				return len(vec) > 0, vec.String()
			})
		})
	}
	// Every series of a detected target carries the label from its first
	// sample on: no series without it is ever written and then replaced by a
	// labelled one (which splits rate() windows and churns series at every
	// start and restart).
	t.Run("no unlabelled series", func(t *testing.T) {
		for _, tc := range tests {
			m := rawSamples(t, api, fmt.Sprintf(`{job=%q,server=""}`, tc.job), time.Now())
			require.Emptyf(t, m, "job %s: series written before detection finished", tc.job)
		}
	})
}
