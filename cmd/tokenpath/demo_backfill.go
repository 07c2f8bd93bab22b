package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
// already holds data (a restarted demo) is left alone.
func (d *demo) backfill(ctx context.Context, dataDir string, ruleFiles map[string][]byte) (*backfillReport, error) {
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
	began := time.Now()
	to := began.Truncate(demoBackfillScrape)
	// A few minutes more than asked, so that a range of exactly `span` ending a little
	// later still finds the rules' first points (their 5-minute windows need data first).
	from := to.Add(-span - demoBackfillMargin)
	scratch, err := os.MkdirTemp(dataDir, "demo-backfill-*.tmp")
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
	if err := d.backfillInto(ctx, db, from, to, report); err != nil {
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

// observation is one simulator's registry at one simulated time (nil: /metrics answered
// 503, the scrape failed).
type observation struct {
	t    time.Time
	fams []*dto.MetricFamily
	err  error
}

// backfillInto runs fresh copies of the demo's simulators on a simulated clock from `from`
// to `to`, appends what a scrape would have stored every 30 s and evaluates
// the rules every minute.
func (d *demo) backfillInto(ctx context.Context, db *tsdb.DB, from, to time.Time, report *backfillReport) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type runner struct {
		server *demoServer
		obs    chan observation
		done   chan error
	}
	runners := make([]*runner, len(d.servers))
	for i, s := range d.servers {
		o := s.options
		o.Logger = slog.New(slog.DiscardHandler)
		o.Scenario = d.schedule.at(from)
		shadow, err := sim.New(o)
		if err != nil {
			return fmt.Errorf("--demo.backfill: %w", err)
		}
		// A short buffer lets the simulators run ahead of the appends and rule evaluations
		// (on another core) while keeping memory bounded.
		r := &runner{server: s, obs: make(chan observation, 8), done: make(chan error, 1)}
		runners[i] = r
		go func() {
			r.done <- shadow.RunVirtual(ctx, from, to.Add(demoBackfillScrape), demoBackfillScrape, func(t time.Time, reg prometheus.Gatherer) error {
				if sc := d.schedule.at(t); sc != shadow.Scenario() {
					if err := shadow.SetScenario(sc); err != nil {
						return err
					}
				}
				ob := observation{t: t}
				if reg != nil {
					ob.fams, ob.err = reg.Gather()
				}
				select {
				case r.obs <- ob:
				case <-ctx.Done():
					return ctx.Err()
				}
				return nil
			})
			close(r.obs)
		}()
	}
	caches := make([]map[string]*cachedSeries, len(runners))
	for i := range caches {
		caches[i] = map[string]*cachedSeries{}
	}
	for t := from; !t.After(to); t = t.Add(demoBackfillScrape) {
		app := db.Appender(ctx)
		for i, r := range runners {
			ob, ok := <-r.obs
			if !ok {
				_ = app.Rollback()
				return fmt.Errorf("--demo.backfill: simulated %s stopped early: %w", r.server.kind, <-r.done)
			}
			if ob.err != nil {
				_ = app.Rollback()
				return fmt.Errorf("--demo.backfill: gathering the simulated %s: %w", r.server.kind, ob.err)
			}
			n, err := appendScrape(app, caches[i], r.server, ob)
			if err != nil {
				_ = app.Rollback()
				return fmt.Errorf("--demo.backfill: %w", err)
			}
			report.Samples += n
		}
		if err := app.Commit(); err != nil {
			return fmt.Errorf("--demo.backfill: %w", err)
		}
	}
	cancel()
	for _, r := range runners {
		for range r.obs { //nolint:revive // drain until the runner closes it
		}
		if err := <-r.done; err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("--demo.backfill: simulated %s: %w", r.server.kind, err)
		}
	}
	return nil
}

// cachedSeries is a series appendScrape has appended before: its labels and reference.
type cachedSeries struct {
	lset labels.Labels
	ref  storage.SeriesRef
}

// appendScrape appends one simulated scrape as Prometheus' scrape loop stores it: every
// sample of the exposition with the target's labels (job, instance and the configured
// labels; a clashing exposed label renamed exported_*), plus up.
func appendScrape(app storage.Appender, cache map[string]*cachedSeries, s *demoServer, ob observation) (int, error) {
	target := s.targetLabels()
	ts := ob.t.UnixMilli()
	n := 0
	add := func(name string, extra []*dto.LabelPair, le, quantile string, v float64) error {
		// The key is cheap to build; the label set is built once per series.
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
		c, ok := cache[key.String()]
		if !ok {
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
			c = &cachedSeries{lset: b.Labels()}
			cache[key.String()] = c
		}
		ref, err := app.Append(c.ref, c.lset, ts, v)
		if err != nil {
			return fmt.Errorf("appending %s at %s: %w", c.lset, ob.t, err)
		}
		c.ref = ref
		n++
		return nil
	}
	up := 0.0
	if ob.fams != nil {
		up = 1
	}
	if err := add("up", nil, "", "", up); err != nil {
		return n, err
	}
	for _, f := range ob.fams {
		name := f.GetName()
		for _, m := range f.GetMetric() {
			var err error
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				err = add(name, m.GetLabel(), "", "", m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				err = add(name, m.GetLabel(), "", "", m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				err = add(name, m.GetLabel(), "", "", m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					if err = add(name+"_bucket", m.GetLabel(), formatBound(b.GetUpperBound()), "", float64(b.GetCumulativeCount())); err != nil {
						break
					}
				}
				if err == nil {
					err = add(name+"_bucket", m.GetLabel(), "+Inf", "", float64(h.GetSampleCount()))
				}
				if err == nil {
					err = add(name+"_sum", m.GetLabel(), "", "", h.GetSampleSum())
				}
				if err == nil {
					err = add(name+"_count", m.GetLabel(), "", "", float64(h.GetSampleCount()))
				}
			case dto.MetricType_SUMMARY:
				sm := m.GetSummary()
				for _, q := range sm.GetQuantile() {
					if err = add(name, m.GetLabel(), "", formatBound(q.GetQuantile()), q.GetValue()); err != nil {
						break
					}
				}
				if err == nil {
					err = add(name+"_sum", m.GetLabel(), "", "", sm.GetSampleSum())
				}
				if err == nil {
					err = add(name+"_count", m.GetLabel(), "", "", float64(sm.GetSampleCount()))
				}
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// formatBound writes a bucket bound or quantile as the text exposition does.
func formatBound(f float64) string {
	if math.IsInf(f, +1) {
		return "+Inf"
	}
	return model.SampleValue(f).String()
}

// backfillDemo runs the demo's backfill (nothing without --demo) with the embedded rules.
func (x *extras) backfillDemo(ctx context.Context, dataDir string) error {
	if x.demo == nil {
		return nil
	}
	files, err := x.embeddedRules()
	if err != nil {
		return fmt.Errorf("--demo.backfill: %w", err)
	}
	_, err = x.demo.backfill(ctx, dataDir, files)
	return err
}
