package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/ritwikareddykancharla/token-path-observability/gpu"
	"github.com/ritwikareddykancharla/token-path-observability/gpu/procmap"
	"github.com/ritwikareddykancharla/token-path-observability/scrape"
	"github.com/ritwikareddykancharla/token-path-observability/sim"
)

// Steps of the backfill: raw samples every demoBackfillScrape (the rules' 1-minute rates
// need two samples in a minute), the embedded rules every demoBackfillEval: a 24 h chart
// draws a point every few minutes, the 5-minute lookback joins the points, and evaluating
// every rule at every scrape would take most of the backfill's time.
const (
	demoBackfillScrape = 30 * time.Second
	demoBackfillEval   = 5 * time.Minute
	demoBackfillMargin = 15 * time.Minute
	// demoBackfillScratch names the scratch directory inside the data directory.
	demoBackfillScratch = "demo-backfill-*.tmp"
)

// backfillReport says what a backfill wrote.
type backfillReport struct {
	From, To time.Time
	Samples  int
	Blocks   int
	Took     time.Duration
	Raw      time.Duration // of Took, simulating and appending the scrapes
}

// backfill writes d.flags.backfill of simulated history, ending now, into the TSDB at
// dataDir before it is opened: the scrape targets' samples (the same simulators — engine,
// seed, model — run on a simulated clock through the same scenario schedule, gathered
// every 30 s and labelled as the demo's scrape jobs label them) and the series the
// embedded rules (ruleFiles) record and the alerts they raise, evaluated over that data
// every minute in time order, as the rule manager would have. Everything goes into a
// scratch TSDB inside dataDir, through its appender; its blocks are then moved into
// dataDir, so the history reaches neither the live WAL nor remote write. A dataDir that
// already holds data (a restarted demo) is left alone. With gpus set (--gpu.enable), the
// simulated GPUs' series are backfilled too, as tokenpath's self-scrape stores them.
func (d *demo) backfill(ctx context.Context, dataDir string, ruleFiles map[string][]byte, gpus *backfillGPUs) (*backfillReport, error) {
	span := d.flags.backfill
	if span <= 0 {
		return nil, nil
	}
	if has, err := tsdbHasData(dataDir); err != nil || has {
		if has {
			d.logger.Info("Not backfilling: the TSDB already holds data", "path", dataDir)
		}
		return nil, err
	}
	// A backfill cut short (the process killed) leaves its scratch directory behind.
	if stale, err := filepath.Glob(filepath.Join(dataDir, demoBackfillScratch)); err == nil {
		for _, dir := range stale {
			if err := os.RemoveAll(dir); err != nil {
				return nil, fmt.Errorf("--demo.backfill: removing %s: %w", dir, err)
			}
		}
	}
	began := time.Now()
	to := began.Truncate(demoBackfillScrape)
	// A few minutes more than asked, so that a range of exactly `span` ending a little
	// later still finds the rules' first points (their 5-minute windows need data first).
	from := to.Add(-span - demoBackfillMargin)
	scratch, err := os.MkdirTemp(dataDir, demoBackfillScratch)
	if err != nil {
		return nil, fmt.Errorf("--demo.backfill: %w", err)
	}
	defer os.RemoveAll(scratch)

	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = 0
	// The rules' series are appended after the raw day, each from its beginning: older than
	// the in-order head accepts, so the scratch TSDB takes out-of-order samples.
	opts.OutOfOrderTimeWindow = (span + time.Hour).Milliseconds()
	db, err := tsdb.Open(filepath.Join(scratch, "db"), slog.New(slog.DiscardHandler), nil, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("--demo.backfill: opening a scratch TSDB in %s: %w", scratch, err)
	}
	// Compactions run when this code asks for them, not beside its appends.
	db.DisableCompactions()
	closeDB := func() error {
		if db == nil {
			return nil
		}
		err := db.Close()
		db = nil
		return err
	}
	defer closeDB() //nolint:errcheck // closed and checked below; this only runs on an error path

	groups, err := loadBackfillRules(ctx, db, scratch, ruleFiles)
	if err != nil {
		return nil, err
	}
	report := &backfillReport{From: from, To: to}
	if err := d.backfillInto(ctx, db, from, to, report, gpus); err != nil {
		return nil, err
	}
	report.Raw = time.Since(began)
	if err := recordBackfill(ctx, db, groups, from, to, report); err != nil {
		return nil, err
	}
	// Persist the head too, then hand every block to the real TSDB.
	head := db.Head()
	if head.NumSeries() > 0 {
		if err := db.CompactHead(tsdb.NewRangeHead(head, head.MinTime(), head.MaxTime())); err != nil {
			return nil, fmt.Errorf("--demo.backfill: persisting the last hours: %w", err)
		}
	}
	// The rules' series went into the out-of-order head.
	if err := db.CompactOOOHead(ctx); err != nil {
		return nil, fmt.Errorf("--demo.backfill: persisting the rules' series: %w", err)
	}
	blocks := db.Blocks()
	dirs := make([]string, 0, len(blocks))
	for _, b := range blocks {
		dirs = append(dirs, b.Dir())
	}
	if err := closeDB(); err != nil {
		return nil, fmt.Errorf("--demo.backfill: closing the scratch TSDB: %w", err)
	}
	for _, dir := range dirs {
		if err := os.Rename(dir, filepath.Join(dataDir, filepath.Base(dir))); err != nil {
			return nil, fmt.Errorf("--demo.backfill: moving block %s into --storage.tsdb.path: %w", dir, err)
		}
	}
	report.Blocks = len(dirs)
	report.Took = time.Since(began)
	d.logger.Info("Backfilled simulated history", "from", from, "to", to, "samples", report.Samples,
		"blocks", report.Blocks, "took", report.Took, "scrapes_took", report.Raw)
	return report, nil
}

// recordBackfill evaluates every recording rule of groups over [from, to] as one range
// query with a step of demoBackfillEval, rule after rule in the order the rule manager
// runs them, and appends the results before the next rule reads them — the way `promtool
// tsdb create-blocks-from rules` does, with the rules that read other rules' series in
// order. Alerting rules are left out (as promtool leaves them out): an alert's state over
// the day would need evaluation step by step, several times slower.
func recordBackfill(ctx context.Context, db *tsdb.DB, groups []*promrules.Group, from, to time.Time, report *backfillReport) error {
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples: 50_000_000, Timeout: 5 * time.Minute, LookbackDelta: 5 * time.Minute,
		EnableAtModifier: true, EnableNegativeOffset: true,
	})
	start := from.Truncate(demoBackfillEval).Add(demoBackfillEval)
	var all []*promrules.RecordingRule
	for _, g := range groups {
		for _, r := range g.Rules() {
			if rec, ok := r.(*promrules.RecordingRule); ok {
				all = append(all, rec)
			}
		}
	}
	for _, rec := range dependencyOrder(all) {
		q, err := engine.NewRangeQuery(ctx, db, nil, rec.Query().String(), start, to, demoBackfillEval)
		if err != nil {
			return fmt.Errorf("--demo.backfill: rule %s: %w", rec.Name(), err)
		}
		res := q.Exec(ctx)
		if res.Err != nil {
			q.Close()
			return fmt.Errorf("--demo.backfill: rule %s: %w", rec.Name(), res.Err)
		}
		matrix, err := res.Matrix()
		if err != nil {
			q.Close()
			return fmt.Errorf("--demo.backfill: rule %s: %w", rec.Name(), err)
		}
		app := db.Appender(ctx)
		for _, series := range matrix {
			b := labels.NewBuilder(series.Metric)
			b.Set(model.MetricNameLabel, rec.Name())
			rec.Labels().Range(func(l labels.Label) { b.Set(l.Name, l.Value) })
			lset := b.Labels()
			var ref storage.SeriesRef
			for _, p := range series.Floats {
				if ref, err = app.Append(ref, lset, p.T, p.F); err != nil {
					_ = app.Rollback()
					q.Close()
					return fmt.Errorf("--demo.backfill: rule %s: %w", rec.Name(), err)
				}
				report.Samples++
			}
		}
		q.Close()
		if err := app.Commit(); err != nil {
			return fmt.Errorf("--demo.backfill: rule %s: %w", rec.Name(), err)
		}
	}
	return nil
}

// dependencyOrder orders recording rules so that a rule comes after every rule whose
// series it reads, and otherwise keeps their order: the live rule manager evaluates its
// groups over and over, so a group may read one that comes later; one pass over the
// backfilled day has to follow the data. A rule that reads its own name (the diagnosis
// reads the causes before it) depends only on the rules of that name before it.
func dependencyOrder(rules []*promrules.RecordingRule) []*promrules.RecordingRule {
	reads := make([]map[string]bool, len(rules))
	for i, r := range rules {
		reads[i] = map[string]bool{}
		parser.Inspect(r.Query(), func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
				reads[i][vs.Name] = true
			}
			return nil
		})
	}
	done := make([]bool, len(rules))
	out := make([]*promrules.RecordingRule, 0, len(rules))
	for len(out) < len(rules) {
		progressed := false
		for i, r := range rules {
			if done[i] {
				continue
			}
			ready := true
			for j, dep := range rules {
				if j == i || done[j] || !reads[i][dep.Name()] {
					continue
				}
				if dep.Name() != r.Name() || j < i {
					ready = false
					break
				}
			}
			if ready {
				done[i], progressed = true, true
				out = append(out, r)
				break
			}
		}
		if !progressed { // a cycle: keep the rest in their order
			for i, r := range rules {
				if !done[i] {
					done[i] = true
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// tsdbHasData reports whether dir holds a block or WAL segments.
func tsdbHasData(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("--demo.backfill: reading --storage.tsdb.path: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if e.Name() == "wal" {
			segs, err := os.ReadDir(filepath.Join(dir, "wal"))
			if err != nil {
				return false, fmt.Errorf("--demo.backfill: reading the WAL: %w", err)
			}
			for _, s := range segs {
				if info, err := s.Info(); err == nil && !s.IsDir() && info.Size() > 0 {
					return true, nil
				}
			}
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "meta.json")); err == nil {
			return true, nil
		}
	}
	return false, nil
}

// loadBackfillRules loads the embedded rule files into rule groups that query and write db.
func loadBackfillRules(ctx context.Context, db *tsdb.DB, scratch string, files map[string][]byte) ([]*promrules.Group, error) {
	dir := filepath.Join(scratch, "rules")
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // G301: a scratch directory inside the data directory
		return nil, fmt.Errorf("--demo.backfill: %w", err)
	}
	names := make([]string, 0, len(files))
	byPath := make(map[string][]byte, len(files))
	for name, content := range files {
		path := filepath.Join(dir, filepath.Base(name))
		byPath[path] = content
		if err := os.WriteFile(path, content, 0o644); err != nil { //nolint:gosec // G306: rule files are not secret
			return nil, fmt.Errorf("--demo.backfill: %w", err)
		}
		names = append(names, path)
	}
	sort.Strings(names)
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples: 50_000_000, Timeout: 2 * time.Minute, LookbackDelta: 5 * time.Minute,
		EnableAtModifier: true, EnableNegativeOffset: true,
	})
	mgr := promrules.NewManager(&promrules.ManagerOptions{
		Context:      ctx,
		QueryFunc:    promrules.EngineQueryFunc(engine, db),
		NotifyFunc:   func(context.Context, string, ...*promrules.Alert) {},
		AppendableV2: db,
		Queryable:    db,
		Registerer:   prometheus.NewRegistry(),
		Logger:       slog.New(slog.DiscardHandler),
	})
	byName, errs := mgr.LoadGroups(demoBackfillEval, labels.EmptyLabels(), "", nil, false, names...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("--demo.backfill: loading the embedded rules: %w", errors.Join(errs...))
	}
	// Files in name order, groups in file order: the order in which the rule manager's
	// groups first run, so that a group reads what the groups before it recorded.
	groups := make([]*promrules.Group, 0, len(byName))
	for _, name := range names {
		rgs, errs := rulefmt.Parse(byPath[name], false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		if len(errs) > 0 {
			return nil, fmt.Errorf("--demo.backfill: %s: %w", name, errors.Join(errs...))
		}
		for _, rg := range rgs.Groups {
			if g, ok := byName[promrules.GroupKey(name, rg.Name)]; ok {
				groups = append(groups, g)
			}
		}
	}
	return groups, nil
}

// backfillInto appends what the demo's scrapes would have stored every 30 s from `from` to
// `to`. Fresh copies of the demo's simulators (same engine, seed and model) run one turn of
// the scenario schedule — the cycle, or an hour of the pinned scenario — on a simulated
// clock, starting where the schedule stands at `from`; the day is that turn over and over:
// gauges take the turn's values, counters (histogram buckets, sums and counts included) add
// the turn's increases, so they rise through the day, and start again from the turn's value
// where the turn's engine restarted.
// Simulating one turn instead of the whole day keeps the backfill to the cost of its
// appends. With gpus set, the simulated GPUs' turn (recordGPUTurn) follows the servers'.
func (d *demo) backfillInto(ctx context.Context, db *tsdb.DB, from, to time.Time, report *backfillReport, gpus *backfillGPUs) error {
	period := d.schedule.total
	turns := make([]*recordedTurn, len(d.servers))
	var wg sync.WaitGroup
	errs := make([]error, len(d.servers))
	for i, s := range d.servers {
		wg.Go(func() { turns[i], errs[i] = d.recordTurn(ctx, s, from, period) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("--demo.backfill: %w", err)
	}
	if gpus != nil {
		rt, err := d.recordGPUTurn(ctx, turns, from, period, gpus)
		if err != nil {
			return fmt.Errorf("--demo.backfill: simulated GPUs: %w", err)
		}
		turns = append(turns, rt)
	}
	slots := int(period / demoBackfillScrape)
	cum := make([][]float64, len(turns))
	refs := make([][]storage.SeriesRef, len(turns))
	for i, rt := range turns {
		cum[i] = make([]float64, len(rt.series))
		refs[i] = make([]storage.SeriesRef, len(rt.series))
	}
	j := 0
	for t := from; !t.After(to); t = t.Add(demoBackfillScrape) {
		if j%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		// Slot 0 of a later turn is the end of the turn before it.
		k := j % slots
		if k == 0 && j > 0 {
			k = slots
		}
		app := db.Appender(ctx)
		for i, rt := range turns {
			for _, v := range rt.obs[k] {
				val := v.value
				if rt.series[v.series].counter {
					if j == 0 || v.reset {
						cum[i][v.series] = v.value
					} else {
						cum[i][v.series] += v.increase
					}
					val = cum[i][v.series]
				}
				ref, err := app.Append(refs[i][v.series], rt.series[v.series].lset, t.UnixMilli(), val)
				if err != nil {
					_ = app.Rollback()
					return fmt.Errorf("--demo.backfill: appending %s: %w", rt.series[v.series].lset, err)
				}
				refs[i][v.series] = ref
				report.Samples++
			}
		}
		if err := app.Commit(); err != nil {
			return fmt.Errorf("--demo.backfill: %w", err)
		}
		j++
	}
	return nil
}

// recordedTurn is one turn of a simulated server's schedule as its scrapes saw it.
type recordedTurn struct {
	series []backfillSeries
	// obs[k] are the samples of the k-th scrape of the turn, k = 0…period/30 s (both ends).
	obs [][]turnSample
	// work[k] is what the server's GPUs did at the k-th scrape (gpuWorkOf its engine's
	// activity then); empty for the GPUs' own turn.
	work []gpu.SimulatedWork
	// index and last are the series seen so far, by flattenScrape's key, and each one's last
	// value, while the turn is recorded.
	index map[string]int
	last  map[int]float64
}

// add records one scrape of fams from target as the turn's next observation.
func (rt *recordedTurn) add(target map[string]string, fams []*dto.MetricFamily) {
	if rt.index == nil {
		rt.index, rt.last = map[string]int{}, map[int]float64{}
	}
	var samples []turnSample
	flattenScrape(target, fams, func(key string, build func() labels.Labels, counter bool, v float64) {
		i, ok := rt.index[key]
		if !ok {
			i = len(rt.series)
			rt.index[key] = i
			rt.series = append(rt.series, backfillSeries{lset: build(), counter: counter})
		}
		inc, reset := v, false
		if prev, ok := rt.last[i]; ok {
			if v >= prev {
				inc = v - prev
			} else {
				reset = true
			}
		}
		rt.last[i] = v
		samples = append(samples, turnSample{series: i, value: v, increase: inc, reset: reset})
	})
	// An engine restart resets every counter of the target at once. A counter that
	// happened to be 0 before the restart shows no decrease of its own; replayed with
	// its day's offset next to buckets that start again from their raw value, a
	// histogram's cumulative buckets would stop being cumulative.
	if slices.ContainsFunc(samples, func(s turnSample) bool { return s.reset }) {
		for k := range samples {
			if rt.series[samples[k].series].counter {
				samples[k].reset = true
			}
		}
	}
	rt.obs = append(rt.obs, samples)
}

// backfillSeries is one series of a recorded turn.
type backfillSeries struct {
	lset    labels.Labels
	counter bool
}

// turnSample is a series' value at one scrape of the turn and, for a counter, its increase
// since the scrape before, or that it went back (the engine restarted).
type turnSample struct {
	series   int
	value    float64
	increase float64
	reset    bool
}

// recordTurn runs a copy of s's simulator through one period of the schedule from `from`
// on a simulated clock, scraping it every 30 s.
func (d *demo) recordTurn(ctx context.Context, s *demoServer, from time.Time, period time.Duration) (*recordedTurn, error) {
	o := s.options
	o.Logger = slog.New(slog.DiscardHandler)
	o.Scenario = d.schedule.at(from)
	shadow, err := sim.New(o)
	if err != nil {
		return nil, err
	}
	rt := &recordedTurn{}
	target := s.targetLabels()
	err = shadow.RunVirtual(ctx, from, from.Add(period+demoBackfillScrape/2), demoBackfillScrape, func(t time.Time, reg prometheus.Gatherer) error {
		if sc := d.schedule.at(t); sc != shadow.Scenario() {
			if err := shadow.SetScenario(sc); err != nil {
				return err
			}
		}
		var fams []*dto.MetricFamily
		if reg != nil {
			var err error
			if fams, err = reg.Gather(); err != nil {
				return fmt.Errorf("gathering the simulated %s: %w", s.kind, err)
			}
		}
		rt.add(target, fams)
		rt.work = append(rt.work, gpuWorkOf(shadow.Activity()))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("simulated %s: %w", s.kind, err)
	}
	if want := int(period/demoBackfillScrape) + 1; len(rt.obs) != want {
		return nil, fmt.Errorf("simulated %s: %d scrapes in a turn, want %d", s.kind, len(rt.obs), want)
	}
	return rt, nil
}

// backfillGPUs says how the live tokenpath stores its simulated GPUs' series: the
// collector's options and the labels of the built-in self-scrape job that reads them.
type backfillGPUs struct {
	// instance is the self-scrape job's instance label: the public listen address.
	instance  string
	dcgmNames bool
}

// selfScrapeTarget is the labels server.SelfScrape.ScrapeConfig gives tokenpath's own series.
func (g *backfillGPUs) selfScrapeTarget() map[string]string {
	return map[string]string{"job": "tokenpath", "instance": g.instance, scrape.ServerLabel: "other"}
}

// recordGPUTurn runs the demo's eight simulated GPUs (gpu.NewSimulatedWorkAt, read by a
// gpu.Collector as the live one is, with the GPU mapping beside it) through the turn the servers' shadows recorded, on a
// simulated clock: at each 30 s step GPU i does what its server's engine did then
// (gpuServer, gpuWorkOf), and the collector's registry is gathered as the self-scrape
// would have. One gather half a step before `from` primes the GPM samples, so the first
// step already has GPM activity, as a live scrape after the first has.
func (d *demo) recordGPUTurn(ctx context.Context, servers []*recordedTurn, from time.Time, period time.Duration, g *backfillGPUs) (*recordedTurn, error) {
	// The clock and the step are read by the collector's per-GPU goroutines.
	var clock, step atomic.Int64
	clock.Store(from.Add(-demoBackfillScrape).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	work := func(i int) gpu.SimulatedWork {
		return servers[d.gpuServer(i)].work[step.Load()]
	}
	lib := gpu.NewSimulatedWorkAt(work, now)
	opts := gpu.DefaultCollectorOptions()
	opts.Library, opts.DCGMNames, opts.Now = lib, g.dcgmNames, now
	opts.Logger = slog.New(slog.DiscardHandler)
	c, err := gpu.NewCollector(opts)
	if err != nil {
		return nil, err
	}
	defer lib.Shutdown() //nolint:errcheck // the simulated library has nothing to release
	// The GPU mapping (gpu/procmap), registered beside the live collector the same way
	// (registerGPUMapping): the demo's servers listen already, so it finds them as the live
	// one will, tokenpath's own process on every simulated GPU.
	targets := make([]procmap.Target, 0, len(d.servers))
	for _, s := range d.servers {
		addr := s.listener.Addr().String()
		targets = append(targets, procmap.Target{Job: s.kind, Instance: addr, Address: addr})
	}
	mapping, err := procmap.New(procmap.Options{Targets: func() []procmap.Target { return targets }, GPUs: c})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	if err := reg.Register(mapping); err != nil {
		return nil, err
	}
	if _, err := reg.Gather(); err != nil {
		return nil, fmt.Errorf("gathering: %w", err)
	}
	rt := &recordedTurn{}
	target := g.selfScrapeTarget()
	slots := int(period / demoBackfillScrape)
	for k := 0; k <= slots; k++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		clock.Store(from.Add(time.Duration(k) * demoBackfillScrape).UnixNano())
		step.Store(int64(k))
		fams, err := reg.Gather()
		if err != nil {
			return nil, fmt.Errorf("gathering: %w", err)
		}
		rt.add(target, fams)
	}
	return rt, nil
}

// flattenScrape calls add for every sample a scrape of fams stores, as Prometheus' scrape
// loop stores them: the exposition's samples with the target's labels (job, instance, the
// configured labels; a clashing exposed label renamed exported_*), plus up (0 when fams is
// nil: /metrics answered 503). key identifies the series cheaply; build makes its labels.
func flattenScrape(target map[string]string, fams []*dto.MetricFamily, add func(key string, build func() labels.Labels, counter bool, v float64)) {
	series := func(name string, extra []*dto.LabelPair, le, quantile string, counter bool, v float64) {
		var key strings.Builder
		key.WriteString(name)
		for _, l := range extra {
			key.WriteByte(0xff)
			key.WriteString(l.GetValue())
		}
		key.WriteByte(0xfe)
		key.WriteString(le)
		key.WriteByte(0xfe)
		key.WriteString(quantile)
		add(key.String(), func() labels.Labels {
			b := labels.NewScratchBuilder(len(extra) + len(target) + 2)
			b.Add(model.MetricNameLabel, name)
			for _, l := range extra {
				k := l.GetName()
				if _, clash := target[k]; clash {
					k = model.ExportedLabelPrefix + k
				}
				b.Add(k, l.GetValue())
			}
			if le != "" {
				b.Add(model.BucketLabel, le)
			}
			if quantile != "" {
				b.Add(model.QuantileLabel, quantile)
			}
			for k, v := range target {
				b.Add(k, v)
			}
			b.Sort()
			return b.Labels()
		}, counter, v)
	}
	up := 0.0
	if fams != nil {
		up = 1
	}
	series("up", nil, "", "", false, up)
	for _, f := range fams {
		name := f.GetName()
		for _, m := range f.GetMetric() {
			ls := m.GetLabel()
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				series(name, ls, "", "", true, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				series(name, ls, "", "", false, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				series(name, ls, "", "", false, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					series(name+"_bucket", ls, formatBound(b.GetUpperBound()), "", true, float64(b.GetCumulativeCount()))
				}
				series(name+"_bucket", ls, "+Inf", "", true, float64(h.GetSampleCount()))
				series(name+"_sum", ls, "", "", true, h.GetSampleSum())
				series(name+"_count", ls, "", "", true, float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				sm := m.GetSummary()
				for _, q := range sm.GetQuantile() {
					series(name, ls, "", formatBound(q.GetQuantile()), false, q.GetValue())
				}
				series(name+"_sum", ls, "", "", true, sm.GetSampleSum())
				series(name+"_count", ls, "", "", true, float64(sm.GetSampleCount()))
			}
		}
	}
}

// formatBound writes a bucket bound or quantile as the text exposition does.
func formatBound(f float64) string {
	if math.IsInf(f, +1) {
		return "+Inf"
	}
	return model.SampleValue(f).String()
}

// backfillDemo runs the demo's backfill (nothing without --demo) with the embedded rules;
// selfInstance is the instance label of tokenpath's self-scrape, which stores the GPUs.
func (x *extras) backfillDemo(ctx context.Context, dataDir, selfInstance string) error {
	if x.demo == nil {
		return nil
	}
	files, err := x.embeddedRules()
	if err != nil {
		return fmt.Errorf("--demo.backfill: %w", err)
	}
	var gpus *backfillGPUs
	if x.flags.gpuEnabled {
		gpus = &backfillGPUs{instance: selfInstance, dcgmNames: x.flags.gpuDCGMNames}
	}
	_, err = x.demo.backfill(ctx, dataDir, files, gpus)
	return err
}
