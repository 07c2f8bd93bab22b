package scrape

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
}

func TestDetectServer(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  string
	}{
		{name: "vllm V1", names: []string{"python_gc_objects_collected_total", "vllm:num_requests_running"}, want: ServerVLLM},
		{name: "vllm V0 name", names: []string{"vllm:time_per_output_token_seconds_bucket"}, want: ServerVLLM},
		{name: "tgi", names: []string{"tgi_request_duration_bucket"}, want: ServerTGI},
		{name: "sglang", names: []string{"sglang:num_running_reqs"}, want: ServerSGLang},
		{name: "llama.cpp", names: []string{"llamacpp:requests_processing"}, want: ServerLlamaCPP},
		{name: "first known prefix decides", names: []string{"go_goroutines", "tgi_queue_size", "vllm:num_requests_running"}, want: ServerTGI},
		{name: "generic exporter", names: []string{"node_cpu_seconds_total", "up"}, want: ServerOther},
		{name: "prefix must be at the start", names: []string{"my_vllm:thing", "notgi_x"}, want: ServerOther},
		{name: "vllm without colon is not vllm", names: []string{"vllm_requests_total"}, want: ServerOther},
		{name: "nothing", names: nil, want: ServerOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, DetectServer(tc.names))
		})
	}
}

// TestFetchKind reads a real exposition over HTTP, as detection does for each
// new target.
func TestFetchKind(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		want    string
		wantErr string
	}{
		{name: "vllm after comments and process metrics", status: 200, want: ServerVLLM, body: "# HELP process_cpu_seconds_total x\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1\n# HELP vllm:num_requests_running x\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 2\n"},
		{name: "tgi", status: 200, want: ServerTGI, body: "tgi_queue_size 0\n"},
		{name: "sglang with labels", status: 200, want: ServerSGLang, body: "sglang:num_running_reqs{model_name=\"m\"} 1\n"},
		{name: "llama.cpp", status: 200, want: ServerLlamaCPP, body: "llamacpp:requests_processing 0\n"},
		{name: "other", status: 200, want: ServerOther, body: "node_load1 0.5\nup 1\n"},
		{name: "empty", status: 200, want: ServerOther, body: ""},
		{name: "error status", status: 503, wantErr: "503", body: "down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/metrics" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			d := newDetector(nil, srv.Client())
			cfg := &promconfig.ScrapeConfig{JobName: "j", Scheme: "http", MetricsPath: "/metrics", ScrapeTimeout: model.Duration(5 * time.Second)}
			u := metricsURL(cfg, nil, model.LabelSet{model.AddressLabel: model.LabelValue(strings.TrimPrefix(srv.URL, "http://"))})
			require.Equal(t, srv.URL+"/metrics", u)
			got, err := d.fetchKind(context.Background(), detectJob{url: u, cfg: cfg})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestMetricsURL: target labels win over group labels, which win over the
// job's scheme and metrics path.
func TestMetricsURL(t *testing.T) {
	cfg := &promconfig.ScrapeConfig{Scheme: "http", MetricsPath: "/metrics"}
	tests := []struct {
		name          string
		group, target model.LabelSet
		want          string
	}{
		{name: "job defaults", target: model.LabelSet{"__address__": "127.0.0.1:1"}, want: "http://127.0.0.1:1/metrics"},
		{name: "group overrides", group: model.LabelSet{"__scheme__": "https", "__metrics_path__": "/m"}, target: model.LabelSet{"__address__": "127.0.0.1:1"}, want: "https://127.0.0.1:1/m"},
		{name: "target overrides group", group: model.LabelSet{"__metrics_path__": "/m"}, target: model.LabelSet{"__address__": "127.0.0.1:1", "__metrics_path__": "/t"}, want: "http://127.0.0.1:1/t"},
		{name: "no address", target: model.LabelSet{"job": "x"}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, metricsURL(cfg, tc.group, tc.target))
		})
	}
}

// TestDetectorFirstTargetSetIsLabelled: the scrape manager applies the first
// target set at once and later ones only every 5 seconds, so a target that
// reaches it without its server label is scraped unlabelled for that long and
// then turns into a new series. The first set the detector hands on must
// already carry the label of a reachable target.
func TestDetectorFirstTargetSetIsLabelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, "vllm:num_requests_running 1\n")
	}))
	t.Cleanup(srv.Close)
	d := newDetector(slog.New(slog.DiscardHandler), srv.Client())
	d.applyConfig([]*promconfig.ScrapeConfig{{JobName: "llm", Scheme: "http", MetricsPath: "/metrics", ScrapeTimeout: model.Duration(5 * time.Second)}})

	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan map[string][]*targetgroup.Group)
	done := make(chan struct{})
	go func() { defer close(done); d.run(ctx, in) }()
	t.Cleanup(func() { cancel(); <-done })

	tg := &targetgroup.Group{Source: "0", Targets: []model.LabelSet{{model.AddressLabel: model.LabelValue(strings.TrimPrefix(srv.URL, "http://"))}}}
	select {
	case in <- map[string][]*targetgroup.Group{"llm": {tg}}:
	case <-time.After(10 * time.Second):
		t.Fatal("the detector did not take the target set")
	}
	select {
	case got := <-d.out:
		require.Len(t, got["llm"], 1)
		require.Len(t, got["llm"][0].Targets, 1)
		require.Equal(t, model.LabelValue(ServerVLLM), got["llm"][0].Targets[0][ServerLabel], "the first target set sent on")
	case <-time.After(10 * time.Second):
		t.Fatal("no target set sent on")
	}
}
