package slo_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/rules"
	"github.com/ritwikareddykancharla/token-path-observability/rules/slo"
	"github.com/ritwikareddykancharla/token-path-observability/scrape/probe"
	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

// snapshots records gathered registries as a promqltest load script: one
// column per snapshot, `_` where a series did not exist yet.
type snapshots struct {
	n      int
	series map[string][]string // series → values so far
}

// add gathers g and appends every series (classic histograms as _bucket,
// _sum and _count) with the extra labels.
func (s *snapshots) add(t *testing.T, g prometheus.Gatherer, extra map[string]string) {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	put := func(name string, lbls []*dto.LabelPair, more map[string]string, v float64) {
		all := map[string]string{}
		for k, v := range extra {
			all[k] = v
		}
		for _, l := range lbls {
			all[l.GetName()] = l.GetValue()
		}
		for k, v := range more {
			all[k] = v
		}
		keys := make([]string, 0, len(all))
		for k := range all {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+strconv.Quote(all[k]))
		}
		key := name + "{" + strings.Join(parts, ", ") + "}"
		vals := s.series[key]
		for len(vals) < s.n {
			vals = append(vals, "_")
		}
		s.series[key] = append(vals, strconv.FormatFloat(v, 'g', -1, 64))
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				put(mf.GetName(), m.GetLabel(), nil, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				put(mf.GetName(), m.GetLabel(), nil, m.GetGauge().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					put(mf.GetName()+"_bucket", m.GetLabel(), map[string]string{"le": strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)}, float64(b.GetCumulativeCount()))
				}
				put(mf.GetName()+"_bucket", m.GetLabel(), map[string]string{"le": "+Inf"}, float64(h.GetSampleCount()))
				put(mf.GetName()+"_sum", m.GetLabel(), nil, h.GetSampleSum())
				put(mf.GetName()+"_count", m.GetLabel(), nil, float64(h.GetSampleCount()))
			default:
			}
		}
	}
}

func (s *snapshots) next() { s.n++ }

func (s *snapshots) load(interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "load %s\n", model.Duration(interval))
	keys := make([]string, 0, len(s.series))
	for k := range s.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s %s\n", k, strings.Join(s.series[k], " "))
	}
	return b.String()
}

// TestGapAgainstSimulator probes the simulated vLLM server with the real
// prober while the simulator delays every response in front of its engine
// (a slow proxy its own histograms do not see). Both registries are gathered
// every 400 ms and replayed as 15 s scrapes through the rules package's
// token-path rules and the probe rules: the gap follows the front delay and
// TokenPathClientServerGap fires only with it.
func TestGapAgainstSimulator(t *testing.T) {
	t.Parallel()
	const (
		rounds    = 16
		realEvery = 400 * time.Millisecond
		scrape    = 15 * time.Second
		threshold = 300 * time.Millisecond
	)
	tests := []struct {
		name  string
		front time.Duration
		fires bool
	}{
		{name: "a slow proxy in front of the engine", front: 700 * time.Millisecond, fires: true},
		{name: "nothing in front of the engine", front: 0, fires: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := sim.New(sim.Options{Engine: sim.EngineVLLM, Seed: 7})
			require.NoError(t, err)
			// Only the probes' requests: the server's TTFT is then their own.
			s.SetLoad(0)
			s.SetFrontDelay(tc.front)
			ctx, cancel := context.WithCancel(t.Context())
			simDone := make(chan error, 1)
			go func() { simDone <- s.Run(ctx) }()
			srv := httptest.NewServer(s.Handler())
			probeReg := prometheus.NewRegistry()
			m, err := probe.NewManager(probe.Options{Registerer: probeReg})
			require.NoError(t, err)
			require.NoError(t, m.ApplyConfig([]probe.Config{{
				Endpoint: srv.URL, MaxTokens: 8, Server: "vllm",
				Interval: model.Duration(1200 * time.Millisecond), Timeout: model.Duration(1200 * time.Millisecond),
			}}))
			probeDone := make(chan error, 1)
			go func() { probeDone <- m.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				require.NoError(t, <-probeDone)
				<-simDone
				srv.Close()
			})

			u, err := url.Parse(srv.URL)
			require.NoError(t, err)
			snaps := &snapshots{series: map[string][]string{}}
			tick := time.NewTicker(realEvery)
			defer tick.Stop()
			for range rounds {
				<-tick.C
				// What tokenpath's scrapes add: the self-scrape job for the
				// probes, the detected server kind for the simulator.
				snaps.add(t, probeReg, map[string]string{"job": "tokenpath", "instance": "127.0.0.1:9090", "server": "other"})
				snaps.add(t, s.Registry(), map[string]string{"job": "vllm", "instance": u.Host, "server": "vllm"})
				snaps.next()
			}
			cancel()

			var ok float64
			for k, v := range snaps.series {
				if strings.HasPrefix(k, "tokenpath_probe_requests_total{") && strings.Contains(k, `outcome="ok"`) {
					ok, _ = strconv.ParseFloat(v[len(v)-1], 64)
				}
			}
			require.GreaterOrEqual(t, ok, 3.0, "successful probes")

			tp, err := rules.DefaultRuleFiles(rules.DefaultThresholds())
			require.NoError(t, err)
			files, _, err := slo.RuleFilesWithOptions(nil, nil, slo.Options{GapThreshold: threshold, GapFor: 30 * time.Second})
			require.NoError(t, err)
			files[rules.TokenPathRuleFile] = tp[rules.TokenPathRuleFile]
			h := slo.NewHarness(t, scrape, files, snaps.load(scrape))
			h.EvalUntil((rounds - 1) * scrape)

			// The gap is the probed server's own: its instance is the host:port
			// the probe sent its requests to, the same as the scrape's.
			key := fmt.Sprintf(`{instance=%q, model=%q, quantile="0.5"}`, u.Host, s.Model())
			gap := h.Series(`tokenpath:ttft_client_server_gap_seconds`)
			require.Contains(t, gap, key)
			mean := h.Series(`tokenpath:ttft_client_server_gap_seconds:mean_rate5m`)[fmt.Sprintf(`{instance=%q, model=%q}`, u.Host, s.Model())]
			// The probe's own TTFT on the unified series, next to the server's.
			probeTTFT := h.Series(`tokenpath:ttft_seconds:mean_rate1m{server="probe"}`)
			require.Len(t, probeTTFT, 1)
			t.Logf("front delay %s: %v successful probes, median gap %.3fs, mean gap %.3fs", tc.front, ok, gap[key], mean)
			if tc.fires {
				// The median gap is an estimate from buckets; the mean is exact.
				require.Greater(t, gap[key], threshold.Seconds())
				require.InDelta(t, tc.front.Seconds(), mean, 0.1)
				require.Equal(t, map[string]string{key: "firing"}, h.AlertStates(slo.AlertClientServerGap))
			} else {
				require.Less(t, gap[key], threshold.Seconds())
				require.InDelta(t, 0, mean, 0.1)
				require.Empty(t, h.AlertStates(slo.AlertClientServerGap))
			}
		})
	}
}
