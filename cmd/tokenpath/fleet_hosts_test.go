package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ritwikareddykancharla/token-path-observability/grafana"
	"github.com/ritwikareddykancharla/token-path-observability/grafana/panels"
	"github.com/ritwikareddykancharla/token-path-observability/internal/testbin"
	"github.com/ritwikareddykancharla/token-path-observability/web"
)

// fleetHosts are the external labels host of the three tokenpaths of
// TestFleetHosts.
var fleetHosts = []string{"alpha", "beta", "gamma"}

// TestFleetHosts: three tokenpaths (--demo, hosts alpha, beta and gamma)
// remote-write to Debian's Prometheus and Debian's VictoriaMetrics at once,
// so both engines hold the same samples. On each engine every host's unified
// series are there and apart, every Grafana dashboard query returns that
// host's data when its host variable selects it, and `tokenpath fleet`
// serves every page with all three hosts (charts painted, heatmap cells
// drawn, the host selector narrowing the charts to one host). Across the
// two engines every chart query of grafana/panels and every table query of
// the UI answers with the same shape: result type, label sets and values.
func TestFleetHosts(t *testing.T) {
	testbin.RequirePeer(t, "chromium", "chromium") // before the long set-up
	prom := startPrometheusReceiver(t)
	vm := testbin.StartVictoriaMetrics(t)
	engines := []*testbin.Peer{prom, vm}
	locals := map[string]*proc{}
	for _, h := range fleetHosts {
		cfg := fmt.Sprintf("global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\n  external_labels:\n    host: %s\nremote_write:\n"+
			"- url: http://%s/api/v1/write\n  queue_config: {batch_send_deadline: 1s}\n"+
			"- url: http://%s/api/v1/write\n  queue_config: {batch_send_deadline: 1s}\n", h, prom.Addr(), vm.Addr())
		// No backfilled day: remote write forwards what is appended after
		// start, not blocks written before it (as in Prometheus), so the
		// backfill's last recordings, still inside the lookback at the
		// compared instant when the start fell late in a 5-minute step, were
		// series on the tokenpath that no engine could have.
		locals[h] = start(t, procOpts{keepRules: true, args: []string{
			"--demo", "--no-probe.enable", "--demo.backfill=0",
			"--config.file=" + writeFile(t, t.TempDir(), "tokenpath.yml", cfg),
		}})
	}
	dashboards := dashboardQueries(t)

	// Ready when every dashboard query has data for every host on both
	// engines: the rate1m recordings need a minute of samples first.
	for _, e := range engines {
		waitFor(t, 4*time.Minute, "every dashboard query to return data for every host on "+e.Name(), func() (bool, string) {
			missing := dashboardGaps(e.API(), dashboards, time.Now())
			return len(missing) == 0, strings.Join(missing, "; ")
		})
	}
	// One instant for every comparison: aligned to the step of the range
	// queries and a little in the past, so that both engines have received
	// every sample up to it, and late enough that every host had every
	// series by then (a recording appears with the first request it sees).
	const step = 10 * time.Second
	var at time.Time
	slo := web.TableQueries()["slo"]
	waitFor(t, 3*time.Minute, "an instant with every dashboard query's and the SLO table's data for every host on both engines", func() (bool, string) {
		at = time.Now().Add(-15 * time.Second).Truncate(step)
		var missing []string
		for _, e := range engines {
			missing = append(missing, dashboardGaps(e.API(), dashboards, at)...)
			// The SLO groups run once a minute, whatever the evaluation
			// interval: their recordings come later than the rest, and
			// VictoriaMetrics draws a series between its samples only once it
			// can tell their interval from at least two (docs/fleet-engines.md,
			// lookback), so wait for three.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			v, _, _, err := e.API().Query(ctx, "(min by (host) (count_over_time("+web.TableQueries()["slo_objective"]+"[5m])) >= 3) and count by (host) ("+slo+")", at)
			cancel()
			if vec, _ := v.(model.Vector); err != nil || len(vec) != len(fleetHosts) {
				missing = append(missing, fmt.Sprintf("%s: SLO recordings of %v hosts (%v)", e.Name(), len(vec), err))
			}
		}
		if len(missing) > 0 {
			time.Sleep(2 * time.Second)
		}
		return len(missing) == 0, strings.Join(missing, "; ")
	})

	for _, e := range engines {
		t.Run(e.Name()+"/unified series per host", func(t *testing.T) {
			api := e.API()
			for _, h := range fleetHosts {
				// The host's series on the engine are exactly the tokenpath's
				// own, plus host: nothing lost, nothing merged.
				want := map[string]bool{}
				for _, s := range instant(t, locals[h].api(), `count by (__name__) ({__name__=~"tokenpath:.+"})`, at) {
					want[string(s.Metric[model.MetricNameLabel])] = true
				}
				got := map[string]bool{}
				for _, s := range instant(t, api, fmt.Sprintf(`count by (__name__) ({__name__=~"tokenpath:.+", host=%q})`, h), at) {
					got[string(s.Metric[model.MetricNameLabel])] = true
				}
				require.Greater(t, len(want), 30, "host %s records the unified series", h)
				require.Equal(t, want, got, "unified series names of host %s on %s", h, e.Name())
				local := instant(t, locals[h].api(), `count({__name__=~"tokenpath:.+"})`, at)
				central := instant(t, api, fmt.Sprintf(`count({__name__=~"tokenpath:.+", host=%q})`, h), at)
				require.Len(t, local, 1)
				require.Len(t, central, 1)
				require.InDelta(t, float64(local[0].Value), float64(central[0].Value), float64(local[0].Value)*0.05,
					"series count of host %s: tokenpath %v, %s %v", h, local[0].Value, e.Name(), central[0].Value)
			}
			require.Empty(t, instant(t, api, `{__name__=~"tokenpath:.+", host!~"alpha|beta|gamma"}`, at), "every series names one of the hosts")
			// The same demo on three boxes: three of each vLLM series.
			running := instant(t, api, `count by (host) (tokenpath:requests_running{server="vllm"})`, at)
			require.Len(t, running, len(fleetHosts), "%v", running)
		})
		t.Run(e.Name()+"/dashboard queries per host", func(t *testing.T) {
			require.Empty(t, dashboardGaps(e.API(), dashboards, at))
		})
	}

	t.Run("query shape parity", func(t *testing.T) {
		queries := parityQueries()
		r := promv1.Range{Start: at.Add(-2 * time.Minute), End: at, Step: step}
		for _, name := range slices.Sorted(maps.Keys(queries)) {
			q := queries[name]
			t.Run(name, func(t *testing.T) {
				var want, wantRange shape
				for i, e := range engines {
					v, _, _, err := e.API().Query(ctxT(t), q, at)
					require.NoError(t, err, "%s: instant %s", e.Name(), q)
					m, _, _, err := e.API().QueryRange(ctxT(t), q, r)
					require.NoError(t, err, "%s: range %s", e.Name(), q)
					got, gotRange := shapeOf(v), shapeOf(m)
					if i == 0 {
						want, wantRange = got, gotRange
						continue
					}
					require.Empty(t, want.diff(got), "instant %s: %s against %s", q, e.Name(), engines[0].Name())
					require.Empty(t, wantRange.diff(gotRange), "range %s: %s against %s", q, e.Name(), engines[0].Name())
				}
				if why, ok := emptyInThisFleet[name]; ok {
					require.Empty(t, want.Series, "%s: %s; a test of it with data belongs here", q, why)
					return
				}
				if _, ok := sometimesEmpty[name]; ok {
					t.Logf("%s: %d series now (%s)", q, len(want.Series), sometimesEmpty[name])
					return
				}
				require.NotEmpty(t, want.Series, "instant %s has data", q)
				require.NotEmpty(t, wantRange.Series, "range %s has data", q)
			})
		}
	})

	for _, e := range engines {
		t.Run(e.Name()+"/fleet UI", func(t *testing.T) {
			fleetUIChecks(t, startFleet(t, e).URL())
		})
	}
}

// emptyInThisFleet are the table queries that have no data from three
// --demo tokenpaths with probes off; the parity check still requires both
// engines to agree on them.
var emptyInThisFleet = map[string]string{
	"table/probe_ttft": "the probes are off (--no-probe.enable)",
}

// sometimesEmpty are the table queries whose data comes and goes in the
// demo: they need not have data, but both engines must agree.
var sometimesEmpty = map[string]string{
	"table/gpu_throttle": "the demo's GPUs throttle now and then",
}

// dashboardQuery is one target of a generated Grafana dashboard.
type dashboardQuery struct {
	Dashboard, Panel, Expr string
}

// dashboardQueries reads every target of the generated dashboards.
func dashboardQueries(t *testing.T) []dashboardQuery {
	t.Helper()
	ds, err := grafana.Dashboards()
	require.NoError(t, err)
	var out []dashboardQuery
	for file, b := range ds {
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
			Templating struct {
				List []struct {
					Name string `json:"name"`
				} `json:"list"`
			} `json:"templating"`
		}
		require.NoError(t, json.Unmarshal(b, &d), file)
		var vars []string
		for _, v := range d.Templating.List {
			vars = append(vars, v.Name)
		}
		require.Contains(t, vars, panels.VarHost, "%s has a host variable", file)
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				require.Contains(t, tg.Expr, `host=~"$host"`, "%s: %s filters on the host", file, p.Title)
				out = append(out, dashboardQuery{Dashboard: file, Panel: p.Title, Expr: tg.Expr})
			}
		}
	}
	require.Greater(t, len(out), 20)
	return out
}

// dashboardGaps runs every dashboard query with its host variable set to
// each host in turn and names those that return no data, or data of another
// host.
func dashboardGaps(api promv1.API, qs []dashboardQuery, at time.Time) []string {
	var gaps []string
	for _, q := range qs {
		for _, h := range fleetHosts {
			// A dashboard over a short range: the 1 m series (the 5 m long-range group has
			// not run yet in a test this young).
			expr := panels.Expand(q.Expr, map[string]string{
				panels.VarHost: panels.Regex(h), panels.VarBucketRate: "rate1m", panels.VarQuantile: "histogram_quantile",
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			v, _, _, err := api.Query(ctx, expr, at)
			cancel()
			vec, _ := v.(model.Vector)
			switch {
			case err != nil:
				gaps = append(gaps, fmt.Sprintf("%s %q host %s: %v", q.Dashboard, q.Panel, h, err))
			case len(vec) == 0:
				gaps = append(gaps, fmt.Sprintf("%s %q host %s: no data", q.Dashboard, q.Panel, h))
			}
			for _, s := range vec {
				if got, ok := s.Metric["host"]; ok && string(got) != h {
					gaps = append(gaps, fmt.Sprintf("%s %q host %s: a series of host %s", q.Dashboard, q.Panel, h, got))
				}
			}
		}
	}
	return gaps
}

// parityQueries are every chart query (each panel of grafana/panels, for
// all hosts and for each host) and every table query of the UI.
func parityQueries() map[string]string {
	out := map[string]string{}
	for _, set := range [][]panels.Panel{panels.TokenPath(), panels.Latency(), panels.GPU()} {
		for _, p := range set {
			for i, q := range p.Queries {
				out[fmt.Sprintf("chart/%s/%d/all", p.ID, i)] = panels.Expand(q.Expr, nil)
				for _, h := range fleetHosts {
					out[fmt.Sprintf("chart/%s/%d/%s", p.ID, i, h)] = panels.Expand(q.Expr, map[string]string{panels.VarHost: panels.Regex(h)})
				}
			}
		}
	}
	for name, q := range web.TableQueries() {
		out["table/"+name] = q
	}
	return out
}

// shape is a query result reduced to what a chart or table reads: the result
// type and, per label set, the value at each timestamp.
type shape struct {
	Type   string
	Series map[string]map[model.Time]float64
}

func shapeOf(v model.Value) shape {
	s := shape{Series: map[string]map[model.Time]float64{}}
	if v == nil {
		return s
	}
	s.Type = v.Type().String()
	switch v := v.(type) {
	case model.Vector:
		for _, x := range v {
			s.Series[x.Metric.String()] = map[model.Time]float64{x.Timestamp: float64(x.Value)}
		}
	case model.Matrix:
		for _, x := range v {
			pts := map[model.Time]float64{}
			for _, p := range x.Values {
				pts[p.Timestamp] = float64(p.Value)
			}
			s.Series[x.Metric.String()] = pts
		}
	case *model.Scalar:
		s.Series[""] = map[model.Time]float64{v.Timestamp: float64(v.Value)}
	}
	return s
}

// diff names the differences of o from s (at most ten): result type, label
// sets only one has, timestamps only one has, and values that differ by more
// than one part in a billion (VictoriaMetrics keeps 15 significant digits at
// best, as it stores floats as decimals).
func (s shape) diff(o shape) []string {
	var out []string
	add := func(f string, a ...any) {
		if len(out) < 10 {
			out = append(out, fmt.Sprintf(f, a...))
		}
	}
	if s.Type != o.Type {
		add("result type %s, want %s", o.Type, s.Type)
	}
	keys := map[string]bool{}
	for k := range s.Series {
		keys[k] = true
	}
	for k := range o.Series {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		a, inS := s.Series[k]
		b, inO := o.Series[k]
		switch {
		case !inO:
			add("missing series %s", k)
		case !inS:
			add("extra series %s", k)
		default:
			for ts, av := range a {
				bv, ok := b[ts]
				switch {
				case !ok:
					add("%s: no point at %s", k, ts)
				case !(math.IsNaN(av) && math.IsNaN(bv)) && math.Abs(av-bv) > 1e-9*math.Max(1, math.Abs(av)):
					add("%s at %s: %g, want %g", k, ts, bv, av)
				}
			}
			for ts := range b {
				if _, ok := a[ts]; !ok {
					add("%s: extra point at %s", k, ts)
				}
			}
		}
	}
	return out
}

// fleetUIChecks opens every page of a `tokenpath fleet` in Chromium: charts
// painted with all three hosts, heatmap cells drawn, and the host selector
// narrowing every chart to the chosen host.
func fleetUIChecks(t *testing.T, base string) {
	b := newFleetBrowser(t)
	chartPages := []string{"/", "/latency", "/gpu"}
	for _, path := range append(slices.Clone(chartPages), "/alerts", "/explore") {
		t.Run("page "+path, func(t *testing.T) {
			b.open(t, base+path+"?range=5m")
			states := b.eval(t, `Object.fromEntries([...document.querySelectorAll('[data-chart]')].map(e => [JSON.parse(e.dataset.chart).id, e.dataset.state]))`).(map[string]any)
			if !slices.Contains(chartPages, path) {
				require.Empty(t, states, path)
				return
			}
			require.NotEmpty(t, states)
			for id, s := range states {
				require.Equal(t, "drawn", s, "chart %s on %s", id, path)
			}
			require.ElementsMatch(t, fleetHosts, b.chartHosts(t), "hosts in the chart legends of %s", path)
			if path != "/gpu" {
				for id, n := range b.heatCells(t) {
					require.Positive(t, n, "heatmap %s has cells", id)
				}
			}
		})
	}
	t.Run("explore sees every host", func(t *testing.T) {
		b.open(t, base+"/explore?range=5m&expr="+url.QueryEscape(`count by (host) (tokenpath:requests_running)`))
		b.WaitTrue(t, `document.body.dataset.explore === 'done'`)
		text := b.eval(t, `document.querySelector('[data-testid="explore-table"]').innerText`).(string)
		for _, h := range fleetHosts {
			require.Contains(t, text, `host="`+h+`"`)
		}
	})
	t.Run("host selector narrows the charts", func(t *testing.T) {
		for _, path := range chartPages {
			b.open(t, base+path+"?range=5m")
			options := b.eval(t, `[...document.querySelectorAll('[data-testid="filter-host"] option')].map(o => o.value).filter(v => v)`)
			require.ElementsMatch(t, []any{"alpha", "beta", "gamma"}, options, "host options on %s", path)
			// The change submits the controls form: dispatch it after
			// Evaluate returns, since the navigation would cut it short.
			b.eval(t, `setTimeout(() => { const s = document.querySelector('[data-testid="filter-host"]'); s.value = 'beta'; s.dispatchEvent(new Event('change')); }, 0), true`)
			b.WaitTrue(t, `new URLSearchParams(location.search).get('host') === 'beta' && !!(window.tokenpath && window.tokenpath.ready)`)
			b.eval(t, `window.tokenpath.ready.then(() => true)`)
			require.Equal(t, []string{"beta"}, b.chartHosts(t), "hosts in the chart legends of %s?host=beta", path)
			if path != "/gpu" {
				for id, n := range b.heatCells(t) {
					require.Positive(t, n, "heatmap %s of host beta has cells", id)
				}
			}
		}
	})
}

// fleetBrowser is a headless Chromium tab on the fleet UI.
type fleetBrowser struct{ *testbin.Browser }

func newFleetBrowser(t *testing.T) *fleetBrowser {
	t.Helper()
	return &fleetBrowser{testbin.NewBrowser(t)}
}

func (b *fleetBrowser) eval(t *testing.T, expr string) any {
	t.Helper()
	return testbin.Eval[any](t, b.Browser, expr)
}

// open navigates and waits until every chart has loaded.
func (b *fleetBrowser) open(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Navigate(url))
	require.NoError(t, err, url)
	b.WaitTrue(t, `document.readyState === 'complete' && window.tokenpath && window.tokenpath.ready`)
	b.eval(t, `window.tokenpath.ready.then(() => true)`)
}

// chartHosts are the hosts named by the legends of the drawn line charts
// of grafana/panels: each of their legends starts with {{host}}. (The UI's
// own charts, such as the GPU clocks, are not from there.)
func (b *fleetBrowser) chartHosts(t *testing.T) []string {
	t.Helper()
	v := b.eval(t, `Object.fromEntries(Object.values(window.tokenpath.charts).filter(c => c.plot && c.cfg.kind === 'timeseries')
	  .map(c => [c.cfg.id, c.plot.series.slice(1).map(s => s.label)]))`)
	hosts := map[string]bool{}
	for id, labels := range v.(map[string]any) {
		if _, ok := panels.Find(id); !ok {
			continue
		}
		for _, l := range labels.([]any) {
			hosts[strings.Fields(l.(string))[0]] = true
		}
	}
	out := make([]string, 0, len(hosts))
	for h := range hosts {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// heatCells counts the cells each heatmap drew.
func (b *fleetBrowser) heatCells(t *testing.T) map[string]float64 {
	t.Helper()
	v := b.eval(t, `Object.fromEntries(Object.values(window.tokenpath.charts).filter(c => c.cfg.kind === 'heatmap').map(c => [c.cfg.id, c.cells.length]))`)
	out := map[string]float64{}
	for k, n := range v.(map[string]any) {
		out[k] = n.(float64)
	}
	require.NotEmpty(t, out, "heatmaps on the page")
	return out
}
