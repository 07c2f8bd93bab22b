package probe

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// modelLabels returns the distinct model label values of every probe series.
func (h *harness) modelLabels(t *testing.T) map[string]bool {
	t.Helper()
	mfs, err := h.reg.Gather()
	require.NoError(t, err)
	out := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == LabelModel {
					out[l.GetValue()] = true
				}
			}
		}
	}
	return out
}

// TestOverlongModelID: a 3 MB model id from /v1/models never becomes a
// label; the probe takes the next listed id that fits, and with none it is
// a discovery error that says why.
func TestOverlongModelID(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("m", 3<<20)
	for _, tc := range []struct {
		name, list  string
		wantOutcome string
		wantModel   string
	}{
		{"next id that fits", fmt.Sprintf(`{"data":[{"id":%q},{"id":"small-model"}]}`, huge), "ok/200", "small-model"},
		{"none fits", fmt.Sprintf(`{"data":[{"id":%q}]}`, huge), "discovery_error/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, func(srv *server) http.HandlerFunc {
				srv.modelList = func() string { return tc.list }
				return func(w http.ResponseWriter, _ *http.Request) {
					s := startSSE(w)
					s.content("a")
					s.finish(1)
				}
			})
			h := newHarness(t, Options{})
			require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, func(c *Config) { c.Model = "" })}))
			stop := h.run(t)
			h.waitProbes(t, 1)
			stop()
			require.Equal(t, map[string]float64{tc.wantOutcome: 1}, h.outcomes(t))
			require.Equal(t, map[string]bool{tc.wantModel: true}, h.modelLabels(t))
		})
	}
	t.Run("the error names the limit", func(t *testing.T) {
		err := checkModelLabel(huge)
		require.EqualError(t, err, fmt.Sprintf("model id %q… is 3145728 bytes long, over the 256-byte limit", strings.Repeat("m", 40)))
		require.Error(t, checkModelLabel("bad\xff"))
		require.NoError(t, checkModelLabel("meta-llama/Llama-3.1-8B-Instruct"))
	})
}

// TestModelChurnIsBounded: a server that lists a new model id at every
// discovery and fails every completion (so the probe discovers again each
// time) leaves at most maxModelsPerTarget models' series, not one set per
// probe.
func TestModelChurnIsBounded(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := newServer(t, func(srv *server) http.HandlerFunc {
		srv.modelList = func() string { return fmt.Sprintf(`{"data":[{"id":"model-%d"}]}`, n.Add(1)) }
		return func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no such model", http.StatusNotFound)
		}
	})
	h := newHarness(t, Options{})
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, func(c *Config) {
		c.Model = ""
		// modelGoneAfter intervals is longer than the test: only the count
		// bound applies.
		c.Interval, c.Timeout = model.Duration(20*time.Millisecond), model.Duration(20*time.Millisecond)
	})}))
	stop := h.run(t)
	// The request counters of pruned models go with them: count discoveries.
	require.Eventually(t, func() bool { return n.Load() >= 20 }, 20*time.Second, 5*time.Millisecond)
	stop()
	models := h.modelLabels(t)
	require.LessOrEqual(t, len(models), maxModelsPerTarget, "%v", models)
	require.True(t, models[fmt.Sprintf("model-%d", n.Load())] || models[fmt.Sprintf("model-%d", n.Load()-1)], "the latest model keeps its series: %v", models)
}

// TestGoneModelSeriesAreDeleted: once a model has not been probed for
// modelGoneAfter intervals, its series are deleted.
func TestGoneModelSeriesAreDeleted(t *testing.T) {
	t.Parallel()
	var swapped atomic.Bool
	srv := newServer(t, func(srv *server) http.HandlerFunc {
		srv.modelList = func() string {
			if swapped.Load() {
				return `{"data":[{"id":"new-model"}]}`
			}
			return `{"data":[{"id":"old-model"}]}`
		}
		return func(w http.ResponseWriter, _ *http.Request) {
			if swapped.Load() {
				s := startSSE(w)
				s.content("a")
				s.finish(1)
				return
			}
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}
	})
	h := newHarness(t, Options{})
	require.NoError(t, h.m.ApplyConfig([]Config{cfg(srv.URL, func(c *Config) {
		c.Model = ""
		c.Interval, c.Timeout = model.Duration(20*time.Millisecond), model.Duration(20*time.Millisecond)
	})}))
	stop := h.run(t)
	h.waitProbes(t, 2)
	require.True(t, h.modelLabels(t)["old-model"])
	swapped.Store(true)
	// Bounded wait: modelGoneAfter intervals of 20 ms, many times over.
	require.Eventually(t, func() bool {
		m := h.modelLabels(t)
		return !m["old-model"] && m["new-model"]
	}, 10*time.Second, 10*time.Millisecond, "old-model's series stayed")
	stop()
	// model="" may hold skipped ticks counted while a discovery ran.
	got := h.modelLabels(t)
	delete(got, "")
	require.Equal(t, map[string]bool{"new-model": true}, got)
}
