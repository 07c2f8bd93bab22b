package probe

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Manager. Zero fields take defaults.
type Options struct {
	// Logger receives one line per failed probe (debug) and per outcome
	// change (warn/info); nil discards.
	Logger *slog.Logger
	// Registerer receives the tokenpath_probe_* collectors; nil registers
	// nothing.
	Registerer prometheus.Registerer
	// Client sends the probes. nil uses a client of its own whose transport
	// opens a new connection for every request, so that each probe pays what
	// a new user pays and no idle connection outlives Run. A given client's
	// own Timeout should be zero or longer than every probe's timeout.
	Client *http.Client
	// Getenv reads api_key_env variables; nil uses os.Getenv.
	Getenv func(string) string
	// now is the clock, for tests; nil uses time.Now.
	now func() time.Time
	// afterProbe, for tests, runs after a probe is recorded and before its
	// slot is freed, to hold a probe in flight.
	afterProbe func()
}

// Manager runs one probe loop per configured target.
type Manager struct {
	logger  *slog.Logger
	metrics *metrics
	prober  *prober
	getenv  func(string) string
	// afterProbe is Options.afterProbe.
	afterProbe func()

	mu      sync.Mutex
	targets map[string]*loop
	// runCtx is Run's context while Run runs, nil otherwise.
	runCtx context.Context
	wg     sync.WaitGroup
}

// NewManager registers the probe metrics and returns a Manager without
// probes; ApplyConfig gives it some and Run starts them.
func NewManager(o Options) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.Client == nil {
		tr, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			return nil, errors.New("http.DefaultTransport is not an *http.Transport")
		}
		tr = tr.Clone()
		tr.DisableKeepAlives = true
		o.Client = &http.Client{Transport: tr}
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	return &Manager{
		logger:     o.Logger.With("component", "probe"),
		metrics:    m,
		prober:     &prober{client: o.Client, now: o.now},
		getenv:     o.Getenv,
		afterProbe: o.afterProbe,
		targets:    map[string]*loop{},
	}, nil
}

// ApplyConfig replaces the probes. Every config is validated first; on any
// error (which names the probe's index and field) the running probes stay as
// they are. Unchanged probes keep running on their schedule; changed and
// removed ones stop and their series are deleted.
func (m *Manager) ApplyConfig(cfgs []Config) error {
	targets, err := compileAll(cfgs, m.getenv)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next := make(map[string]*loop, len(targets))
	for _, t := range targets {
		if old, ok := m.targets[t.key]; ok && reflect.DeepEqual(old.t.cfg, t.cfg) && old.t.apiKey == t.apiKey {
			next[t.key] = old
			continue
		}
		l := &loop{m: m, t: t, models: map[string]time.Time{}}
		if m.runCtx != nil {
			m.start(l)
		}
		next[t.key] = l
	}
	for key, old := range m.targets {
		if next[key] != old {
			old.stop(true)
		}
	}
	m.targets = next
	m.logger.Info("Applied probe configuration", "probes", len(next))
	return nil
}

// Run starts every probe and blocks until ctx is done; then it stops them,
// waits for any probe in flight (cancelled with ctx) and returns nil.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.runCtx != nil {
		m.mu.Unlock()
		return errors.New("probe manager: Run called twice")
	}
	m.runCtx = ctx
	for _, l := range m.targets {
		m.start(l)
	}
	m.mu.Unlock()

	<-ctx.Done()

	m.mu.Lock()
	for _, l := range m.targets {
		// The series stay: the last values are still true at shutdown.
		l.stop(false)
	}
	m.runCtx = nil
	m.mu.Unlock()
	m.wg.Wait()
	m.prober.client.CloseIdleConnections()
	return nil
}

// start runs l's schedule; m.mu is held.
func (m *Manager) start(l *loop) {
	ctx, cancel := context.WithCancel(m.runCtx)
	l.cancel = cancel
	l.done = make(chan struct{})
	m.wg.Go(func() {
		defer close(l.done)
		l.run(ctx)
	})
}

// loop is the schedule of one target.
type loop struct {
	m *Manager
	t *target
	// cancel and done are set by start.
	cancel context.CancelFunc
	done   chan struct{}

	// mu guards the fields below, shared by the scheduler and the probe in
	// flight.
	mu sync.Mutex
	// model is the configured or last discovered model ("" until known).
	model string
	// models are the model label values written, with when each was last
	// probed: bounded by pruneModels, deleted on stop.
	models map[string]time.Time
	// last is the previous probe's outcome: changes are logged, repeats not.
	last probeState
}

// stop ends the schedule, waits for the probe in flight and, with forget,
// deletes the target's series.
func (l *loop) stop(forget bool) {
	if l.cancel != nil {
		l.cancel()
		<-l.done
		l.cancel = nil
	}
	if !forget {
		return
	}
	l.mu.Lock()
	models := maps.Clone(l.models)
	l.mu.Unlock()
	for model := range models {
		l.m.metrics.forget(l.labels(model))
	}
}

func (l *loop) labels(model string) prometheus.Labels {
	return prometheus.Labels{
		LabelTarget: l.t.cfg.Endpoint, LabelModel: model, LabelAPI: l.t.cfg.API,
		LabelTargetServer: l.t.cfg.Server,
	}
}

// maxModelsPerTarget bounds the model label values one target's series
// carry at a time, and modelGoneAfter (in intervals) is how long a model that
// is no longer probed keeps its series. The model label comes from the
// server's /v1/models: one that answers a new id every time would otherwise
// add a set of histograms per probe, forever.
const (
	maxModelsPerTarget = 4
	modelGoneAfter     = 10
)

// pruneModels removes from l.models the models not probed for
// modelGoneAfter intervals and, beyond maxModelsPerTarget, the least
// recently probed ones (never current), and returns them; l.mu is held.
func (l *loop) pruneModels(current string, now time.Time) []string {
	var gone []string
	for m, last := range l.models {
		if m != current && now.Sub(last) > modelGoneAfter*l.t.interval {
			gone = append(gone, m)
			delete(l.models, m)
		}
	}
	for len(l.models) > maxModelsPerTarget {
		oldest, oldestAt := "", time.Time{}
		for m, last := range l.models {
			if m != current && (oldest == "" || last.Before(oldestAt)) {
				oldest, oldestAt = m, last
			}
		}
		gone = append(gone, oldest)
		delete(l.models, oldest)
	}
	return gone
}

// forgetModels deletes every series of models that are gone.
func (l *loop) forgetModels(gone []string) {
	for _, m := range gone {
		l.m.metrics.forget(l.labels(m))
		l.m.logger.Info("Deleted the probe series of a model no longer probed", "target", l.t.cfg.Endpoint, "api", l.t.cfg.API, "model", m)
	}
}

// run fires a probe at start and then every interval after it (a fixed
// schedule, not a fixed pause). When a tick comes while the previous probe is
// still running, the tick is skipped and counted.
func (l *loop) run(ctx context.Context) {
	now := l.m.prober.now
	l.mu.Lock()
	if l.model == "" {
		l.model = l.t.cfg.Model
	}
	l.mu.Unlock()
	var (
		inFlight = make(chan struct{}, 1)
		wg       sync.WaitGroup
	)
	defer wg.Wait()
	start := now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	// The loop ends with ctx; n counts ticks so that each deadline is computed
	// from the start and delays never accumulate.
	for n := int64(0); ; n++ {
		scheduled := start.Add(time.Duration(n) * l.t.interval)
		timer.Reset(max(scheduled.Sub(now()), 0))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		select {
		case inFlight <- struct{}{}:
		default:
			l.mu.Lock()
			model := l.model
			l.models[model] = now()
			gone := l.pruneModels(model, now())
			l.mu.Unlock()
			l.forgetModels(gone)
			l.m.metrics.skipped.With(l.labels(model)).Inc()
			// Counted; a debug line only, as a hung server skips every tick.
			l.m.logger.Debug("Skipped a probe: the previous one is still running", "target", l.t.cfg.Endpoint, "api", l.t.cfg.API)
			continue
		}
		// After a suspension of several intervals, fire once for the latest
		// missed tick rather than once for each.
		if behind := now().Sub(scheduled); behind > l.t.interval {
			skippedTicks := int64(behind / l.t.interval)
			n += skippedTicks
			scheduled = scheduled.Add(time.Duration(skippedTicks) * l.t.interval)
		}
		wg.Go(func() {
			defer func() { <-inFlight }()
			l.probeOnce(ctx, scheduled)
		})
	}
}

// probeOnce sends one probe and records it.
func (l *loop) probeOnce(parent context.Context, scheduled time.Time) {
	l.mu.Lock()
	model := l.model
	l.mu.Unlock()
	ctx, cancel := context.WithDeadline(parent, scheduled.Add(l.t.timeout))
	defer cancel()
	res, aborted := l.m.prober.run(ctx, parent, l.t, model, scheduled)
	if aborted {
		return
	}
	l.mu.Lock()
	if res.model != "" && l.t.cfg.Model == "" {
		l.model = res.model
	}
	if !res.complete() && l.t.cfg.Model == "" && res.outcome != OutcomeDiscoveryError {
		// The server may have swapped models: discover again next time.
		l.model = ""
	}
	l.models[res.model] = l.m.prober.now()
	gone := l.pruneModels(res.model, l.m.prober.now())
	var others []string
	for m := range l.models {
		if m != res.model {
			others = append(others, m)
		}
	}
	prev := l.last
	l.last = probeState{outcome: res.outcome, failed: res.err != nil}
	l.mu.Unlock()
	// The last-value gauges describe the target's last probe: drop those of
	// a model it no longer probes under (say "" after a failed discovery).
	for _, m := range others {
		l.m.metrics.forgetLast(l.labels(m))
	}
	l.forgetModels(gone)
	l.record(&res)
	l.log(&res, prev)
	if l.m.afterProbe != nil {
		l.m.afterProbe()
	}
}

// record writes one result to the metrics.
func (l *loop) record(res *result) {
	mt := l.m.metrics
	lbls := l.labels(res.model)
	code := ""
	if res.code != 0 {
		code = strconv.Itoa(res.code)
	}
	reqLbls := maps.Clone(lbls)
	reqLbls[LabelOutcome], reqLbls[LabelCode] = res.outcome, code
	mt.requests.With(reqLbls).Inc()
	mt.lastTimestamp.With(lbls).Set(float64(l.m.prober.now().UnixNano()) / 1e9)

	setOrDelete := func(g *prometheus.GaugeVec, ok bool, v float64) {
		if ok {
			g.With(lbls).Set(v)
		} else {
			g.Delete(lbls)
		}
	}
	if res.sent {
		mt.schedDelay.With(lbls).Observe(res.scheduleDelay.Seconds())
	}
	if res.code != 0 {
		mt.timeToHeaders.With(lbls).Observe(res.timeToHeaders.Seconds())
	}
	setOrDelete(mt.lastHeaders, res.code != 0, res.timeToHeaders.Seconds())
	complete := res.complete()
	if complete {
		mt.lastSuccess.With(lbls).Set(1)
		mt.firstChunk.With(lbls).Observe(res.firstChunk.Seconds())
		mt.ttft.With(lbls).Observe(res.ttft.Seconds())
		if res.firstContent != 0 {
			mt.firstVisible.With(lbls).Observe(res.firstContent.Seconds())
		}
		gaps := mt.interChunk.With(lbls)
		for _, g := range res.gaps {
			gaps.Observe(g.Seconds())
		}
		mt.e2e.With(lbls).Observe(res.e2e.Seconds())
		mt.chunks.With(lbls).Add(float64(res.textChunks))
	} else {
		mt.lastSuccess.With(lbls).Set(0)
	}
	setOrDelete(mt.lastTTFT, complete, res.ttft.Seconds())
	setOrDelete(mt.lastE2E, complete, res.e2e.Seconds())
	tpot := res.tpot()
	if tpot > 0 {
		mt.tpot.With(lbls).Observe(tpot.Seconds())
	}
	setOrDelete(mt.lastTPOT, tpot > 0, tpot.Seconds())
	if complete && res.usage {
		mt.outputTokens.With(lbls).Add(float64(res.tokens))
	}
	setOrDelete(mt.lastTokens, complete && res.usage, float64(res.tokens))
}

// log keeps a healthy prober quiet: a successful probe is a debug line, and
// so is a failure like the one before it. What an operator acts on is logged
// once, when it happens: a target starting to fail (or failing differently)
// at warn level, and a target that failed answering again at info level.
func (l *loop) log(res *result, prev probeState) {
	attrs := []any{"target", l.t.cfg.Endpoint, "api", l.t.cfg.API, "model", res.model, "outcome", res.outcome}
	if res.code != 0 {
		attrs = append(attrs, "code", res.code)
	}
	switch {
	case res.err == nil && prev.failed:
		l.m.logger.Info("Probe recovered", append(attrs, "previous_outcome", prev.outcome)...)
	case res.err == nil:
		l.m.logger.Debug("Probe succeeded", attrs...)
	case res.outcome != prev.outcome:
		l.m.logger.Warn("Probe failing", append(attrs, "err", l.t.redact(res.err))...)
	default:
		l.m.logger.Debug("Probe failed", append(attrs, "err", l.t.redact(res.err))...)
	}
}

// probeState is what the log needs to remember of a target's last probe.
type probeState struct {
	outcome string // "" before the first probe
	failed  bool
}
