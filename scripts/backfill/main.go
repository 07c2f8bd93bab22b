// Command backfill writes a history of the benchmark box into a TSDB data
// directory with Prometheus' own TSDB (head, WAL and compaction into 2h, 6h
// and 18h blocks, as a server that had been running would leave them) and
// evaluates tokenpath's exported rules over it with Prometheus' rule groups,
// so the recorded tokenpath:* series the dashboards read exist for the whole
// range. The series come from two expositions scraped from the live
// benchmark targets (one vLLM model, one GPU box): every vLLM series is
// repeated for --servers × --models, counters grow at the snapshot's rate
// times a daily load curve, gauges follow the same curve. A benchmark tool,
// not part of tokenpath; scripts/bench-history.sh runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

type options struct {
	out, vllmFile, gpuFile, rulesGlob string
	servers, models                   int
	duration, scrape, eval            time.Duration
	snapshotAge                       time.Duration
	end                               int64
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "", "TSDB data directory to write (must not exist)")
	flag.StringVar(&o.vllmFile, "vllm", "", "exposition of one simulated vLLM model (model_name=\"model-0\")")
	flag.StringVar(&o.gpuFile, "gpu", "", "exposition of the simulated GPU box")
	flag.StringVar(&o.rulesGlob, "rules", "", "rule files to evaluate over the history (glob); empty: none")
	flag.IntVar(&o.servers, "servers", 8, "simulated vLLM servers")
	flag.IntVar(&o.models, "models", 16, "models per server")
	flag.DurationVar(&o.duration, "duration", 7*24*time.Hour, "length of the history")
	flag.DurationVar(&o.scrape, "scrape-interval", 15*time.Second, "sample spacing")
	flag.DurationVar(&o.eval, "eval-interval", 15*time.Second, "rule evaluation spacing of the groups without an interval of their own")
	flag.DurationVar(&o.snapshotAge, "snapshot-age", 30*time.Second, "how long the targets had run when the expositions were taken (their counters ÷ this = rate)")
	flag.Int64Var(&o.end, "end", 0, "end of the history, Unix seconds (0: now)")
	flag.Parse()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// series is one generated series: its labels, kind and snapshot value.
type series struct {
	lset    labels.Labels
	counter bool
	fixed   bool // info-like gauges (0 or 1, *_info) keep their value
	ratio   bool // gauges that cannot exceed 1
	value   float64
	phase   float64 // of the load curve: each server and model has its own
	ref     storage.SeriesRef
}

func run(o options) error {
	if o.out == "" || o.vllmFile == "" || o.gpuFile == "" {
		return errors.New("--out, --vllm and --gpu are required")
	}
	if o.scrape <= 0 || o.eval <= 0 || o.duration <= 0 || o.eval%o.scrape != 0 {
		return errors.New("--duration, --scrape-interval and --eval-interval must be positive and --eval-interval a multiple of --scrape-interval")
	}
	if _, err := os.Stat(o.out); err == nil {
		return fmt.Errorf("--out=%q exists; backfill writes a fresh data directory", o.out)
	}
	vllm, err := readFamilies(o.vllmFile)
	if err != nil {
		return err
	}
	gpu, err := readFamilies(o.gpuFile)
	if err != nil {
		return err
	}
	var all []*series
	all = append(all, expand(gpu, "127.0.0.1:20200", nil, 0)...)
	for s := range o.servers {
		inst := "127.0.0.1:" + strconv.Itoa(20201+s)
		for m := range o.models {
			phase := 2 * math.Pi * float64(s*o.models+m) / float64(o.servers*o.models)
			all = append(all, expand(vllm, inst, map[string]string{"model_name": "model-" + strconv.Itoa(m)}, phase)...)
		}
	}
	for s := range o.servers + 1 {
		all = append(all, &series{lset: labels.FromStrings("__name__", "up", "job", "bench", "instance", "127.0.0.1:"+strconv.Itoa(20200+s)), fixed: true, value: 1})
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The layout a server with the default 15 d retention leaves: blocks
	// compacted up to a tenth of the retention (2 h, 6 h, 18 h).
	dbOpts := tsdb.DefaultOptions()
	dbOpts.MaxBlockDuration = (36 * time.Hour).Milliseconds()
	db, err := tsdb.Open(o.out, logger, nil, dbOpts, nil)
	if err != nil {
		return fmt.Errorf("--out=%q: %w", o.out, err)
	}
	defer db.Close()

	end := o.end
	if end == 0 {
		end = time.Now().Unix()
	}
	step := int64(o.scrape / time.Millisecond)
	endMs := end * 1000 / step * step
	startMs := endMs - int64(o.duration/time.Millisecond)

	groups, err := loadGroups(o, db)
	if err != nil {
		return err
	}
	ctx := context.Background()
	began := time.Now()
	// Each group at its own interval, as the rule manager runs it (the
	// long-range group's 5 m), else at --eval-interval.
	for _, g := range groups {
		if g.Interval()%o.scrape != 0 {
			return fmt.Errorf("--rules: group %s: interval %s is not a multiple of --scrape-interval %s", g.Name(), g.Interval(), o.scrape)
		}
	}
	var n int64
	for i, t := int64(0), startMs; t <= endMs; i, t = i+1, t+step {
		app := db.Appender(ctx)
		for _, s := range all {
			ref, err := app.Append(s.ref, s.lset, t, s.at(t, o.snapshotAge))
			if err != nil {
				return fmt.Errorf("appending %s at %d: %w", s.lset, t, err)
			}
			s.ref = ref
		}
		if err := app.Commit(); err != nil {
			return fmt.Errorf("committing at %d: %w", t, err)
		}
		n += int64(len(all))
		for _, g := range groups {
			if (t-startMs)%g.Interval().Milliseconds() == 0 {
				g.Eval(ctx, time.UnixMilli(t))
			}
		}
		if i%(int64(time.Hour/o.scrape)*6) == 0 {
			fmt.Fprintf(os.Stderr, "backfill: %s of %s, %d samples, %s\n",
				time.Duration(t-startMs)*time.Millisecond, o.duration, n, time.Since(began).Round(time.Second))
		}
	}
	if err := db.Compact(ctx); err != nil {
		return fmt.Errorf("compacting: %w", err)
	}
	fmt.Printf("series=%d raw_samples=%d start=%d end=%d rule_groups=%d elapsed=%s\n",
		len(all), n, startMs/1000, endMs/1000, len(groups), time.Since(began).Round(time.Second))
	return nil
}

// at is the series' value at t (ms): the load curve is 1 + 0.5·sin over a
// day; a counter is its snapshot rate times the curve's integral.
func (s *series) at(t int64, age time.Duration) float64 {
	const day = 86400.0
	w := 2 * math.Pi / day
	sec := float64(t) / 1000
	switch {
	case s.fixed:
		return s.value
	case s.counter:
		integral := sec + 0.5/w*(math.Cos(s.phase)-math.Cos(w*sec+s.phase))
		return math.Floor(s.value / age.Seconds() * integral)
	default:
		v := s.value * (1 + 0.5*math.Sin(w*sec+s.phase)) * (1 + 0.03*math.Sin(sec/37+s.phase))
		if s.ratio {
			v = math.Min(v, 1)
		}
		return v
	}
}

func readFamilies(file string) (map[string]*dto.MetricFamily, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return fams, nil
}

// expand turns the families into series as a scrape of instance by job
// "bench" stores them, with the given labels replaced.
func expand(fams map[string]*dto.MetricFamily, instance string, set map[string]string, phase float64) []*series {
	var out []*series
	for _, name := range slices.Sorted(maps.Keys(fams)) {
		mf := fams[name]
		for _, m := range mf.GetMetric() {
			base := map[string]string{"job": "bench", "instance": instance}
			for _, lp := range m.GetLabel() {
				base[lp.GetName()] = lp.GetValue()
			}
			for k, v := range set {
				if _, ok := base[k]; ok {
					base[k] = v
				}
			}
			mk := func(metric string, extra map[string]string, v float64, counter bool) {
				b := labels.NewBuilder(labels.EmptyLabels())
				for k, val := range base {
					b.Set(k, val)
				}
				for k, val := range extra {
					b.Set(k, val)
				}
				b.Set("__name__", metric)
				s := &series{lset: b.Labels(), counter: counter, value: v, phase: phase}
				if !counter {
					s.fixed = strings.HasSuffix(metric, "_info") || v == 0 || v == 1
					s.ratio = strings.Contains(metric, "perc") || strings.Contains(metric, "ratio")
				}
				out = append(out, s)
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				mk(name, nil, m.GetCounter().GetValue(), true)
			case dto.MetricType_GAUGE:
				mk(name, nil, m.GetGauge().GetValue(), false)
			case dto.MetricType_UNTYPED:
				mk(name, nil, m.GetUntyped().GetValue(), false)
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					mk(name+"_bucket", map[string]string{"le": formatLe(b.GetUpperBound())}, float64(b.GetCumulativeCount()), true)
				}
				mk(name+"_bucket", map[string]string{"le": "+Inf"}, float64(h.GetSampleCount()), true)
				mk(name+"_sum", nil, h.GetSampleSum(), true)
				mk(name+"_count", nil, float64(h.GetSampleCount()), true)
			}
		}
	}
	return out
}

// formatLe writes a bucket bound as Prometheus 3's scrape stores it
// (OpenMetrics float form: a whole number keeps ".0").
func formatLe(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") && !math.IsInf(f, 0) {
		s += ".0"
	}
	return s
}

// loadGroups reads the exported rule files into Prometheus rule groups that
// query and append to db; alerts go nowhere.
func loadGroups(o options, db *tsdb.DB) ([]*promrules.Group, error) {
	if o.rulesGlob == "" {
		return nil, nil
	}
	files, err := filepath.Glob(o.rulesGlob)
	if err != nil {
		return nil, fmt.Errorf("--rules=%q: %w", o.rulesGlob, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--rules=%q: no files match", o.rulesGlob)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		MaxSamples: 50_000_000, Timeout: 2 * time.Minute, LookbackDelta: 5 * time.Minute,
		EnableAtModifier: true, EnableNegativeOffset: true,
	})
	p := parser.NewParser(parser.Options{})
	m := promrules.NewManager(&promrules.ManagerOptions{
		NameValidationScheme: model.UTF8Validation,
		QueryFunc:            promrules.EngineQueryFunc(engine, db),
		NotifyFunc:           func(context.Context, string, ...*promrules.Alert) {},
		Context:              context.Background(),
		AppendableV2:         db,
		Queryable:            db,
		Logger:               slog.New(slog.DiscardHandler),
		Parser:               p,
		ResendDelay:          time.Minute,
	})
	loaded, errs := m.LoadGroups(o.eval, labels.EmptyLabels(), "http://127.0.0.1:9090", nil, false, files...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("--rules=%q: %v", o.rulesGlob, errs)
	}
	groups := make([]*promrules.Group, 0, len(loaded))
	for _, k := range slices.Sorted(maps.Keys(loaded)) {
		groups = append(groups, loaded[k])
	}
	return groups, nil
}
